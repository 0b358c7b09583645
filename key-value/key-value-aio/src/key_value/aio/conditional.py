"""Optimistic concurrency on any store with the conditional segment: ETags, conditions, `transform`.

    from key_value.aio.conditional import ABSENT, SAME, KEEP_CURRENT, DELETE_CURRENT

    entry = await store.get_entry("counter")
    result = await store.put_if("counter", {"n": 1}, etag=ABSENT if entry is None else entry.etag)
    if not result:  # someone else wrote first: result.value and result.actual_etag are theirs
        ...
    await store.transform("counter", lambda v: {"n": (v or {"n": 0})["n"] + 1})

Every store and wrapper with `Capability.CONDITIONAL` has `get_entry`, `put_if`, `delete_if`,
`put_if_absent` and `transform`; `atomicity` says how far a check and its write are one step.
`put_if_absent` and `transform` are written once, here, on `get_entry` and `put_if`.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, SupportsFloat, cast

from key_value.aio.protocols.key_value import AsyncConditionalProtocol, TransformOutcome
from key_value.shared.conditional import (
    ABSENT,
    ANY,
    CHANGED,
    DELETE_CURRENT,
    KEEP_CURRENT,
    NOT_RETRIEVED,
    SAME,
    Absent,
    Atomicity,
    Condition,
    ConditionalResult,
    ETag,
    Joker,
    NotRetrieved,
    VersionedEntry,
)
from key_value.shared.errors import (
    ConcurrencyConflictError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    SerializationError,
)

#: The entry `get_entry` returns.
Entry = VersionedEntry

#: Longest single pause between two attempts of `transform`, in seconds.
MAX_BACKOFF = 0.25

if True:  # ASYNC
    TransformFunction = Callable[[dict[str, Any] | None], TransformOutcome | Awaitable[TransformOutcome]]
    """A plain function of the current value (None when absent), or a coroutine function."""
else:
    TransformFunction = Callable[[dict[str, Any] | None], TransformOutcome]


def check_transform_options(retries: object, backoff: object) -> tuple[int, float]:
    """`retries` (an int >= 0) and `backoff` (finite seconds >= 0), or an `InvalidArgumentError`."""
    if type(retries) is not int or retries < 0:
        raise InvalidArgumentError("retries must be an int >= 0", {"retries": repr(retries)})
    if isinstance(backoff, bool) or not isinstance(backoff, int | float) or not 0 <= backoff < float("inf"):
        raise InvalidArgumentError("backoff must be a finite number of seconds >= 0", {"backoff": repr(backoff)})
    return retries, float(backoff)


def _pause(backoff: float, attempt: int) -> float:
    """Full jitter: a uniform pause up to `backoff * 2**attempt`, capped, so contending writers spread out."""
    return random.uniform(0, min(MAX_BACKOFF, backoff * (2 ** min(attempt, 16))))


def _checked(outcome: object) -> Mapping[str, Any] | Joker:
    """What a transform function returned, if it is a value or a joker; else `InvalidArgumentTypeError`."""
    if isinstance(outcome, Mapping | Joker):
        return cast("Mapping[str, Any] | Joker", outcome)
    raise InvalidArgumentTypeError(
        "a transform function returns a mapping, KEEP_CURRENT or DELETE_CURRENT", {"returned": type(outcome).__name__}
    )


async def put_if_absent(
    store: AsyncConditionalProtocol,
    key: str,
    value: Mapping[str, Any],
    *,
    collection: str | None = None,
    ttl: SupportsFloat | None = None,
) -> bool:
    """Write `value` under `key` only if there is no live entry (`put_if` with `ABSENT`); True if it was written."""
    if isinstance(value, Joker):
        raise SerializationError("put_if_absent writes a value, not a joker", {"value": repr(value)})
    result = await store.put_if(key, value, etag=ABSENT, collection=collection, ttl=ttl, retrieve=False)
    return result.satisfied


async def transform(
    store: AsyncConditionalProtocol,
    key: str,
    fn: TransformFunction,
    *,
    collection: str | None = None,
    ttl: SupportsFloat | None = None,
    retries: int = 20,
    backoff: float = 0.002,
) -> ConditionalResult:
    """Replace the value under `key` with `fn(current)`, atomically as far as `store.atomicity` goes.

    Reads the entry, applies `fn` to a copy of its value (None when absent), and writes the result
    only if the entry still has the ETag it was read with; on a conflict it pauses (jittered,
    exponential from `backoff` seconds, never blocking the loop) and starts again, `retries` times at
    most, then raises `ConcurrencyConflictError`. `fn` may return `KEEP_CURRENT` (write nothing; with
    `ttl`, refresh the TTL) or `DELETE_CURRENT`. The result is that of the write that went through.
    """
    if not callable(fn):
        raise InvalidArgumentTypeError("fn must be a function of the current value", {"fn": repr(fn)})
    retries, backoff = check_transform_options(retries, backoff)
    for attempt in range(retries + 1):
        entry = await store.get_entry(key, collection=collection)
        outcome = fn(None if entry is None else entry.value)
        if True:  # ASYNC
            if inspect.isawaitable(outcome):
                outcome = await outcome
        etag: ETag = ABSENT if entry is None else entry.etag
        result = await store.put_if(key, _checked(outcome), etag=etag, collection=collection, ttl=ttl)
        if result.satisfied:
            return result
        if attempt < retries:
            await asyncio.sleep(_pause(backoff, attempt))
    raise ConcurrencyConflictError(collection=collection, key=key, attempts=retries + 1)


__all__ = [
    "ABSENT",
    "ANY",
    "CHANGED",
    "DELETE_CURRENT",
    "KEEP_CURRENT",
    "MAX_BACKOFF",
    "NOT_RETRIEVED",
    "SAME",
    "Absent",
    "Atomicity",
    "ConcurrencyConflictError",
    "Condition",
    "ConditionalResult",
    "ETag",
    "Entry",
    "Joker",
    "NotRetrieved",
    "TransformFunction",
    "VersionedEntry",
    "put_if_absent",
    "transform",
]

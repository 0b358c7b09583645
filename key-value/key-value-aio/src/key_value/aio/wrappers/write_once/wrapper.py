"""`WriteOnceWrapper`: the first write of a key wins; a repeat write of a live key is ignored, or sampled and checked.

For data whose writers all compute the same value for a key (content-addressed results, memoized
work), as persidict's `WriteOnceDict`: repeat writes are expected to carry the value already stored, so
they cost nothing beyond the insert attempt. With `check_probability` p, a fraction p of repeat writes
compares the new value with the stored one and raises `ImmutableEntryError` if they differ (p=1 checks
every repeat write; the stored value comes back with the insert attempt, so a check adds no request).

Where the wrapped store has the conditional segment, each write is one insert-if-absent (`put_if` with
`ABSENT`): concurrent first writers of a key get exactly one winner, as far as the store's `atomicity`
goes. Elsewhere a write reads first and puts when it found nothing, which is best effort: two writers
racing on a new key may both write, the last one staying. An expired entry counts as absent, so the
next write stores its value. `put_many` is one insert per key (conditional store) or one `get_many` and
one `put_many` (otherwise); within one call the first value of a repeated key wins. A failed check
stops a conditional store's `put_many` there: the inserts before it stay (they were first writes); on
other stores every check is made before anything is written.

Deletes raise `ImmutableEntryError`, as in persidict (a deleted key could be written again with another
value, which the first write was meant to rule out); so do conditional calls other than an insert (see
`InsertOnlyWrapper`), and `destroy` / `destroy_collection` are not offered.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat, cast

from key_value.aio.protocols.key_value import AsyncConditionalProtocol, AsyncKeyValue
from key_value.aio.wrappers._insert_only import InsertOnlyWrapper, check_write, check_writes
from key_value.shared.conditional import ABSENT
from key_value.shared.errors import InvalidArgumentError


def _check_probability(probability: object) -> float:
    if isinstance(probability, bool) or not isinstance(probability, int | float) or not 0 <= probability <= 1:
        raise InvalidArgumentError(
            "check_probability must be a number between 0 and 1", {"check_probability": repr(probability)}
        )
    return float(probability)


def _canonical(value: Mapping[str, Any]) -> str:
    """The value as JSON with sorted keys: equal for equal JSON values, whatever the order of their keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class WriteOnceWrapper(InsertOnlyWrapper):
    """Keeps the first value written to each key; repeat writes are ignored, a sampled fraction of them checked."""

    def __init__(self, key_value: AsyncKeyValue, *, check_probability: float = 0.0) -> None:
        self.check_probability: float = _check_probability(check_probability)
        super().__init__(key_value)

    def _sampled(self) -> bool:
        """Whether this repeat write (if it is one) is checked against the stored value."""
        return self.check_probability >= 1 or (self.check_probability > 0 and random.random() < self.check_probability)

    def _check(self, key: str, collection: str | None, new: Mapping[str, Any], stored: dict[str, Any] | None) -> None:
        """Raise `ImmutableEntryError` if a repeat write's `new` value differs from the `stored` one."""
        if stored is not None and _canonical(new) != _canonical(stored):
            raise self._refused("put", collection, key, "the key holds a different value, and is written once")

    async def _write(
        self, key: str, value: Mapping[str, Any], collection: str | None, ttl: SupportsFloat | None
    ) -> None:
        sampled = self._sampled()
        if self._atomic:
            conditional = cast("AsyncConditionalProtocol", self.key_value)
            result = await conditional.put_if(key, value, etag=ABSENT, collection=collection, ttl=ttl, retrieve=sampled)
            if not result.satisfied and sampled:
                self._check(key, collection, value, cast("dict[str, Any] | None", result.value))
            return
        stored = await self.key_value.get(key, collection=collection)
        if stored is None:
            await self.key_value.put(key, value, collection=collection, ttl=ttl)
        elif sampled:
            self._check(key, collection, value, stored)

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        if not self._atomic:  # on a conditional store put_if checks the input itself, before any write
            key = check_write(key, value, collection, ttl)
        await self._write(key, value, collection, ttl)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        checked = check_writes(keys, values, collection, ttl)
        if self._atomic:
            for key, value in zip(checked, values, strict=True):
                await self._write(key, value, collection, ttl)
            return
        first: dict[str, int] = {}  # key -> index of its first value in this call
        for index, key in enumerate(checked):
            first.setdefault(key, index)
        found = dict(zip(first, await self.key_value.get_many(list(first), collection=collection), strict=True))
        for index, (key, value) in enumerate(zip(checked, values, strict=True)):  # checked before any write
            held = found[key] if found[key] is not None else None if first[key] == index else values[first[key]]
            if held is not None and self._sampled():
                self._check(key, collection, value, dict(held))
        new = [key for key in first if found[key] is None]
        if new:
            await self.key_value.put_many(new, [values[first[key]] for key in new], collection=collection, ttl=ttl)

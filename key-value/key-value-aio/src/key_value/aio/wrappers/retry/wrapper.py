"""`RetryWrapper`: retries calls that fail with a connection error, waiting longer before each new attempt.

The wait before retry `n` (from 0) is `initial_delay * exponential_base**n`, capped at `max_delay`,
times a random factor in [0.5, 1] so that many clients do not retry in step. Errors that say the call
itself was wrong (`KeyValueOperationError`: bad input, read-only, undecodable data) are never retried,
whatever `retry_on` says. Lifecycle calls (`async with`, `close()`) are not retried.
"""

# The options stay positional, as in py-key-value-aio, so existing calls keep working.
# ruff: noqa: PLR0917

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, SupportsFloat, TypeVar, cast

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.wrappers.base import BaseWrapper
from key_value.shared.errors import InvalidArgumentError, KeyValueOperationError, StoreConnectionError

T = TypeVar("T")

if True:  # ASYNC
    #: A call to (re)try, and how the wrapper waits between attempts.
    Operation = Callable[[], Awaitable[T]]
    Sleep = Callable[[float], Awaitable[None]]
else:
    Operation = Callable[[], T]
    Sleep = Callable[[float], None]

#: What is retried by default: the builtin connection and timeout errors, and our own connection errors.
DEFAULT_RETRY_ON: tuple[type[Exception], ...] = (ConnectionError, TimeoutError, StoreConnectionError)


def _check_seconds(name: str, value: object, *, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not minimum <= value < math.inf:
        raise InvalidArgumentError(f"{name} must be a finite number >= {minimum}", extra_info={name: repr(value)})
    return float(value)


def _check_retry_on(retry_on: object) -> tuple[type[Exception], ...]:
    if isinstance(retry_on, tuple):
        kinds = cast("tuple[object, ...]", retry_on)
        if all(isinstance(kind, type) and issubclass(kind, Exception) for kind in kinds):
            return cast("tuple[type[Exception], ...]", kinds)
    raise InvalidArgumentError(f"retry_on must be a tuple of Exception subclasses, not {retry_on!r}")


class RetryWrapper(BaseWrapper):
    """Retries each call up to `max_retries` times on the errors in `retry_on`, with capped, jittered backoff."""

    #: How the wrapper waits between attempts; tests replace it to record the delays instead of waiting.
    sleep: Sleep

    def __init__(
        self,
        key_value: AsyncKeyValue,
        max_retries: int = 3,
        initial_delay: float = 0.1,
        max_delay: float = 10.0,
        exponential_base: float = 2.0,
        retry_on: tuple[type[Exception], ...] = DEFAULT_RETRY_ON,
    ) -> None:
        super().__init__(key_value)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidArgumentError("max_retries must be an int >= 0", extra_info={"max_retries": repr(max_retries)})
        self.max_retries: int = max_retries
        self.initial_delay: float = _check_seconds("initial_delay", initial_delay, minimum=0)
        self.max_delay: float = _check_seconds("max_delay", max_delay, minimum=self.initial_delay)
        self.exponential_base: float = _check_seconds("exponential_base", exponential_base, minimum=1)
        self.retry_on: tuple[type[Exception], ...] = _check_retry_on(retry_on)
        self.sleep = asyncio.sleep

    async def _call(self, operation: Operation[T]) -> T:
        """Run `operation`, retrying it on the errors in `retry_on`."""
        delay = self.initial_delay
        for _ in range(self.max_retries):
            try:
                return await operation()
            except self.retry_on as exc:
                if isinstance(exc, KeyValueOperationError):
                    raise
            await self.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * self.exponential_base, self.max_delay)
        return await operation()

    # -- the protocol ---------------------------------------------------------------------------

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        return await self._call(partial(self.key_value.get, key, collection=collection))

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        return await self._call(partial(self.key_value.get_many, keys, collection=collection))

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        return await self._call(partial(self.key_value.ttl, key, collection=collection))

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        return await self._call(partial(self.key_value.ttl_many, keys, collection=collection))

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        await self._call(partial(self.key_value.put, key, value, collection=collection, ttl=ttl))

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        await self._call(partial(self.key_value.put_many, keys, values, collection=collection, ttl=ttl))

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        return await self._call(partial(self.key_value.delete, key, collection=collection))

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        return await self._call(partial(self.key_value.delete_many, keys, collection=collection))

    # -- segments -------------------------------------------------------------------------------

    async def _keys(self, collection: str | None, *, limit: int | None) -> list[str]:
        return await self._call(partial(super()._keys, collection, limit=limit))

    async def _collections(self, *, limit: int | None) -> list[str]:
        return await self._call(partial(super()._collections, limit=limit))

    async def _destroy(self) -> bool:
        return await self._call(super()._destroy)

    async def _destroy_collection(self, collection: str) -> bool:
        return await self._call(partial(super()._destroy_collection, collection))

    async def _cull(self) -> None:
        await self._call(super()._cull)

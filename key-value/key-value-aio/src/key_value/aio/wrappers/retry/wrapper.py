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
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.wrappers.per_call import PerCallWrapper
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


class RetryWrapper(PerCallWrapper):
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

"""py-key-value's retry helper: run an operation again on the given errors, with exponential backoff."""

from __future__ import annotations

import asyncio
from typing import Any


async def async_retry_operation(
    max_retries: int,
    retry_on: tuple[type[Exception], ...],
    initial_delay: float,
    max_delay: float,
    exponential_base: float,
    operation: Any,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """`await operation(*args, **kwargs)`, retried up to `max_retries` times on `retry_on`; the last error is raised."""
    attempt = 0
    while True:
        try:
            return await operation(*args, **kwargs)
        except retry_on:  # noqa: PERF203  (the retry loop is the point)
            if attempt >= max_retries:
                raise
            await asyncio.sleep(min(initial_delay * exponential_base**attempt, max_delay))
            attempt += 1


__all__ = ["async_retry_operation"]

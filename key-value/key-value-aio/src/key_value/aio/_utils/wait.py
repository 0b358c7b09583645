"""py-key-value's polling helper for tests: wait until a condition holds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import SupportsFloat


async def async_wait_for_true(
    bool_fn: Callable[[], Awaitable[bool]], tries: int = 10, wait_time: SupportsFloat = 1
) -> bool:
    """True as soon as `bool_fn()` is; False after `tries` attempts `wait_time` seconds apart."""
    for attempt in range(tries):
        if await bool_fn():
            return True
        if attempt < tries - 1:
            await asyncio.sleep(float(wait_time))
    return False


__all__ = ["async_wait_for_true"]

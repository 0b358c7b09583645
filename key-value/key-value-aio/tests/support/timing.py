"""Time in the contract suite: real, unless a test session skips it.

The contract waits for entries to expire with `sleep` and measures elapsed time with `monotonic`. Where
every store under test reads its expiry from `time.time` (MemoryStore and DiskStore, the stores under
every wrapper's contract run), `skipping_time` makes those waits free: `time.time` becomes real time plus
the seconds skipped so far, and `sleep` adds to them instead of waiting. The stores' own suites keep
real time, so each store's expiry is still checked against the real clock and its server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Generator


class SkippingClock:
    """Real time plus the seconds `sleep` skipped."""

    def __init__(self) -> None:
        self.skipped = 0.0
        self._time = time.time

    def time(self) -> float:
        return self._time() + self.skipped


_skipping: list[SkippingClock] = []


@contextlib.contextmanager
def skipping_time() -> Generator[SkippingClock]:
    """While inside: `time.time` (which the stores made here read their expiry from) and `sleep` skip time."""
    clock = SkippingClock()
    real = time.time
    time.time = clock.time
    _skipping.append(clock)
    try:
        yield clock
    finally:
        time.time = real
        _skipping.remove(clock)


async def sleep(seconds: float) -> None:
    """Wait `seconds`, or, while time is skipped, move the clock on by them."""
    if _skipping:
        _skipping[-1].skipped += seconds
        await asyncio.sleep(0)
    else:
        await asyncio.sleep(seconds)


def monotonic() -> float:
    """`time.monotonic`, plus the seconds skipped."""
    return time.monotonic() + (_skipping[-1].skipped if _skipping else 0.0)


__all__ = ["SkippingClock", "monotonic", "skipping_time", "sleep"]

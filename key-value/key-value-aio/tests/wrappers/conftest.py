"""Inner stores that every wrapper's contract run wraps: a MemoryStore and a DiskStore, on a skipping clock.

Both stores read their expiry from `time.time`, so the contract's waits for an entry to expire skip the
time instead of sleeping it (`support.timing`); MemoryStore's and DiskStore's own suites run on real time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore

from ..support.timing import SkippingClock, skipping_time


@pytest.fixture(autouse=True)
def skipping_clock() -> Iterator[SkippingClock]:
    """Every store a wrapper test makes reads a clock that the contract's `sleep` moves on."""
    with skipping_time() as clock:
        yield clock


@pytest.fixture(params=["memory", "disk"])
async def inner_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncKeyValue]:
    """The store under the wrapper: parametrized so each wrapper's contract runs on both."""
    if request.param == "memory":
        yield MemoryStore()
        return
    from key_value.aio.stores.disk import DiskStore  # noqa: PLC0415 - only the disk variant needs diskcache

    store = DiskStore(directory=tmp_path / "disk")
    try:
        yield store
    finally:
        await store.close()

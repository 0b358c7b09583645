"""Inner stores that every wrapper's contract run wraps: a MemoryStore and a DiskStore."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore


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

"""BaseWrapper forwards everything, claims only what the wrapped store has, and keeps that through stacks."""

from __future__ import annotations

import pytest

from key_value.aio.protocols.key_value import (
    AsyncCullProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
)
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.null import NullStore
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.shared.capabilities import Capability

from ..support.contract import ContractTests

SEGMENTS = [
    AsyncEnumerateKeysProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncDestroyStoreProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncCullProtocol,
]


class TestBaseWrapper(ContractTests):
    @pytest.fixture
    async def store(self) -> BaseWrapper:
        return BaseWrapper(MemoryStore())


class TestStackOfThree(ContractTests):
    @pytest.fixture
    async def store(self) -> BaseWrapper:
        return BaseWrapper(BaseWrapper(BaseWrapper(MemoryStore())))


class KeysOnly(BaseWrapper):
    """A wrapper that can only ever offer key enumeration."""

    supported_segments = Capability.KEYS


def test_segments_follow_the_wrapped_store() -> None:
    full = BaseWrapper(MemoryStore())
    assert full.capabilities == ALL_SEGMENTS & ~Capability.CONDITIONAL  # a wrapper opts in to conditional calls
    assert all(isinstance(full, protocol) for protocol in SEGMENTS)
    empty = BaseWrapper(NullStore())
    assert empty.capabilities == Capability.NONE
    assert not any(isinstance(empty, protocol) for protocol in SEGMENTS)
    stacked = BaseWrapper(BaseWrapper(NullStore()))
    assert not any(isinstance(stacked, protocol) for protocol in SEGMENTS)


def test_supported_segments_limit_what_is_claimed() -> None:
    wrapper = KeysOnly(MemoryStore())
    assert wrapper.capabilities == Capability.KEYS
    assert isinstance(wrapper, AsyncEnumerateKeysProtocol)
    assert isinstance(wrapper, KeysOnly)
    assert not isinstance(wrapper, AsyncEnumerateCollectionsProtocol)
    assert type(wrapper).__name__ == "KeysOnly"


async def test_default_collection_unchanged() -> None:
    inner = MemoryStore(default_collection="x")
    wrapper = BaseWrapper(BaseWrapper(inner))
    await wrapper.put("a", {"v": 1})
    assert await inner.get("a", collection="x") == {"v": 1}
    assert wrapper.default_collection == "x"


async def test_lifecycle_forwarded() -> None:
    closed: list[str] = []

    class Closable(MemoryStore):
        async def close(self) -> None:
            closed.append("closed")

    async with BaseWrapper(BaseWrapper(Closable())) as wrapper:
        await wrapper.put("a", {"v": 1})
    assert closed == []  # MemoryStore is not a context manager: nothing to exit
    await wrapper.close()
    assert closed == ["closed"]


class UpperKeys(BaseWrapper):
    """A subclass that defines a segment method itself, as code written for py-key-value-aio does."""

    async def keys(self, collection: str | None = None, *, limit: int | None = None) -> list[str]:
        return [key.upper() for key in await self._keys(collection, limit=limit)]


async def test_a_subclass_keeps_its_own_segment_methods() -> None:
    wrapper = UpperKeys(MemoryStore())
    await wrapper.put("a", {"v": 1})
    assert await wrapper.keys() == ["A"]
    assert isinstance(wrapper, AsyncEnumerateCollectionsProtocol)  # the segments it leaves out are still added
    assert await wrapper.collections() == ["default_collection"]

"""FallbackWrapper: the contract with a healthy primary and with a primary that is down; which errors fall back."""

from __future__ import annotations

from typing import Any

import pytest

from key_value.aio.protocols.key_value import (
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValue,
)
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.wrappers.fallback import FallbackWrapper
from key_value.shared.errors import (
    DeserializationError,
    InvalidArgumentError,
    InvalidKeyError,
    InvalidTTLError,
    SerializationError,
    StoreConnectionError,
)
from testing.ids import stable_id

from ..support.contract import ContractTests
from ..support.doubles import CallRecorder, DownStore, FailingStore


class TestFallbackPrimaryHealthy(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> FallbackWrapper:
        return FallbackWrapper(inner_store, MemoryStore())


class TestFallbackPrimaryDown(ContractTests):
    """With the primary unreachable and `write_to_fallback=True`, the fallback answers everything."""

    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> FallbackWrapper:
        return FallbackWrapper(DownStore(), inner_store, write_to_fallback=True)


class TestStackOfThree(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> FallbackWrapper:
        down = FallbackWrapper(DownStore(), inner_store, write_to_fallback=True)
        return FallbackWrapper(FallbackWrapper(down, MemoryStore()), MemoryStore())


async def test_reads_fall_back_when_the_primary_fails() -> None:
    fallback = MemoryStore()
    await fallback.put("k", {"from": "fallback"}, ttl=60)
    store = FallbackWrapper(DownStore(), fallback)
    assert await store.get("k") == {"from": "fallback"}
    assert await store.get_many(["k", "x"]) == [{"from": "fallback"}, None]
    value, remaining = await store.ttl("k")
    assert value == {"from": "fallback"}
    assert remaining is not None
    assert (await store.ttl_many(["k"]))[0][0] == {"from": "fallback"}
    assert isinstance(store, AsyncEnumerateKeysProtocol)
    assert await store.keys() == ["k"]
    assert isinstance(store, AsyncEnumerateCollectionsProtocol)
    assert await store.collections() == ["default_collection"]


async def test_reads_use_the_primary_when_it_works() -> None:
    primary, fallback = MemoryStore(), CallRecorder(MemoryStore())
    await primary.put("k", {"from": "primary"})
    store = FallbackWrapper(primary, fallback)
    assert await store.get("k") == {"from": "primary"}
    assert await store.get_many(["k"]) == [{"from": "primary"}]
    assert fallback.calls == []


async def test_writes_go_to_the_primary_only_by_default() -> None:
    fallback = CallRecorder(MemoryStore())
    store = FallbackWrapper(DownStore(), fallback)
    with pytest.raises(StoreConnectionError):
        await store.put("k", {"v": 1})
    with pytest.raises(StoreConnectionError):
        await store.put_many(["k"], [{"v": 1}])
    with pytest.raises(StoreConnectionError):
        await store.delete("k")
    with pytest.raises(StoreConnectionError):
        await store.delete_many(["k"])
    assert isinstance(store, AsyncDestroyStoreProtocol)
    with pytest.raises(StoreConnectionError):
        await store.destroy()
    assert fallback.calls == []


async def test_writes_fall_back_when_asked() -> None:
    fallback = MemoryStore()
    store = FallbackWrapper(DownStore(), fallback, write_to_fallback=True)
    await store.put("k", {"v": 1})
    await store.put_many(["a", "b"], [{"v": 2}, {"v": 3}])
    assert await fallback.get_many(["k", "a", "b"]) == [{"v": 1}, {"v": 2}, {"v": 3}]
    assert await store.delete("k") is True
    assert await store.delete_many(["a", "b"]) == 2
    assert await fallback.get_many(["k", "a", "b"]) == [None, None, None]


@pytest.mark.parametrize("write_to_fallback", [False, True])
async def test_input_errors_never_fall_back(write_to_fallback: bool) -> None:
    fallback = CallRecorder(MemoryStore())
    store = FallbackWrapper(DownStore(), fallback, write_to_fallback=write_to_fallback)
    with pytest.raises(InvalidKeyError):
        await store.get("")
    with pytest.raises(InvalidKeyError):
        await store.get_many("ab")
    with pytest.raises(InvalidKeyError):
        await store.ttl("k", collection="")
    with pytest.raises(InvalidTTLError):
        await store.put("k", {"v": 1}, ttl=-1)
    with pytest.raises(SerializationError):
        await store.put("k", {"v": {1, 2}})
    with pytest.raises(InvalidArgumentError):
        await store.put_many(["a", "b"], [{"v": 1}])
    assert isinstance(store, AsyncEnumerateKeysProtocol)
    with pytest.raises(InvalidArgumentError):
        await store.keys(limit=-1)
    assert fallback.calls == []


async def test_only_listed_errors_fall_back() -> None:
    def corrupt() -> FailingStore:
        return FailingStore(DeserializationError("corrupt (test double)"))

    fallback = MemoryStore()
    await fallback.put("k", {"v": 1})
    narrow = FallbackWrapper(corrupt(), fallback, fallback_on=(StoreConnectionError,))
    with pytest.raises(DeserializationError):
        await narrow.get("k")
    assert await FallbackWrapper(DownStore(), fallback, fallback_on=(StoreConnectionError,)).get("k") == {"v": 1}
    assert await FallbackWrapper(corrupt(), fallback).get("k") == {"v": 1}
    with pytest.raises(StoreConnectionError):
        await FallbackWrapper(DownStore(), fallback, fallback_on=()).get("k")


async def test_lifecycle_reaches_both_stores() -> None:
    closed: list[str] = []

    class Closable(MemoryStore):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        async def close(self) -> None:
            closed.append(self.name)

    store = FallbackWrapper(Closable("primary"), Closable("fallback"))
    await store.close()
    assert closed == ["primary", "fallback"]


@pytest.mark.parametrize(
    "fallback_on", [[Exception], (Exception, "x"), (BaseException,), (int,), Exception], ids=stable_id
)
def test_bad_fallback_on(fallback_on: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        FallbackWrapper(MemoryStore(), MemoryStore(), fallback_on=fallback_on)

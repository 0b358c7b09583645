"""MemoryStore: the contract, plus bounds and reclaiming of expired entries."""

from __future__ import annotations

import pytest

from key_value.aio.stores.memory import MemoryStore
from key_value.shared.errors import InvalidArgumentError

from .contract import ContractTests


class TestMemoryStore(ContractTests):
    @pytest.fixture
    async def store(self) -> MemoryStore:
        return MemoryStore()


class TestMemoryStoreCustomDefault(ContractTests):
    @pytest.fixture
    async def store(self) -> MemoryStore:
        return MemoryStore(default_collection="custom")


class TestBoundedMemoryStore:
    async def test_least_recently_used_evicted(self) -> None:
        store = MemoryStore(max_entries_per_collection=3)
        for key in "abc":
            await store.put(key, {"k": key})
        assert await store.get("a") == {"k": "a"}  # a becomes most recently used
        await store.put("d", {"k": "d"})
        assert await store.get("b") is None
        assert sorted(await store.keys()) == ["a", "c", "d"]
        await store.put("x", {"k": "x"}, collection="other")
        assert len(await store.keys()) == 3  # the bound is per collection

    @pytest.mark.parametrize("bound", [0, -1, True, 1.5])
    async def test_bad_bound(self, bound: object) -> None:
        with pytest.raises(InvalidArgumentError):
            MemoryStore(max_entries_per_collection=bound)  # type: ignore[arg-type]


class TestMemoryReclaim:
    async def test_expired_entries_reclaimed_by_later_writes(self) -> None:
        now = [1000.0]
        store = MemoryStore()
        store.clock = lambda: now[0]
        await store.put_many([f"t{i}" for i in range(100)], [{"i": i} for i in range(100)], ttl=5)
        await store.put("forever", {"v": 1})
        now[0] += 10
        await store.put("trigger", {"v": 1})
        internal = store._data  # pyright: ignore[reportPrivateUsage]
        assert sorted(internal["default_collection"]) == ["forever", "trigger"]

    async def test_rewrites_do_not_grow_expiry_heap(self) -> None:
        store = MemoryStore()
        for _ in range(20_000):
            await store.put("same", {"v": 1}, ttl=3600)
        assert len(store._expiries) <= 2 * 1 + 1024  # pyright: ignore[reportPrivateUsage]

    async def test_seed(self) -> None:
        store = MemoryStore(seed={"users": {"alice": {"age": 30}}})
        assert await store.get("alice", collection="users") == {"age": 30}

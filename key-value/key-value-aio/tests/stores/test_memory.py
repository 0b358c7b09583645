"""MemoryStore: the contract, plus bounds and reclaiming of expired entries."""

from __future__ import annotations

import asyncio
import functools
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

from key_value.aio.stores.memory import MemoryStore
from key_value.shared.errors import InvalidArgumentError

from ..support.contract import ContractTests


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


class TestMemoryThreads:
    """Threads sharing one store, switching as often as CPython allows: nothing raises, nothing is lost."""

    @pytest.mark.parametrize("bound", [None, 300], ids=["unbounded", "bounded"])
    def test_threads_share_a_store(self, bound: int | None) -> None:
        store = MemoryStore(max_entries_per_collection=bound)
        errors: list[BaseException] = []
        writing = threading.Event()
        writing.set()

        async def write(worker: int) -> None:
            for i in range(3000):
                key = f"k{(i * 7 + worker) % 200}"
                await store.put(key, {"w": worker, "i": i}, ttl=0.001 if i % 3 == 0 else None)
                await store.delete(f"k{(i * 11 + worker) % 200}")
                if i % 10 == 0:
                    await store.delete_many([f"k{i % 200}", f"k{(i + 1) % 200}"])
                    await store.get(key)
            await store.put(f"final-{worker}", {"w": worker}, collection="kept")

        async def enumerate_and_cull() -> None:
            while writing.is_set():
                await store.keys()
                await store.collections()
                await store.cull()

        def run(work: Callable[[], Any]) -> None:
            try:
                if True:  # ASYNC
                    asyncio.run(work())
                else:
                    work()
            except BaseException as exc:  # reported by the test's thread below
                errors.append(exc)

        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            readers = [threading.Thread(target=run, args=(enumerate_and_cull,)) for _ in range(2)]
            writers = [threading.Thread(target=run, args=(functools.partial(write, worker),)) for worker in range(3)]
            for thread in [*readers, *writers]:
                thread.start()
            for thread in writers:
                thread.join()
            writing.clear()
            for thread in readers:
                thread.join()
        finally:
            sys.setswitchinterval(interval)
        assert errors == []
        expected = [f"final-{worker}" for worker in range(3)]
        if True:  # ASYNC
            assert sorted(asyncio.run(store.keys(collection="kept"))) == expected
        else:
            assert sorted(store.keys(collection="kept")) == expected

"""The disk stores' direct path (`stores/disk/direct.py`): diskcache's rows, its culling, and never waiting.

The contract suite runs every call through it already; these tests check what the contract cannot see:
that diskcache itself reads and counts what the direct path writes (and the reverse), that it culls as
diskcache's own `set` would, that a write finding the database locked by another process waits off the
event loop, and that the write-ahead log stays bounded.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, cast

import pytest
from diskcache import Cache

from key_value.aio.stores.disk import DiskStore, MultiDiskStore
from key_value.aio.stores.disk.direct import DirectCache
from key_value.shared.layouts.disk import NATIVE_DISK_LAYOUT

BIG = "x" * 100_000  # past diskcache's 32 kB file threshold: diskcache keeps it in a file


class RawCache(Protocol):
    """The `diskcache.Cache` calls made here, typed (diskcache ships no annotations)."""

    def set(self, key: object, value: object, expire: float | None = None) -> bool: ...

    def get(self, key: object) -> object: ...

    def volume(self) -> int: ...

    def close(self) -> None: ...

    def __len__(self) -> int: ...


def raw(cache: Cache) -> RawCache:
    return cast("RawCache", cache)


def name(key: str, collection: str = "default_collection") -> str:
    return NATIVE_DISK_LAYOUT.entry_name(collection, key)


def value_files(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.val"))


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    opened = Cache(str(tmp_path / "cache"))
    yield opened
    opened.close()


class TestWhoQualifies:
    def test_default_caches_qualify(self, cache: Cache, tmp_path: Path) -> None:
        assert DirectCache.of(cache, checkpoint=None) is not None
        bounded = Cache(str(tmp_path / "bounded"), eviction_policy="least-recently-stored", size_limit=10**6)
        assert DirectCache.of(bounded, checkpoint=None) is not None
        bounded.close()

    @pytest.mark.parametrize(
        "settings",
        [{"eviction_policy": "least-recently-used"}, {"eviction_policy": "least-frequently-used"}, {"statistics": 1}],
    )
    def test_caches_whose_reads_write_do_not(self, tmp_path: Path, settings: dict[str, Any]) -> None:
        cache = Cache(str(tmp_path / "c"), **settings)
        assert DirectCache.of(cache, checkpoint=None) is None
        cache.close()

    async def test_a_cache_that_does_not_qualify_still_serves_everything(self, tmp_path: Path) -> None:
        cache = Cache(str(tmp_path / "c"), statistics=1)
        async with DiskStore(disk_cache=cache) as store:
            await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}])
            await store.put("c", {"v": 3}, ttl=60)
            assert await store.get_many(["a", "b", "c", "d"]) == [{"v": 1}, {"v": 2}, {"v": 3}, None]
            assert await store.delete("a") is True
            assert await store.delete_many(["b", "c", "d"]) == 2
        hits, misses = cast("Any", cache).stats()
        assert (hits, misses) == (3, 1)  # diskcache itself served every read
        cache.close()


class TestDiskcacheReadsWhatItWrites:
    async def test_records_are_diskcache_rows(self, cache: Cache) -> None:
        async with DiskStore(disk_cache=cache) as store:
            await store.put("k", {"v": 1})
            await store.put_many(["m", "n"], [{"v": 2}, {"v": 3}], ttl=60)
            stored = raw(cache).get(name("k"))
            assert isinstance(stored, str)
            assert NATIVE_DISK_LAYOUT.decode(stored).value == {"v": 1}
            assert len(raw(cache)) == 3  # diskcache's count, kept by its triggers
            expire = cast("Any", cache).get(name("m"), expire_time=True)[1]
            assert expire is not None
            assert 50 < expire - time.time() <= 60
            assert await store.delete_many(["k", "m"]) == 2
            assert len(raw(cache)) == 1
            assert raw(cache).get(name("k")) is None

    async def test_what_diskcache_writes_is_read(self, cache: Cache) -> None:
        async with DiskStore(disk_cache=cache) as writer:
            await writer.put("k", {"v": 1})
            record = raw(cache).get(name("k"))
        raw(cache).set(name("copy"), record)
        raw(cache).set(name("gone"), record, expire=0.01)
        await asyncio.sleep(0.05)
        async with DiskStore(disk_cache=cache) as store:
            assert await store.get_many(["copy", "gone"]) == [{"v": 1}, None]
            assert await store.get("gone") is None
            assert await store.delete("gone") is False  # expired: not counted, as diskcache would not

    async def test_values_in_files_and_their_clean_up(self, tmp_path: Path, cache: Cache) -> None:
        async with DiskStore(disk_cache=cache) as store:
            await store.put("big", {"text": BIG})
            assert len(value_files(tmp_path)) == 1  # written by diskcache, through the worker
            assert await store.get("big") == {"text": BIG}
            assert await store.get_many(["big", "none"]) == [{"text": BIG}, None]
            await store.put("big", {"text": "small"})  # the direct path replaces the row and removes its file
            assert value_files(tmp_path) == []
            assert await store.get("big") == {"text": "small"}
            await store.put_many(["a", "b"], [{"text": BIG}, {"text": BIG}])
            assert len(value_files(tmp_path)) == 2
            assert await store.delete_many(["a", "b"]) == 2
            assert value_files(tmp_path) == []
            assert cast("Any", cache).check() == []  # diskcache finds its database and files consistent

    async def test_expired_entries_go_as_diskcache_would_cull_them(self, cache: Cache) -> None:
        async with DiskStore(disk_cache=cache) as store:
            await store.put_many([f"k{n}" for n in range(25)], [{"n": n} for n in range(25)], ttl=0.05)
            await asyncio.sleep(0.1)
            assert len(raw(cache)) == 25
            await store.put("a", {"v": 1})  # each write culls up to diskcache's cull_limit (10) expired entries
            assert len(raw(cache)) == 25 - 10 + 1
            await store.put_many(["b", "c"], [{"v": 2}, {"v": 3}])
            assert len(raw(cache)) == 3

    async def test_max_size_evicts_the_oldest_writes(self, tmp_path: Path) -> None:
        async with DiskStore(directory=tmp_path / "bounded", max_size=400_000) as store:
            for number in range(300):
                await store.put(f"k{number:03d}", {"text": "y" * 5_000})
            cache = Cache(str(tmp_path / "bounded"))
            assert raw(cache).volume() < 600_000
            cache.close()
            keys = await store.keys()
            assert "k299" in keys
            assert "k000" not in keys
            assert keys == sorted(keys)
            assert keys[0] > "k100"  # the oldest went first


class TestNeverWaitsOnTheLoop:
    async def test_a_write_under_another_process_lock_waits_off_the_loop(self, tmp_path: Path) -> None:
        directory = tmp_path / "cache"
        async with DiskStore(directory=directory) as store:
            await store.put("k", {"v": 1})
            hold = 1.0
            with write_lock_held(directory / "cache.db", hold):
                started = time.perf_counter()
                if True:  # ASYNC
                    gaps = Heartbeat()
                    beating = asyncio.create_task(gaps.run())
                    await store.put("k", {"v": 2})
                    waited = time.perf_counter() - started
                    gaps.stop()
                    await beating
                    assert gaps.worst < hold / 2  # the loop ran while the write waited for the lock
                else:
                    store.put("k", {"v": 2})
                    waited = time.perf_counter() - started
                assert waited > hold / 2  # it did wait: the lock was held
                assert await store.get("k") == {"v": 2}

    async def test_reads_go_on_while_another_process_holds_the_lock(self, tmp_path: Path) -> None:
        directory = tmp_path / "cache"
        async with DiskStore(directory=directory) as store:
            await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}])
            with write_lock_held(directory / "cache.db", 2.0):
                started = time.perf_counter()
                assert await store.get("a") == {"v": 1}
                assert await store.get_many(["a", "b"]) == [{"v": 1}, {"v": 2}]
                assert time.perf_counter() - started < 1.0  # write-ahead logging: readers never wait for a writer

    async def test_the_write_ahead_log_stays_bounded(self, tmp_path: Path) -> None:
        directory = tmp_path / "cache"
        async with DiskStore(directory=directory) as store:
            for number in range(3_000):  # about 60 MB of log if nothing checkpointed it
                await store.put(f"k{number % 500}", {"n": number, "text": "z" * 200})
            assert (directory / "cache.db-wal").stat().st_size < 16_000_000
            assert await store.get("k499") == {"n": 2999, "text": "z" * 200}

    async def test_multi_disk_store_collections_each_have_a_direct_path(self, tmp_path: Path) -> None:
        async with MultiDiskStore(base_directory=tmp_path) as store:
            await store.put("k", {"v": 1}, collection="one")
            await store.put("k", {"v": 2}, collection="two")
            assert sorted(store._directs) == ["one", "two"]  # pyright: ignore[reportPrivateUsage]
            assert await store.get("k", collection="two") == {"v": 2}
            assert await store.delete("k", collection="one") is True
            assert await store.get("k", collection="one") is None


@contextmanager
def write_lock_held(database: Path, seconds: float) -> Generator[None, None, None]:
    """A process holds `database`'s write lock for `seconds` from when this enters; it has ended when this exits."""
    script = "\n".join(
        (
            "import sqlite3, sys, time",
            "con = sqlite3.connect(sys.argv[1], isolation_level=None)",
            "con.execute('BEGIN IMMEDIATE')",
            "print('locked', flush=True)",
            "time.sleep(float(sys.argv[2]))",
            "con.execute('ROLLBACK')",
        )
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(database), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "locked"
        yield
    finally:
        process.communicate(timeout=30)


if True:  # ASYNC

    class Heartbeat:
        """The longest gap between 1 ms sleeps while `run()` runs, in seconds."""

        def __init__(self) -> None:
            self.worst = 0.0
            self._done = False

        async def run(self) -> None:
            last = time.perf_counter()
            while not self._done:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                self.worst = max(self.worst, now - last)
                last = now

        def stop(self) -> None:
            self._done = True

else:

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
    def test_a_forked_child_uses_connections_of_its_own(tmp_path: Path) -> None:
        """SQLite connections must not cross a fork: the child's calls open their own; each sees the other's writes."""
        with DiskStore(directory=tmp_path / "cache") as store:
            store.put("parent", {"v": 1})
            direct = store._direct  # pyright: ignore[reportPrivateUsage]
            assert direct is not None
            inherited = direct._con()  # pyright: ignore[reportPrivateUsage]
            pid = os.fork()
            if pid == 0:  # the child: report by exit status, never return into pytest
                status = 1
                try:
                    store.put("child", {"v": 2})
                    status = 0 if store.get("parent") == {"v": 1} else 3
                    if direct._con() is inherited:  # pyright: ignore[reportPrivateUsage]
                        status = 4
                finally:
                    os._exit(status)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0
            assert store.get("child") == {"v": 2}
            store.put("parent", {"v": 3})
            assert store.get("parent") == {"v": 3}

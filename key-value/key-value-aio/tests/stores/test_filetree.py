"""FileTreeStore: the contract, plus containment, durability on disk, expiry of files and crash leftovers."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from key_value.aio.conditional import ABSENT, KEEP_CURRENT
from key_value.aio.stores.filetree import FileTreeStore
from key_value.aio.stores.filetree import files as files_module
from key_value.aio.stores.filetree import store as store_module
from key_value.aio.stores.filetree import tree as tree_module
from key_value.shared.compat.strategies import FileTreeV1KeySanitizationStrategy
from key_value.shared.errors import InvalidArgumentError, PathSecurityError, StoreSetupError
from key_value.shared.layouts.filetree import NativeFileTreeLayout
from key_value.shared.naming import is_hashed_component, path_component
from key_value.shared.records import encode_record

from ..support.contract import AWKWARD_NAMES, ContractTests

#: Names aimed at the file system on top of the contract's awkward ones: traversal, absolute and
#: Windows paths, reserved device names, and the dot-names the store uses for itself.
HOSTILE_NAMES = [
    *AWKWARD_NAMES,
    "../outside",
    "../../../../../../tmp/escaped",
    "/etc/passwd",
    "C:\\Windows\\System32",
    "..\\..\\escaped",
    "~",
    "~root",
    "NUL",
    "con.txt",
    ".collection.json",
    ".tmp-0123456789abcdef",
    ".trash-0123456789abcdef",
    "/" * 300,
    "../" * 400,
]


def entry_file(data: Path, collection: str, key: str) -> Path:
    return data / path_component(collection) / (path_component(key) + ".json")


def everything_under(directory: Path) -> list[Path]:
    """Every file and directory below `directory`, symlinks not followed."""
    return list(directory.rglob("*"))


def names_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def frozen_clock(store: FileTreeStore) -> list[float]:
    """Make `store` read the time from the returned one-element list."""
    now = [1_000_000.0]
    store.clock = lambda: now[0]
    return now


class TestFileTreeStore(ContractTests):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> FileTreeStore:
        return FileTreeStore(data_directory=tmp_path / "data")

    @pytest.fixture
    def store_options(self, tmp_path: Path) -> dict[str, Any]:
        return {"data_directory": str(tmp_path / "data")}


class TestContainment:
    async def test_no_path_leaves_data_directory(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        store = FileTreeStore(data_directory=data)
        for name in HOSTILE_NAMES:
            await store.put(name, {"name": name}, collection=name)
            await store.put(name, {"name": name}, collection="plain")
        created = everything_under(tmp_path)
        assert len(created) > 2 * len(HOSTILE_NAMES)
        assert all(path.is_relative_to(data) for path in created)
        assert all(not path.is_symlink() and len(path.name.encode()) <= 255 for path in created)
        assert sorted(await store.collections()) == sorted({*HOSTILE_NAMES, "plain"})
        assert sorted(await store.keys("plain")) == sorted(HOSTILE_NAMES)
        for name in HOSTILE_NAMES:
            assert await store.get(name, collection=name) == {"name": name}

    async def test_symlinked_collection_refused(self, tmp_path: Path) -> None:
        data, outside = tmp_path / "data", tmp_path / "outside"
        outside.mkdir()
        store = FileTreeStore(data_directory=data)
        await store.setup()
        (data / path_component("evil")).symlink_to(outside, target_is_directory=True)
        with pytest.raises(PathSecurityError):
            await store.put("key", {"v": 1}, collection="evil")
        with pytest.raises(PathSecurityError):
            await store.get("key", collection="evil")
        assert names_in(outside) == []
        assert await store.collections() == []

    async def test_symlinked_entry_refused(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        store = FileTreeStore(data_directory=data)
        await store.put("key", {"v": 1}, collection="c")
        secret = tmp_path / "secret.json"
        secret.write_text(encode_record('{"secret":true}', None, collection="c", key="leak"))
        entry_file(data, "c", "leak").symlink_to(secret)
        with pytest.raises(PathSecurityError):
            await store.get("leak", collection="c")
        assert await store.get("key", collection="c") == {"v": 1}


class TestFilesOnDisk:
    async def test_data_survives_a_new_store(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        first = FileTreeStore(data_directory=data)
        await first.put("plain", {"v": 1}, collection="c")
        await first.put("timed", {"v": 2}, collection="c", ttl=60)
        await first.put("k" * 1000, {"v": 3}, collection="é" * 600)
        second = FileTreeStore(data_directory=str(data))
        assert await second.get("plain", collection="c") == {"v": 1}
        value, remaining = await second.ttl("timed", collection="c")
        assert value == {"v": 2}
        assert remaining is not None
        assert 59 < remaining <= 60
        assert await second.get("k" * 1000, collection="é" * 600) == {"v": 3}
        assert sorted(await second.keys("c")) == ["plain", "timed"]
        assert sorted(await second.collections()) == sorted(["c", "é" * 600])

    async def test_long_names_enumerate_raw(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        store = FileTreeStore(data_directory=data)
        long_key, long_collection, wide = "k" * 1000, "c" * 1000, "é" * 600
        await store.put(long_key, {"v": 1}, collection=long_collection)
        await store.put(wide, {"v": 2}, collection=long_collection)
        await store.put("short", {"v": 3}, collection=wide)
        assert sorted(await store.keys(long_collection)) == sorted([long_key, wide])
        assert await store.keys(wide) == ["short"]
        assert sorted(await store.collections()) == sorted([long_collection, wide])
        assert is_hashed_component(entry_file(data, long_collection, long_key).parent.name)
        assert entry_file(data, long_collection, long_key).exists()
        assert all(len(path.name.encode()) <= 255 for path in everything_under(data))

    async def test_auto_create_false_requires_directory(self, tmp_path: Path) -> None:
        missing = tmp_path / "missing"
        store = FileTreeStore(data_directory=missing, auto_create=False)
        with pytest.raises(StoreSetupError):
            await store.get("key")
        assert not missing.exists()
        missing.mkdir()
        await store.put("key", {"v": 1})
        assert await store.get("key") == {"v": 1}

    async def test_auto_create_makes_parents(self, tmp_path: Path) -> None:
        store = FileTreeStore(data_directory=tmp_path / "a" / "b")
        await store.put("key", {"v": 1})
        assert (tmp_path / "a" / "b").is_dir()

    async def test_metadata_directory_holds_no_files_of_ours(self, tmp_path: Path) -> None:
        """It is only where py-key-value's collection files are looked for: ours stay in each collection."""
        store = FileTreeStore(data_directory=tmp_path / "data", metadata_directory=tmp_path / "meta")
        await store.put("key", {"v": 1}, collection="c")
        assert names_in(tmp_path / "data" / "c") == [".collection.json", "key.json"]
        assert not (tmp_path / "meta").exists() or names_in(tmp_path / "meta") == []

    async def test_destroy_keeps_foreign_files(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        store = FileTreeStore(data_directory=data)
        await store.put("a", {"v": 1}, collection="one")
        await store.put("b", {"v": 2}, collection="two")
        (data / "notes").mkdir()
        (data / "notes" / "todo.txt").write_text("keep me")
        (data / "README").write_text("keep me too")
        assert await store.destroy_collection("one") is True
        assert names_in(data) == sorted(["README", "notes", path_component("two")])
        assert await store.destroy() is True
        assert names_in(data) == ["README", "notes"]
        assert await store.destroy() is False
        await store.put("a", {"v": 3}, collection="one")
        assert await store.get("a", collection="one") == {"v": 3}


class TestExpiryOnDisk:
    @pytest.mark.parametrize("read", ["get", "get_many", "ttl", "ttl_many", "keys", "collections"])
    async def test_expired_file_removed_when_read(self, tmp_path: Path, read: str) -> None:
        data = tmp_path / "data"
        store = FileTreeStore(data_directory=data)
        now = frozen_clock(store)
        await store.put("key", {"v": 1}, collection="c", ttl=5)
        path = entry_file(data, "c", "key")
        assert path.exists()
        now[0] += 10
        if read == "get":
            assert await store.get("key", collection="c") is None
        elif read == "get_many":
            assert await store.get_many(["key"], collection="c") == [None]
        elif read == "ttl":
            assert await store.ttl("key", collection="c") == (None, None)
        elif read == "ttl_many":
            assert await store.ttl_many(["key"], collection="c") == [(None, None)]
        elif read == "keys":
            assert await store.keys("c") == []
        else:
            assert await store.collections() == []
        assert not path.exists()

    async def test_cull_removes_expired_files_and_stale_leftovers(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        store = FileTreeStore(data_directory=data)
        now = frozen_clock(store)
        await store.put_many(["a", "b", "c"], [{"v": 1}] * 3, collection="mixed", ttl=5)
        await store.put("kept", {"v": 2}, collection="mixed")
        await store.put("gone", {"v": 3}, collection="expired", ttl=5)
        mixed = data / path_component("mixed")
        old = time.time() - 2 * tree_module.STALE_SECONDS
        for leftover in (mixed / ".tmp-stale", mixed / ".tmp-fresh"):
            leftover.write_bytes(b'{"half')
        for trash in (data / ".trash-stale", data / ".trash-fresh"):
            trash.mkdir()
            (trash / "entry.json").write_bytes(b"{}")
        os.utime(mixed / ".tmp-stale", (old, old))
        os.utime(data / ".trash-stale", (old, old))
        now[0] += 10
        await store.cull()
        assert names_in(mixed) == sorted([".collection.json", ".tmp-fresh", path_component("kept") + ".json"])
        assert names_in(data / path_component("expired")) == [".collection.json"]
        assert names_in(data) == sorted([".trash-fresh", path_component("expired"), path_component("mixed")])
        assert await store.collections() == ["mixed"]

    async def test_expiry_removal_spares_a_concurrent_rewrite(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        data = tmp_path / "data"
        store = FileTreeStore(data_directory=data)
        now = frozen_clock(store)
        await store.put("key", {"v": "old"}, collection="c", ttl=5)
        now[0] += 10
        path = entry_file(data, "c", "key")
        remove_expired = tree_module.FileTree._remove_expired  # pyright: ignore[reportPrivateUsage]
        rewritten: list[bool] = []

        def rewrite_then_remove(tree: tree_module.FileTree, name: str, now: float) -> None:
            # Another writer replaces the entry after the read that saw it expired, before the removal's re-check.
            rewritten.append(True)
            path.write_text(encode_record('{"v":"new"}', None, collection="c", key="key"))
            remove_expired(tree, name, now)

        monkeypatch.setattr(tree_module.FileTree, "_remove_expired", rewrite_then_remove)
        assert await store.get("key", collection="c") is None
        monkeypatch.undo()
        assert rewritten == [True]
        assert await store.get("key", collection="c") == {"v": "new"}


class TestCrashSafety:
    async def test_leftover_temp_files_ignored(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        store = FileTreeStore(data_directory=data)
        await store.put("key", {"v": 1}, collection="c")
        directory = data / path_component("c")
        # A crash after a temp file was written but before its rename, and one in the middle of a write.
        (directory / ".tmp-0123456789abcdef").write_text(encode_record('{"v":2}', None, collection="c", key="ghost"))
        (directory / ".tmp-fedcba9876543210").write_bytes(b'{"collection":"c","ke')
        # A collection whose very first write crashed: a directory holding only a temp file.
        crashed = data / path_component("crashed")
        crashed.mkdir()
        (crashed / ".tmp-0000000000000000").write_bytes(b"{")
        # A destroy that crashed after renaming a collection to trash, before deleting it.
        trash = data / ".trash-0123456789abcdef"
        trash.mkdir()
        (trash / ".collection.json").write_text('{"collection":"destroyed"}')
        (trash / (path_component("key") + ".json")).write_text(
            encode_record('{"v":3}', None, collection="destroyed", key="key")
        )
        assert await store.keys("c") == ["key"]
        assert await store.get("ghost", collection="c") is None
        assert await store.get("key", collection="c") == {"v": 1}
        assert await store.collections() == ["c"]
        assert await store.keys("crashed") == []

    @pytest.mark.parametrize("count", [3, 100], ids=["sequential", "parallel"])
    async def test_failed_write_changes_nothing(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int
    ) -> None:
        data = tmp_path / "data"
        store = FileTreeStore(data_directory=data)
        await store.put("k0", {"old": True}, collection="c")
        real_fsync = os.fsync
        calls: list[int] = []

        def failing_fsync(fd: int) -> None:
            calls.append(fd)
            if len(calls) >= 2:
                raise OSError(errno.EIO, "simulated disk failure")
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", failing_fsync)
        with pytest.raises(OSError, match="simulated"):
            await store.put_many([f"k{i}" for i in range(count)], [{"new": i} for i in range(count)], collection="c")
        monkeypatch.undo()
        assert await store.get("k0", collection="c") == {"old": True}
        assert await store.keys("c") == ["k0"]
        assert names_in(data / path_component("c")) == sorted([".collection.json", path_component("k0") + ".json"])


class PrefixedKeys(NativeFileTreeLayout):
    """A layout that files every key under `k-` + its native component."""

    def key_component(self, key: str) -> str:
        return "k-" + super().key_component(key)


class TestInjectedLayout:
    async def test_explicit_native_layout_writes_the_default_files(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        store = FileTreeStore(data_directory=data, layout=NativeFileTreeLayout())
        await store.put("Key", {"v": 1}, collection="C", ttl=60)
        entry = entry_file(data, "C", "Key")
        record = NativeFileTreeLayout().decode(entry.read_bytes())
        assert (record["collection"], record["key"], record["value"]) == ("C", "Key", {"v": 1})
        assert await FileTreeStore(data_directory=data).get("Key", collection="C") == {"v": 1}

    async def test_layout_subclass_changes_the_file_names(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        store = FileTreeStore(data_directory=data, layout=PrefixedKeys())
        await store.put_many(["a", "B"], [{"v": 1}, {"v": 2}], collection="c")
        assert names_in(data / path_component("c")) == [".collection.json", "k-%42.json", "k-a.json"]
        assert await store.get("B", collection="c") == {"v": 2}
        assert sorted(await store.keys("c")) == ["B", "a"]
        assert await FileTreeStore(data_directory=data).get("a", collection="c") is None

    def test_layout_excludes_py_key_value_options(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidArgumentError, match="layout"):
            FileTreeStore(
                data_directory=tmp_path,
                layout=PrefixedKeys(),
                key_sanitization_strategy=FileTreeV1KeySanitizationStrategy(tmp_path),
            )


class TestConditionalOnDisk:
    async def test_records_carry_etag_and_write_time(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        store = FileTreeStore(data_directory=data)
        before = time.time()
        result = await store.put_if("key", {"v": 1}, etag=ABSENT, collection="c", ttl=5)
        record = json.loads(entry_file(data, "c", "key").read_text())
        assert sorted(record) == ["collection", "etag", "expires_at", "key", "value"]
        assert record["etag"] == result.resulting_etag
        entry = await store.get_entry("key", collection="c")
        assert entry is not None
        assert entry.written_at is not None
        assert entry.written_at == pytest.approx(entry_file(data, "c", "key").stat().st_mtime, abs=1e-6)  # the mtime
        assert before - 1 <= entry.written_at <= time.time() + 1
        await asyncio.sleep(0.05)
        refreshed = await store.put_if("key", KEEP_CURRENT, etag=entry.etag, collection="c", ttl=60)
        assert refreshed.resulting_etag == entry.etag
        after = await store.get_entry("key", collection="c")
        assert after is not None
        assert (after.etag, after.written_at) == (entry.etag, entry.written_at)  # a refresh is not a write
        await store.put("key", {"v": 1}, collection="c")
        again = json.loads(entry_file(data, "c", "key").read_text())
        assert again["etag"] != record["etag"]  # a plain write draws a new ETag too

    async def test_records_from_before_etags(self, tmp_path: Path) -> None:
        """A record without an ETag is named by a hash of its bytes; a TTL refresh keeps that name."""
        data = tmp_path / "data"
        store = FileTreeStore(data_directory=data)
        await store.put("other", {"v": 0}, collection="c")
        path = entry_file(data, "c", "key")
        path.write_text(encode_record('{"v":1}', None, collection="c", key="key"))
        entry = await store.get_entry("key", collection="c")
        assert entry is not None
        assert entry.value == {"v": 1}
        assert entry.written_at == pytest.approx(path.stat().st_mtime, abs=1e-6)
        refreshed = await store.put_if("key", KEEP_CURRENT, etag=entry.etag, collection="c", ttl=60)
        assert refreshed.satisfied
        assert refreshed.resulting_etag == entry.etag
        assert json.loads(path.read_text())["etag"] == entry.etag
        assert (await store.put_if("key", {"v": 2}, etag=entry.etag, collection="c")).satisfied

    async def test_failed_checks_leave_nothing(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        store = FileTreeStore(data_directory=data)
        assert not (await store.put_if("key", {"v": 1}, etag="0123456789abcdef", collection="none")).satisfied
        assert (await store.delete_if("key", etag=ABSENT, collection="none")).satisfied
        assert (await store.put_if("key", KEEP_CURRENT, etag=ABSENT, collection="none", ttl=5)).satisfied
        assert not (data / path_component("none")).exists()  # no collection made for writes that did not happen
        await store.put("key", {"v": 1}, collection="c")
        assert not (await store.put_if("key", {"v": 2}, etag=ABSENT, collection="c")).satisfied
        assert names_in(data / "c") == [".collection.json", "key.json"]  # the written-ahead temp file is gone

    async def test_expired_entry_is_absent_and_removed(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        store = FileTreeStore(data_directory=data)
        now = frozen_clock(store)
        await store.put("key", {"v": 1}, collection="c", ttl=5)
        entry = await store.get_entry("key", collection="c")
        assert entry is not None
        now[0] += 10
        result = await store.delete_if("key", etag=entry.etag, collection="c")
        assert (result.satisfied, result.actual_etag) == (False, ABSENT)
        assert not entry_file(data, "c", "key").exists()

    async def test_a_held_lock_makes_conditional_writes_wait(self, tmp_path: Path) -> None:
        """What another process holding the directory's lock looks like: the check waits for it."""
        data = tmp_path / "data"
        store = FileTreeStore(data_directory=data)
        await store.put("key", {"v": 1}, collection="c")
        entry = await store.get_entry("key", collection="c")
        assert entry is not None
        directory = str(data / "c")
        order: list[str] = []
        holding, release = threading.Event(), threading.Event()

        def holder() -> None:
            with files_module.locked(directory):
                holding.set()
                release.wait(5)
                entry_file(data, "c", "key").write_text(
                    encode_record('{"v":"meanwhile"}', None, collection="c", key="key")
                )
                order.append("holder")

        thread = threading.Thread(target=holder)
        thread.start()
        assert holding.wait(5)
        threading.Timer(0.3, release.set).start()
        result = await store.put_if("key", {"v": 2}, etag=entry.etag, collection="c")
        order.append("put_if")
        thread.join()
        assert order == ["holder", "put_if"]
        assert not result.satisfied  # it saw the holder's write, not the value it read before
        assert result.value == {"v": "meanwhile"}

    async def test_destroy_between_calls(self, tmp_path: Path) -> None:
        store = FileTreeStore(data_directory=tmp_path / "data")
        first = await store.put_if("key", {"v": 1}, etag=ABSENT, collection="c")
        assert await store.destroy_collection("c") is True
        assert not (await store.put_if("key", {"v": 2}, etag=first.resulting_etag, collection="c")).satisfied
        assert (await store.put_if("key", {"v": 3}, etag=ABSENT, collection="c")).satisfied
        assert await store.get("key", collection="c") == {"v": 3}


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions the store hands to a worker thread (`_run`), in order."""
    original = store_module._run  # pyright: ignore[reportPrivateUsage]
    recorded: list[str] = []

    async def counting_run(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        recorded.append(function.__name__)
        return await original(function, *args, **kwargs)

    monkeypatch.setattr(store_module, "_run", counting_run)
    return recorded


class TestWorkerThreadHops:
    async def test_bulk_operations_use_one_hop(self, tmp_path: Path, hops: list[str]) -> None:
        store = FileTreeStore(data_directory=tmp_path / "data")
        await store.setup()
        hops.clear()
        keys = [f"k{i}" for i in range(100)]
        await store.put_many(keys, [{"i": i} for i in range(100)], collection="c")
        await store.get_many(keys, collection="c")
        await store.ttl_many(keys, collection="c")
        assert await store.delete_many(keys, collection="c") == 100
        assert hops == ["put_entries", "get_entries", "get_entries", "delete_entries"]

    async def test_conditional_calls_use_one_hop(self, tmp_path: Path, hops: list[str]) -> None:
        store = FileTreeStore(data_directory=tmp_path / "data")
        await store.setup()
        hops.clear()
        inserted = await store.put_if("key", {"v": 1}, etag=ABSENT)
        await store.get_entry("key")
        await store.put_if("key", KEEP_CURRENT, etag=inserted.resulting_etag, ttl=60)
        await store.delete_if("key", etag=inserted.resulting_etag)
        assert hops == ["put_if", "get_versioned", "put_if", "put_if"]

    async def test_small_reads_take_no_hop_in_the_async_twin(self, tmp_path: Path, hops: list[str]) -> None:
        store = FileTreeStore(data_directory=tmp_path / "data")
        now = frozen_clock(store)
        await store.setup()
        keys = [f"k{i}" for i in range(17)]
        await store.put_many(keys, [{"i": i} for i in range(17)], collection="c")
        await store.put("short", {"v": 1}, collection="c", ttl=5)
        hops.clear()
        assert await store.get("k0", collection="c") == {"i": 0}
        assert await store.get_many(keys[:16], collection="c") == [{"i": i} for i in range(16)]
        assert await store.get("missing", collection="c") is None
        if True:  # ASYNC
            assert hops == []  # read on the loop's thread: no lock, no write
        else:
            assert hops == ["get_entries"] * 3
        hops.clear()
        assert len(await store.get_many(keys, collection="c")) == 17  # more than 16 keys: the worker
        now[0] += 10
        assert await store.get("short", collection="c") is None  # expired: removed under the lock, on the worker
        assert hops == ["get_entries", "get_entries"]
        assert not entry_file(tmp_path / "data", "c", "short").exists()

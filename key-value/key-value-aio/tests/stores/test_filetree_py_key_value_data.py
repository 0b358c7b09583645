"""FileTreeStore with directories the real py-key-value-aio 0.4.x wrote (run in its own venv, `testing.py_key_value`).

- The default constructor reads what py-key-value's default FileTreeStore wrote, with its TTLs, lists
  it, and leaves no old file behind when it writes or deletes a key; without such data nothing changes.
- `layout="py-key-value"` writes exactly py-key-value's files (and passes the contract, for the names
  those files can hold).
- FastMCP's OAuth directory (the V1 strategies) is shared both ways with the same constructor call.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from key_value.aio.conditional import ABSENT, ANY, KEEP_CURRENT
from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.filetree import (
    FileTreeStore,
    FileTreeV1CollectionSanitizationStrategy,
    FileTreeV1KeySanitizationStrategy,
)
from key_value.aio.stores.filetree import tree as tree_module
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError
from key_value.shared.naming import path_component
from testing import py_key_value as upstream

from ..support.contract import AWKWARD_NAMES, COLLIDING_PAIRS, ContractTests

#: A TTL that outlives the driver's exit but not a short sleep.
SHORT = 3
#: What py-key-value writes first: (collection, key, value, ttl). Names our encoding keeps (lower
#: case) share py-key-value's path; the others sit at different paths.
WRITTEN = [
    ("mcp-oauth-proxy-clients", "client-123", {"client_id": "client-123", "scopes": ["a", "b"]}, None),
    ("mcp-oauth-proxy-tokens", "Tok.en", {"access": "x" * 50}, 600),
    ("Ünï Cödé", "key with spaces", {"n": 1.5, "nested": {"deep": [1, None, True]}}, None),
    ("short", "gone-soon", {"v": 1}, SHORT),
]
BULK = ("Bulk", ["k1", "K2"], [{"i": 1}, {"i": 2}], 300)
FASTMCP_COLLECTIONS = [
    "mcp-oauth-proxy-clients",
    "mcp-oauth-proxy-tokens",
    "mcp-oauth-proxy-authorization-codes",
    "mcp-oauth-proxy-refresh-tokens",
]


def upstream_write(directory: Path, **options: Any) -> None:
    operations: list[dict[str, Any]] = [
        {"op": "put", "collection": collection, "key": key, "value": value, "ttl": ttl}
        for collection, key, value, ttl in WRITTEN
    ]
    collection, keys, values, ttl = BULK
    operations.append({"op": "put_many", "collection": collection, "keys": keys, "values": values, "ttl": ttl})
    upstream.run("filetree", {"data_directory": str(directory), **options}, operations)


def v1_options(directory: Path) -> dict[str, Any]:
    return {
        "key_sanitization_strategy": FileTreeV1KeySanitizationStrategy(directory),
        "collection_sanitization_strategy": FileTreeV1CollectionSanitizationStrategy(directory),
    }


def document(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def names_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


# -- layout="py-key-value": the contract -------------------------------------------------------------


def holds_as_a_file_name(name: str) -> bool:
    """Whether py-key-value's default layout can keep `name` as one file name (see `as_is`)."""
    return not name.startswith(".") and "/" not in name and "\x00" not in name and len(name.encode()) <= 240


class TestFileTreeStoreWithPyKeyValueLayout(ContractTests):
    #: Every conditional write fsyncs its file and the directory: 8 racing processes commit 400 to 800
    #: increments a second on a 2-core machine. The same store's native class races 8 x 1000; here, with
    #: py-key-value's layout, 8 x 250 (2.5-5 s).
    race_increments = 250

    @pytest.fixture
    async def store(self, tmp_path: Path) -> FileTreeStore:
        return FileTreeStore(data_directory=tmp_path / "data", layout="py-key-value")

    @pytest.fixture
    def store_options(self, tmp_path: Path) -> dict[str, Any]:
        return {"data_directory": str(tmp_path / "data"), "layout": "py-key-value"}

    @pytest.mark.parametrize("name", AWKWARD_NAMES, ids=range(len(AWKWARD_NAMES)))
    async def test_awkward_names(self, store: AsyncKeyValue, name: str) -> None:
        """Names py-key-value keeps as they are work; the others are refused before anything is written."""
        if holds_as_a_file_name(name):
            await super().test_awkward_names(store, name)
            return
        with pytest.raises(InvalidKeyError):
            await store.put(name, {"name": name}, collection="plain")
        with pytest.raises(InvalidKeyError):
            await store.put("key", {"name": name}, collection=name)
        assert isinstance(store, FileTreeStore)
        assert await store.collections() == []

    async def test_conditional_write_seen_by_plain_reads(self, store: AsyncKeyValue) -> None:
        """The contract's names hold a `/`, which this layout refuses before writing; the same checks on others."""
        assert isinstance(store, FileTreeStore)
        with pytest.raises(InvalidKeyError):
            await store.put_if("a/b::c", {"v": 1}, etag=ABSENT, collection="x::y")
        value: dict[str, Any] = {"nested": {"list": [1, 2.5, "three", None, True]}, "big": 2**70, "u": "é🙂"}
        assert (await store.put_if("a b::c", value, etag=ABSENT, collection="x::y")).satisfied
        assert await store.get("a b::c", collection="x::y") == value
        assert await store.get_many(["a b::c"], collection="x::y") == [value]
        entry = await store.get_entry("a b::c", collection="x::y")
        assert entry is not None
        assert entry.value == value
        assert (await store.put_if("a b::c", {"v": 2}, etag=entry.etag, condition=ANY, collection="x::y")).satisfied
        assert await store.get("a b::c", collection="x::y") == {"v": 2}
        assert await store.delete("a b::c", collection="x::y") is True

    @pytest.mark.parametrize(("first", "second"), COLLIDING_PAIRS)
    async def test_no_collisions(self, store: AsyncKeyValue, first: tuple[str, str], second: tuple[str, str]) -> None:
        if all(holds_as_a_file_name(name) for name in (*first, *second)):
            await super().test_no_collisions(store, first, second)
            return
        for collection, key in (first, second):
            if not (holds_as_a_file_name(collection) and holds_as_a_file_name(key)):
                with pytest.raises(InvalidKeyError):
                    await store.put(key, {"v": 1}, collection=collection)


class TestPyKeyValueLayoutFiles:
    async def test_files_are_exactly_py_key_values(self, tmp_path: Path) -> None:
        store = FileTreeStore(data_directory=tmp_path, layout="py-key-value")
        await store.put("Key One", {"v": 1}, collection="My Coll", ttl=100)
        await store.put("plain", {"v": 2}, collection="My Coll")
        assert names_in(tmp_path) == ["My Coll", "My Coll-info.json"]
        assert names_in(tmp_path / "My Coll") == ["Key One.json", "plain.json"]
        entry = document(tmp_path / "My Coll" / "Key One.json")
        assert sorted(entry) == ["created_at", "expires_at", "value", "version"]
        assert (entry["value"], entry["version"]) == ({"v": 1}, 1)
        assert sorted(document(tmp_path / "My Coll" / "plain.json")) == ["created_at", "value", "version"]
        info = document(tmp_path / "My Coll-info.json")
        assert sorted(info) == ["collection", "created_at", "directory", "version"]
        assert (info["collection"], info["directory"], info["version"]) == ("My Coll", str(tmp_path / "My Coll"), 1)
        assert sorted(await store.keys("My Coll")) == ["Key One", "plain"]
        assert await store.collections() == ["My Coll"]
        assert await store.destroy_collection("My Coll") is True
        assert names_in(tmp_path) == []

    async def test_a_separate_metadata_directory(self, tmp_path: Path) -> None:
        store = FileTreeStore(
            data_directory=tmp_path / "data", metadata_directory=tmp_path / "meta", layout="py-key-value"
        )
        await store.put("k", {"v": 1}, collection="c")
        assert names_in(tmp_path / "meta") == ["c-info.json"]
        assert await store.collections() == ["c"]
        assert await store.destroy() is True
        assert names_in(tmp_path / "meta") == []

    def test_unknown_layout_name(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidArgumentError, match="unknown layout"):
            FileTreeStore(data_directory=tmp_path, layout="py-key-value-0.5")  # pyright: ignore[reportArgumentType]

    async def test_py_key_value_reads_what_ours_writes(self, tmp_path: Path) -> None:
        store = FileTreeStore(data_directory=tmp_path, layout="py-key-value")
        for collection, key, value, ttl in WRITTEN:
            await store.put(key, value, collection=collection, ttl=ttl)
        await asyncio.sleep(SHORT + 0.1)  # "gone-soon" expires
        results = upstream.run(
            "filetree",
            {"data_directory": str(tmp_path)},
            [{"op": "ttl", "collection": collection, "key": key} for collection, key, _, _ in WRITTEN],
        )
        for (_, _, value, ttl), (read, remaining) in zip(WRITTEN, results, strict=True):
            if ttl == SHORT:
                assert (read, remaining) == (None, None)
            elif ttl is None:
                assert (read, remaining) == (value, None)
            else:
                assert read == value
                assert ttl - 30 < remaining <= ttl

    async def test_ours_reads_what_py_key_value_writes(self, tmp_path: Path) -> None:
        upstream_write(tmp_path)
        store = FileTreeStore(data_directory=tmp_path, layout="py-key-value")
        await check_reads(store)
        await store.put("client-123", {"new": True}, collection="mcp-oauth-proxy-clients")
        [read] = upstream.run(
            "filetree",
            {"data_directory": str(tmp_path)},
            [{"op": "get", "collection": "mcp-oauth-proxy-clients", "key": "client-123"}],
        )
        assert read == {"new": True}


async def check_reads(store: FileTreeStore) -> None:
    """What `upstream_write` wrote reads back from `store`: values, TTLs (within 30 s), expiry, listings."""
    for collection, key, value, ttl in WRITTEN:
        read, remaining = await store.ttl(key, collection=collection)
        assert read == value, (collection, key)
        if ttl is None:
            assert remaining is None
        else:
            assert remaining is not None
            assert ttl - 30 < remaining <= ttl
    collection, keys, values, ttl = BULK
    assert await store.get_many(keys, collection=collection) == values
    assert sorted(await store.keys(collection)) == sorted(keys)
    assert await store.keys("Ünï Cödé") == ["key with spaces"]
    await asyncio.sleep(SHORT + 0.1)
    assert await store.get("gone-soon", collection="short") is None
    expected = sorted([*(collection for collection, _, _, ttl in WRITTEN if ttl != SHORT), BULK[0]])
    assert sorted(await store.collections()) == expected


# -- the default constructor over py-key-value's default directory ----------------------------------------


class TestTransparentReads:
    async def test_reads_lists_and_expires(self, tmp_path: Path) -> None:
        upstream_write(tmp_path)
        await check_reads(FileTreeStore(data_directory=tmp_path))

    async def test_writes_and_deletes_leave_no_old_file(self, tmp_path: Path) -> None:
        upstream_write(tmp_path)
        store = FileTreeStore(data_directory=tmp_path)
        clock = [time.time()]
        store.clock = lambda: clock[0]
        # A key at a path of its own (upper case), overwritten with a short TTL: py-key-value's file goes.
        await store.put("Tok.en", {"ours": 1}, collection="mcp-oauth-proxy-tokens", ttl=5)
        assert not (tmp_path / "mcp-oauth-proxy-tokens" / "Tok.en.json").exists()
        assert await store.get("Tok.en", collection="mcp-oauth-proxy-tokens") == {"ours": 1}
        # A key at the shared path: our record replaces py-key-value's document in place.
        await store.put("client-123", {"ours": 2}, collection="mcp-oauth-proxy-clients", ttl=5)
        assert "version" not in document(tmp_path / "mcp-oauth-proxy-clients" / "client-123.json")
        # Deletes: of py-key-value's file alone, and of ours.
        assert await store.delete("key with spaces", collection="Ünï Cödé") is True
        assert await store.delete("key with spaces", collection="Ünï Cödé") is False
        assert not (tmp_path / "Ünï Cödé" / "key with spaces.json").exists()
        assert await store.delete_many(["k1", "K2", "missing"], collection="Bulk") == 2
        assert names_in(tmp_path / "Bulk") == []
        clock[0] += 10  # our copies expired: nothing of py-key-value's comes back
        assert await store.get("Tok.en", collection="mcp-oauth-proxy-tokens") is None
        assert await store.get("client-123", collection="mcp-oauth-proxy-clients") is None
        assert await store.keys("mcp-oauth-proxy-tokens") == []
        reopened = FileTreeStore(data_directory=tmp_path)
        assert await reopened.get_many(["k1", "K2"], collection="Bulk") == [None, None]
        assert await reopened.get("key with spaces", collection="Ünï Cödé") is None

    async def test_listings_have_no_duplicates(self, tmp_path: Path) -> None:
        upstream_write(tmp_path)
        store = FileTreeStore(data_directory=tmp_path)
        await store.put("k1", {"ours": True}, collection="Bulk")
        await store.put("K3", {"ours": True}, collection="Bulk")
        assert sorted(await store.keys("Bulk")) == ["K2", "K3", "k1"]
        assert (tmp_path / path_component("Bulk")).is_dir()  # ours, beside py-key-value's "Bulk"
        assert sorted(await store.collections()).count("Bulk") == 1
        assert await store.get_many(["k1", "K2", "K3"], collection="Bulk") == [{"ours": True}, {"i": 2}, {"ours": True}]

    async def test_destroy_collection_and_destroy_remove_both(self, tmp_path: Path) -> None:
        upstream_write(tmp_path)
        store = FileTreeStore(data_directory=tmp_path)
        await store.put("K3", {"ours": True}, collection="Bulk")
        assert await store.destroy_collection("Bulk") is True
        assert await store.get_many(["k1", "K2", "K3"], collection="Bulk") == [None, None, None]
        assert not (tmp_path / "Bulk").exists()
        assert not (tmp_path / "Bulk-info.json").exists()
        assert "Bulk" not in await store.collections()
        await store.put("mine", {"v": 1}, collection="other")
        await store.put("ours", {"v": 1}, collection="Ünï Cödé")  # beside py-key-value's directory
        assert sorted(await store.keys("Ünï Cödé")) == ["key with spaces", "ours"]
        assert await store.destroy() is True
        assert await store.collections() == []
        assert names_in(tmp_path) == []
        assert (
            await FileTreeStore(data_directory=tmp_path).get("client-123", collection="mcp-oauth-proxy-clients") is None
        )

    async def test_cull_removes_py_key_values_expired_files(self, tmp_path: Path) -> None:
        upstream_write(tmp_path)
        store = FileTreeStore(data_directory=tmp_path)
        store.clock = lambda: time.time() + 3600
        await store.cull()
        assert not (tmp_path / "mcp-oauth-proxy-tokens" / "Tok.en.json").exists()
        assert (tmp_path / "mcp-oauth-proxy-clients" / "client-123.json").exists()

    async def test_conditional_calls_on_py_key_values_entries(self, tmp_path: Path) -> None:
        """ETags of py-key-value's files (shared path and a path of its own); a write leaves one live copy."""
        upstream_write(tmp_path)
        store = FileTreeStore(data_directory=tmp_path)
        before = time.time()
        shared = await store.get_entry("client-123", collection="mcp-oauth-proxy-clients")
        apart = await store.get_entry("Tok.en", collection="mcp-oauth-proxy-tokens")
        assert shared is not None
        assert apart is not None
        assert shared.value == WRITTEN[0][2]
        assert apart.written_at is not None
        assert before - 600 < apart.written_at <= before  # py-key-value's created_at
        assert apart.ttl is not None
        assert 500 < apart.ttl <= 600
        assert not (await store.put_if_absent("Tok.en", {"ours": 0}, collection="mcp-oauth-proxy-tokens"))
        # A TTL refresh keeps the ETag, and moves the entry to our path (one copy).
        refreshed = await store.put_if(
            "Tok.en", KEEP_CURRENT, etag=apart.etag, collection="mcp-oauth-proxy-tokens", ttl=60
        )
        assert refreshed.satisfied
        assert refreshed.resulting_etag == apart.etag
        assert not (tmp_path / "mcp-oauth-proxy-tokens" / "Tok.en.json").exists()
        entry = await store.get_entry("Tok.en", collection="mcp-oauth-proxy-tokens")
        assert entry is not None
        assert (entry.etag, entry.value) == (apart.etag, apart.value)
        assert entry.written_at == pytest.approx(apart.written_at, abs=1e-6)  # the file's mtime, set to created_at
        assert entry.ttl is not None
        assert 55 < entry.ttl <= 60
        # A write in place of py-key-value's document at the shared path, then a delete of one at its own.
        written = await store.put_if("client-123", {"ours": 1}, etag=shared.etag, collection="mcp-oauth-proxy-clients")
        assert written.satisfied
        assert written.resulting_etag != shared.etag
        assert "key" in document(tmp_path / "mcp-oauth-proxy-clients" / "client-123.json")  # our record
        spaces = await store.get_entry("key with spaces", collection="Ünï Cödé")
        assert spaces is not None
        assert not (await store.delete_if("key with spaces", etag=shared.etag, collection="Ünï Cödé")).satisfied
        assert (await store.delete_if("key with spaces", etag=spaces.etag, collection="Ünï Cödé")).satisfied
        assert not (tmp_path / "Ünï Cödé" / "key with spaces.json").exists()
        assert await store.get("key with spaces", collection="Ünï Cödé") is None
        # A write over py-key-value's entry at a path of its own: ours only, afterwards.
        k2 = await store.get_entry("K2", collection="Bulk")
        assert k2 is not None
        assert (await store.put_if("K2", {"ours": 2}, etag=k2.etag, collection="Bulk")).satisfied
        assert not (tmp_path / "Bulk" / "K2.json").exists()
        assert await store.get("K2", collection="Bulk") == {"ours": 2}
        assert sorted(await store.keys("Bulk")) == ["K2", "k1"]

    async def test_without_py_key_value_data_the_native_tree_stays(self, tmp_path: Path) -> None:
        store = FileTreeStore(data_directory=tmp_path)
        await store.setup()
        assert type(store._tree) is tree_module.FileTree  # pyright: ignore[reportPrivateUsage]

    async def test_info_files_in_a_separate_metadata_directory(self, tmp_path: Path) -> None:
        upstream_write(tmp_path / "data", metadata_directory=str(tmp_path / "meta"))
        assert await FileTreeStore(data_directory=tmp_path / "data").get("K2", collection="Bulk") is None
        store = FileTreeStore(data_directory=tmp_path / "data", metadata_directory=tmp_path / "meta")
        assert await store.get("K2", collection="Bulk") == {"i": 2}


# -- FastMCP's OAuth directory: the V1 strategies, same call both sides --------------------------------------


class TestFastMCPDirectory:
    async def test_ours_reads_what_py_key_value_wrote(self, tmp_path: Path) -> None:
        operations: list[dict[str, Any]] = [
            {"op": "put", "collection": collection, "key": f"id-{i}", "value": {"c": collection, "i": i}, "ttl": ttl}
            for collection in FASTMCP_COLLECTIONS
            for i, ttl in enumerate([None, 3600, 1])
        ]
        upstream.run("filetree", {"data_directory": str(tmp_path), "strategies": "filetree-v1"}, operations)
        await asyncio.sleep(1.1)
        store = FileTreeStore(data_directory=tmp_path, **v1_options(tmp_path))
        for collection in FASTMCP_COLLECTIONS:
            values = await store.ttl_many(["id-0", "id-1", "id-2"], collection=collection)
            assert values[0] == ({"c": collection, "i": 0}, None)
            assert values[1][0] == {"c": collection, "i": 1}
            assert values[1][1] is not None
            assert 3570 < values[1][1] <= 3600
            assert values[2] == (None, None)
        assert sorted(await store.collections()) == sorted(FASTMCP_COLLECTIONS)
        await store.put("id-1", {"replaced": True}, collection=FASTMCP_COLLECTIONS[1])
        assert await store.delete("id-0", collection=FASTMCP_COLLECTIONS[0]) is True
        results = upstream.run(
            "filetree",
            {"data_directory": str(tmp_path), "strategies": "filetree-v1"},
            [
                {"op": "get", "collection": FASTMCP_COLLECTIONS[1], "key": "id-1"},
                {"op": "get", "collection": FASTMCP_COLLECTIONS[0], "key": "id-0"},
            ],
        )
        assert results == [{"replaced": True}, None]

    async def test_py_key_value_reads_what_ours_wrote(self, tmp_path: Path) -> None:
        store = FileTreeStore(data_directory=tmp_path, **v1_options(tmp_path))
        for collection in FASTMCP_COLLECTIONS:
            await store.put_many(["id-0", "id-1"], [{"c": collection}, {"t": 1}], collection=collection, ttl=600)
            await store.put("forever", {"c": collection}, collection=collection)
            await store.put("brief", {"c": collection}, collection=collection, ttl=1)
        await asyncio.sleep(1.1)
        operations = [
            {"op": "ttl", "collection": collection, "key": key}
            for collection in FASTMCP_COLLECTIONS
            for key in ("id-0", "forever", "brief")
        ]
        results = upstream.run("filetree", {"data_directory": str(tmp_path), "strategies": "filetree-v1"}, operations)
        for index, collection in enumerate(FASTMCP_COLLECTIONS):
            (value, remaining), forever, brief = results[3 * index : 3 * index + 3]
            assert value == {"c": collection}
            assert 570 < remaining <= 600
            assert forever == [{"c": collection}, None]
            assert brief == [None, None]

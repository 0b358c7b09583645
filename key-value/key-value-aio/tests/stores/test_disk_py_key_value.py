"""DiskStore and MultiDiskStore on the data of the real py-key-value-aio 0.4.x (its own venv: `testing.py_key_value`).

- The default constructor reads what py-key-value's DiskStore and MultiDiskStore wrote, with their TTLs,
  lists it with ours, and leaves no copy of theirs behind when it writes, deletes or destroys a key;
  without such data set-up finds none and the native path runs alone.
- `layout="py-key-value"` writes exactly py-key-value's names, directories and documents (py-key-value
  reads them back), and passes the contract for the names py-key-value keeps apart.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, cast

import pytest
from diskcache import Cache

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.disk import DiskStore, MultiDiskStore
from key_value.shared.compat.layouts.disk import sanitize_filename
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError
from key_value.shared.layouts import LayoutName
from testing import py_key_value as upstream

from ..support.contract import AWKWARD_NAMES, COLLIDING_PAIRS, ContractTests

#: What py-key-value writes first: (collection, key, value, ttl). "2024-logs" and "42" start with a
#: digit, as our own names do, so set-up must find them among ours.
WRITTEN = [
    ("mcp-oauth-proxy-clients", "client-123", {"client_id": "client-123", "scopes": ["a", "b"]}, None),
    ("tokens", "Tok.en", {"access": "x" * 50}, 600),
    ("Ünï Cödé", "key with spaces", {"n": 1.5, "nested": {"deep": [1, None, True]}}, None),
    ("2024-logs", "line", {"v": "log"}, None),
    ("42", "answer", {"v": 42}, 300),
]
BULK = ("Bulk", ["k1", "K2"], [{"i": 1}, {"i": 2}], 300)
#: Collection names whose directories py-key-value sanitizes (a `/`, a reserved name, trailing dots ...).
SANITIZED_COLLECTIONS = ["a/b", "CON", "nul.txt", "dots...", " spaced ", "*?x", "é" * 200, "tab\tnew\nline"]


class RawCache(Protocol):
    def get(self, key: object, default: object = None, *, expire_time: bool = False) -> Any: ...

    def iterkeys(self) -> Any: ...

    def close(self) -> None: ...


def raw(cache: Cache) -> RawCache:
    return cast("RawCache", cache)


def write_upstream(store: str, options: dict[str, Any], extra: list[dict[str, Any]] | None = None) -> list[Any]:
    """py-key-value writes `WRITTEN` and `BULK`, then runs `extra`; the results of `extra`."""
    operations: list[dict[str, Any]] = [
        {"op": "put", "collection": collection, "key": key, "value": value, "ttl": ttl}
        for collection, key, value, ttl in WRITTEN
    ]
    collection, keys, values, ttl = BULK
    operations.append({"op": "put_many", "collection": collection, "keys": keys, "values": values, "ttl": ttl})
    results = upstream.run(store, options, operations + (extra or []))
    return results[len(operations) :]


def names_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def disk_options(directory: Path) -> dict[str, Any]:
    return {"directory": str(directory)}


def multi_options(directory: Path) -> dict[str, Any]:
    return {"base_directory": str(directory)}


def assert_ttl(remaining: float | None, ttl: float, *, tolerance: float = 10) -> None:
    """`remaining` is within `tolerance` seconds below `ttl` (the subprocesses take a second or two)."""
    assert remaining is not None
    assert ttl - tolerance < remaining <= ttl


async def assert_reads_written(store: AsyncKeyValue) -> None:
    """`store` returns what `write_upstream` wrote, with its TTLs."""
    for collection, key, value, ttl in WRITTEN:
        found, remaining = await store.ttl(key, collection=collection)
        assert found == value
        if ttl is None:
            assert remaining is None
        else:
            assert_ttl(remaining, ttl)
    collection, keys, values, ttl = BULK
    assert await store.get_many(keys, collection=collection) == values
    for _, remaining in await store.ttl_many(keys, collection=collection):
        assert_ttl(remaining, ttl)


def make(kind: str, path: Path, layout: LayoutName = "native") -> DiskStore | MultiDiskStore:
    """Our store of `kind` ("disk" or "multidisk", py-key-value driver's names) on `path`."""
    if kind == "disk":
        return DiskStore(directory=path, layout=layout)
    return MultiDiskStore(base_directory=path, layout=layout)


def upstream_options(kind: str, path: Path) -> dict[str, Any]:
    return disk_options(path) if kind == "disk" else multi_options(path)


both = pytest.mark.parametrize("kind", ["disk", "multidisk"])


# -- layout="py-key-value": the contract -------------------------------------------------------------


class TestDiskStoreWithPyKeyValueLayout(ContractTests):
    etag_from_content = True  # py-key-value's documents carry no version: their ETag is a hash of the text

    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[DiskStore]:
        store = DiskStore(directory=tmp_path / "cache", layout="py-key-value")
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, tmp_path: Path) -> dict[str, Any]:
        return {"directory": str(tmp_path / "cache"), "layout": "py-key-value"}

    @pytest.mark.parametrize(("first", "second"), COLLIDING_PAIRS)
    async def test_no_collisions(self, store: AsyncKeyValue, first: tuple[str, str], second: tuple[str, str]) -> None:
        """py-key-value names both `a::b::c`: a read never returns the other's entry, but a write replaces it."""
        if "::".join(first) != "::".join(second):
            await super().test_no_collisions(store, first, second)
            return
        await store.put(first[1], {"who": "first"}, collection=first[0])
        assert await store.get(second[1], collection=second[0]) is None
        await store.put(second[1], {"who": "second"}, collection=second[0])
        assert await store.get(first[1], collection=first[0]) is None
        assert await store.get(second[1], collection=second[0]) == {"who": "second"}


def same_directory(first: str, second: str) -> bool:
    return sanitize_filename(first) == sanitize_filename(second)


class TestMultiDiskStoreWithPyKeyValueLayout(ContractTests):
    etag_from_content = True

    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[MultiDiskStore]:
        store = MultiDiskStore(base_directory=tmp_path / "caches", layout="py-key-value")
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, tmp_path: Path) -> dict[str, Any]:
        return {"base_directory": str(tmp_path / "caches"), "layout": "py-key-value"}

    @pytest.mark.parametrize("name", AWKWARD_NAMES, ids=range(len(AWKWARD_NAMES)))
    async def test_awkward_names(self, store: AsyncKeyValue, name: str) -> None:
        """Every name works but `..`, whose cache py-key-value would put outside the base directory."""
        if sanitize_filename(name) != "..":
            await super().test_awkward_names(store, name)
            return
        with pytest.raises(InvalidKeyError):
            await store.put("key", {"v": 1}, collection=name)
        assert await store.get("key", collection="plain") is None

    @pytest.mark.parametrize(("first", "second"), COLLIDING_PAIRS)
    async def test_no_collisions(self, store: AsyncKeyValue, first: tuple[str, str], second: tuple[str, str]) -> None:
        """Collections py-key-value keeps in one directory: reads tell them apart, a write replaces the other's."""
        if not same_directory(first[0], second[0]) or first[1] != second[1]:
            await super().test_no_collisions(store, first, second)
            return
        await store.put(first[1], {"who": "first"}, collection=first[0])
        assert await store.get(second[1], collection=second[0]) is None
        await store.put(second[1], {"who": "second"}, collection=second[0])
        assert await store.get(first[1], collection=first[0]) is None
        assert await store.get(second[1], collection=second[0]) == {"who": "second"}


class OverPyKeyValueData(ContractTests):
    """The contract on the native layout where py-key-value left entries, so every hook covers both.

    The entries left (`SEEDS`) are in collections of their own, which only the listing test removes first.
    """

    SEEDS: tuple[tuple[str, str], ...] = ()

    async def test_collections_listed(self, store: AsyncKeyValue) -> None:
        for collection, key in self.SEEDS:
            assert await store.delete(key, collection=collection) is True
        await super().test_collections_listed(store)


async def seeded(store: DiskStore | MultiDiskStore, seeder: DiskStore | MultiDiskStore) -> DiskStore | MultiDiskStore:
    """`store`, set up after `seeder` (layout="py-key-value") wrote `OVER_SEEDS`, having found them."""
    async with seeder:
        for collection, key in OVER_SEEDS:
            await seeder.put(key, {"seed": True}, collection=collection)
    assert await store.get("seed", collection="default_collection:") == {"seed": True}  # sets the store up
    assert store._py_key_value is True  # pyright: ignore[reportPrivateUsage]
    return store


#: py-key-value's entries: in directories the contract's collections use too (MultiDiskStore), and one name
#: that starts with a digit as ours do (DiskStore).
OVER_SEEDS = (("default_collection:", "seed"), ("busy:", "seed"), ("many:", "seed"), ("1seed", "seed"))


class TestDiskStoreOverPyKeyValueData(OverPyKeyValueData):
    SEEDS = OVER_SEEDS

    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[DiskStore | MultiDiskStore]:
        directory = tmp_path / "cache"
        store = await seeded(DiskStore(directory=directory), DiskStore(directory=directory, layout="py-key-value"))
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, tmp_path: Path) -> dict[str, Any]:
        return {"directory": str(tmp_path / "cache")}  # finds the seeds at set-up, as the store under test did


class TestMultiDiskStoreOverPyKeyValueData(OverPyKeyValueData):
    SEEDS = OVER_SEEDS

    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[DiskStore | MultiDiskStore]:
        base = tmp_path / "caches"
        store = await seeded(
            MultiDiskStore(base_directory=base), MultiDiskStore(base_directory=base, layout="py-key-value")
        )
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, tmp_path: Path) -> dict[str, Any]:
        return {"base_directory": str(tmp_path / "caches")}


# -- the names and documents themselves ------------------------------------------------------------


def test_directory_names_are_pathvalidates() -> None:
    """Our `sanitize_filename` gives what pathvalidate (in py-key-value's venv) gives, name for name."""
    names = [
        *AWKWARD_NAMES,
        *SANITIZED_COLLECTIONS,
        "COM¹",
        "lpt9.x",
        "CLOCK$",
        ". ",
        ".. ",
        "... ",
        " ",
        "x" * 254 + "é",
    ]
    script = "; ".join(
        (
            "import json, sys",
            "from pathvalidate import sanitize_filename",
            "print(json.dumps([sanitize_filename(name) for name in json.load(sys.stdin)]))",
        )
    )
    done = subprocess.run(
        [str(upstream.python()), "-c", script], input=json.dumps(names), capture_output=True, text=True, check=True
    )
    assert [sanitize_filename(name) for name in names] == json.loads(done.stdout)


async def test_disk_store_writes_py_key_values_names_and_documents(tmp_path: Path) -> None:
    async with DiskStore(directory=tmp_path, layout="py-key-value") as store:
        await store.put("k", {"v": 1}, collection="c", ttl=100)
        await store.put_many(["m"], [{"v": 2}], collection="c")
    cache = Cache(str(tmp_path))
    assert sorted(raw(cache).iterkeys()) == ["c::k", "c::m"]
    stored, expire_time = raw(cache).get("c::k", expire_time=True)
    document = json.loads(stored)
    assert sorted(document) == ["collection", "created_at", "expires_at", "key", "value", "version"]
    assert (document["collection"], document["key"], document["value"], document["version"]) == ("c", "k", {"v": 1}, 1)
    created, expires = (datetime.fromisoformat(document[field]) for field in ("created_at", "expires_at"))
    assert timedelta(seconds=99) < expires - created <= timedelta(seconds=100)
    assert abs(expire_time - expires.timestamp()) < 1
    assert stored == json.dumps(document, sort_keys=True)  # py-key-value's exact text
    assert "expires_at" not in json.loads(raw(cache).get("c::m"))
    cache.close()


async def test_multi_disk_store_writes_py_key_values_directories(tmp_path: Path) -> None:
    async with MultiDiskStore(base_directory=tmp_path, layout="py-key-value") as store:
        for collection in ["plain", *SANITIZED_COLLECTIONS]:
            await store.put("k", {"c": collection}, collection=collection)
        assert sorted(await store.collections()) == sorted(["plain", *SANITIZED_COLLECTIONS])
    expected = sorted(sanitize_filename(name) for name in ["plain", *SANITIZED_COLLECTIONS])
    assert names_in(tmp_path) == expected
    cache = Cache(str(tmp_path / "ab"))  # "a/b", py-key-value's cache directly in its directory
    assert json.loads(raw(cache).get("k"))["collection"] == "a/b"
    cache.close()


def test_unknown_layout_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError):
        DiskStore(directory=tmp_path, layout="py-key-value-0.3")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        MultiDiskStore(base_directory=tmp_path, layout="legacy")  # type: ignore[arg-type]


# -- py-key-value writes, we read ------------------------------------------------------------------


@both
async def test_default_store_reads_py_key_values_data(tmp_path: Path, kind: str) -> None:
    write_upstream(kind, upstream_options(kind, tmp_path))
    async with make(kind, tmp_path) as store:
        await assert_reads_written(store)
        assert await store.get("missing", collection="tokens") is None
        assert sorted(await store.collections()) == sorted([collection for collection, *_ in WRITTEN] + [BULK[0]])
        assert await store.keys("Bulk") == ["K2", "k1"]


@both
async def test_py_key_value_layout_reads_py_key_values_data(tmp_path: Path, kind: str) -> None:
    write_upstream(kind, upstream_options(kind, tmp_path))
    async with make(kind, tmp_path, layout="py-key-value") as store:
        await assert_reads_written(store)
        assert sorted(await store.collections()) == sorted([collection for collection, *_ in WRITTEN] + [BULK[0]])


async def test_multi_disk_store_reads_sanitized_directories(tmp_path: Path) -> None:
    """Collections whose directory name py-key-value sanitized are found, by either layout."""
    operations = [{"op": "put", "collection": name, "key": "k", "value": {"c": name}} for name in SANITIZED_COLLECTIONS]
    upstream.run("multidisk", multi_options(tmp_path), operations)
    for layout in ("native", "py-key-value"):
        async with MultiDiskStore(base_directory=tmp_path, layout=layout) as store:
            assert await store.get_many(["k"] * 2, collection="a/b") == [{"c": "a/b"}] * 2
            for name in SANITIZED_COLLECTIONS:
                assert await store.get("k", collection=name) == {"c": name}
            assert sorted(await store.collections()) == sorted(SANITIZED_COLLECTIONS)


async def test_multi_disk_store_with_a_factory_reads_py_key_values_documents(tmp_path: Path) -> None:
    write_upstream("multidisk", multi_options(tmp_path))
    caches: list[Cache] = []

    def factory(collection: str) -> Cache:
        caches.append(Cache(str(tmp_path / sanitize_filename(collection))))
        return caches[-1]

    async with MultiDiskStore(disk_cache_factory=factory) as store:
        await assert_reads_written(store)
        await store.put("client-123", {"v": "ours"}, collection="mcp-oauth-proxy-clients")
        assert await store.get("client-123", collection="mcp-oauth-proxy-clients") == {"v": "ours"}
    for cache in caches:
        cache.close()


@both
async def test_py_key_values_short_ttl_expires(tmp_path: Path, kind: str) -> None:
    upstream.run(kind, upstream_options(kind, tmp_path), [{"op": "put", "key": "brief", "value": {"v": 1}, "ttl": 2}])
    written = time.time()
    async with make(kind, tmp_path) as store:
        value, remaining = await store.ttl("brief")
        if time.time() - written < 1.5:  # only meaningful when this machine was quick enough to look
            assert value == {"v": 1}
            assert_ttl(remaining, 2, tolerance=1.5)
        await asyncio.sleep(max(0.0, written + 2.3 - time.time()))
        assert await store.get("brief") is None
        assert await store.keys() == []


# -- we write over py-key-value's data: nothing comes back ------------------------------------------


@both
async def test_writes_and_deletes_leave_no_py_key_value_copy(tmp_path: Path, kind: str) -> None:
    write_upstream(kind, upstream_options(kind, tmp_path))
    async with make(kind, tmp_path) as store:
        await store.put("client-123", {"v": "ours"}, collection="mcp-oauth-proxy-clients", ttl=0.5)
        assert await store.delete("Tok.en", collection="tokens") is True
        assert await store.delete("Tok.en", collection="tokens") is False
        await store.put_many(["k1"], [{"i": "ours"}], collection="Bulk")
        assert await store.delete_many(["K2", "k1", "K2"], collection="Bulk") == 2
        await store.put("line", {"v": "ours"}, collection="2024-logs")
        await asyncio.sleep(0.7)
        assert await store.get("client-123", collection="mcp-oauth-proxy-clients") is None  # ours expired
        assert await store.get("line", collection="2024-logs") == {"v": "ours"}
    reads = [
        {"op": "get", "collection": "mcp-oauth-proxy-clients", "key": "client-123"},
        {"op": "get", "collection": "tokens", "key": "Tok.en"},
        {"op": "get_many", "collection": "Bulk", "keys": ["k1", "K2"]},
        {"op": "get", "collection": "Ünï Cödé", "key": "key with spaces"},
    ]
    assert upstream.run(kind, upstream_options(kind, tmp_path), reads) == [None, None, [None, None], WRITTEN[2][2]]


@both
async def test_listings_are_the_union(tmp_path: Path, kind: str) -> None:
    write_upstream(kind, upstream_options(kind, tmp_path))
    async with make(kind, tmp_path) as store:
        await store.put_many(["K2", "k3"], [{"i": 2}, {"i": 3}], collection="Bulk")
        await store.put("new", {"v": 1}, collection="fresh")
        assert sorted(await store.keys("Bulk")) == ["K2", "k1", "k3"]
        assert len(await store.keys("Bulk", limit=2)) == 2
        collections = await store.collections()
        assert sorted(collections) == sorted([collection for collection, *_ in WRITTEN] + [BULK[0], "fresh"])
        assert len(await store.collections(limit=3)) == 3


@both
async def test_destroy_removes_both(tmp_path: Path, kind: str) -> None:
    write_upstream(kind, upstream_options(kind, tmp_path))
    async with make(kind, tmp_path) as store:
        await store.put("k", {"v": 1}, collection="tokens")
        assert await store.destroy_collection("tokens") is True
        assert await store.keys("tokens") == []
        assert await store.get("Tok.en", collection="tokens") is None
        assert await store.destroy_collection("tokens") is False
        await store.put("k", {"v": 1}, collection="fresh")
        assert await store.destroy() is True
        assert await store.collections() == []
        assert await store.get("client-123", collection="mcp-oauth-proxy-clients") is None
        assert await store.destroy() is False
        await store.put("again", {"v": 2}, collection="tokens")
        assert await store.get("again", collection="tokens") == {"v": 2}
    reads = [{"op": "get", "collection": collection, "key": key} for collection, key, *_ in WRITTEN]
    assert upstream.run(kind, upstream_options(kind, tmp_path), reads) == [None] * len(WRITTEN)


@both
async def test_without_py_key_value_data_the_native_path_runs_alone(tmp_path: Path, kind: str) -> None:
    async with make(kind, tmp_path) as store:
        await store.put("k", {"v": 1}, collection="2024-logs")
        await store.put("k", {"v": 1}, collection="42")
    async with make(kind, tmp_path) as reopened:
        assert await reopened.get("k", collection="42") == {"v": 1}
        assert reopened._py_key_value is False  # pyright: ignore[reportPrivateUsage]


async def test_disk_store_finds_py_key_value_names_among_its_own(tmp_path: Path) -> None:
    """py-key-value's names that start with a digit sort among ours; set-up still finds them."""
    async with DiskStore(directory=tmp_path) as store:
        await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}], collection="x" * 42)
        await store.put("a", {"v": 3}, collection=":" + "y" * 41)  # native names that start `42::`
    upstream.run("disk", disk_options(tmp_path), [{"op": "put", "collection": "42", "key": "k", "value": {"v": 4}}])
    async with DiskStore(directory=tmp_path) as store:
        assert await store.get("k", collection="42") == {"v": 4}
        assert await store.get("a", collection=":" + "y" * 41) == {"v": 3}
        assert sorted(await store.collections()) == sorted(["x" * 42, ":" + "y" * 41, "42"])


# -- we write with layout="py-key-value", py-key-value reads ----------------------------------------


@both
async def test_py_key_value_reads_what_our_py_key_value_layout_wrote(tmp_path: Path, kind: str) -> None:
    async with make(kind, tmp_path, layout="py-key-value") as store:
        for collection, key, value, ttl in WRITTEN:
            await store.put(key, value, collection=collection, ttl=ttl)
        collection, keys, values, ttl = BULK
        await store.put_many(keys, values, collection=collection, ttl=ttl)
        await store.put("brief", {"v": 1}, ttl=0.5)
    await asyncio.sleep(0.6)
    reads: list[dict[str, Any]] = [{"op": "ttl", "collection": c, "key": k} for c, k, *_ in WRITTEN]
    reads += [{"op": "get_many", "collection": BULK[0], "keys": BULK[1]}, {"op": "get", "key": "brief"}]
    results = upstream.run(kind, upstream_options(kind, tmp_path), reads)
    for (_, _, value, ttl), (found, remaining) in zip(WRITTEN, results, strict=False):
        assert found == value
        if ttl is None:
            assert remaining is None
        else:
            assert_ttl(remaining, ttl)
    assert results[len(WRITTEN) :] == [BULK[2], None]


@both
async def test_rolling_upgrade_shares_one_directory(tmp_path: Path, kind: str) -> None:
    """Old and new processes on one directory: each sees the other's writes and deletes."""
    async with make(kind, tmp_path, layout="py-key-value") as store:
        await store.put("shared", {"by": "us"}, collection="c")
        await store.put("doomed", {"by": "us"}, collection="c")
        results = upstream.run(
            kind,
            upstream_options(kind, tmp_path),
            [
                {"op": "get", "collection": "c", "key": "shared"},
                {"op": "delete", "collection": "c", "key": "doomed"},
                {"op": "put", "collection": "c", "key": "theirs", "value": {"by": "them"}, "ttl": 60},
            ],
        )
        assert results == [{"by": "us"}, True, None]
        assert await store.get("doomed", collection="c") is None
        value, remaining = await store.ttl("theirs", collection="c")
        assert value == {"by": "them"}
        assert_ttl(remaining, 60)
        assert sorted(await store.keys("c")) == ["shared", "theirs"]


async def test_py_key_value_reads_a_factorys_caches_and_the_base_directorys(tmp_path: Path) -> None:
    """With a factory, documents go under the raw keys of its caches; "." is the base directory itself."""
    caches: list[Cache] = []

    def factory(collection: str) -> Cache:
        caches.append(Cache(str(tmp_path / sanitize_filename(collection))))
        return caches[-1]

    async with MultiDiskStore(disk_cache_factory=factory, layout="py-key-value") as store:
        await store.put("k", {"v": "factory"}, collection="My Coll", ttl=100)
        assert await store.keys("My Coll") == ["k"]
    for cache in caches:
        cache.close()
    async with MultiDiskStore(base_directory=tmp_path, layout="py-key-value") as store:
        await store.put("k", {"v": "base"}, collection=".")
        with pytest.raises(InvalidKeyError):
            await store.put("k", {"v": "parent"}, collection="..")
    reads = [{"op": "ttl", "collection": "My Coll", "key": "k"}, {"op": "get", "collection": ".", "key": "k"}]
    (value, remaining), base = upstream.run("multidisk", multi_options(tmp_path), reads)
    assert value == {"v": "factory"}
    assert_ttl(remaining, 100)
    assert base == {"v": "base"}
    async with MultiDiskStore(base_directory=tmp_path) as store:  # the native layout finds both
        assert sorted(await store.collections()) == [".", "My Coll"]

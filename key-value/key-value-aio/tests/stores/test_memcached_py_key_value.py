"""MemcachedStore with items of the real py-key-value-aio 0.4.x (run in its own venv, `testing.py_key_value`).

- The default layout reads what py-key-value's default store wrote (`collection::key`), with its
  TTLs, and leaves no old item behind when it writes or deletes a key.
- `layout="py-key-value"` (alone, or with `MemcachedV1KeySanitizationStrategy`, as FastMCP passes it)
  writes exactly py-key-value's items, and passes the contract for the names they can hold.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from key_value.aio.conditional import ABSENT, ANY, KEEP_CURRENT
from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.memcached import MemcachedStore, MemcachedV1KeySanitizationStrategy, py_key_value
from key_value.aio.stores.memcached.py_key_value import MARKER
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError
from key_value.shared.layouts.memcached import NATIVE_MEMCACHED_LAYOUT
from key_value.shared.records import encode_record
from testing import py_key_value as upstream
from testing.servers._round_trips import RoundTripCounter
from testing.servers.memcached_server import MemcachedServer, start_memcached

from ..support.contract import AWKWARD_NAMES, COLLIDING_PAIRS, ContractTests

#: A TTL that outlives the driver's exit but not a short sleep.
SHORT = 3
#: What py-key-value writes first: (collection, key, value, ttl).
WRITTEN = [
    ("mcp-oauth-proxy-clients", "client-123", {"client_id": "client-123", "scopes": ["a", "b"]}, None),
    ("mcp-oauth-proxy-tokens", "Tok:en", {"access": "x" * 50}, 600),
    ("ünï-cödé", "kéy/with%odd#chars", {"n": 1.5, "nested": {"deep": [1, None, True]}}, None),
    ("short", "gone-soon", {"v": 1}, SHORT),
]
BULK = ("bulk", ["k1", "k2"], [{"i": 1}, {"i": 2}], 300)
LONG_KEY = "long-" + "x" * 300  # hashed by MemcachedV1KeySanitizationStrategy
_REFUSED = re.compile("[\\s\x00-\x1f\x7f-\x9f]")


def fits(collection: str, key: str, *, hashed: bool = False) -> bool:
    """Whether py-key-value's memcached layout can name the entry (with the V1 strategy when `hashed`)."""
    joined = f"{collection}::{key}"
    if hashed and len(joined) > 240:
        return "::" not in collection
    return "::" not in collection and len(joined.encode()) <= 250 and not _REFUSED.search(joined)


def theirs(server: MemcachedServer, **options: Any) -> dict[str, Any]:
    return {"host": server.host, "port": server.port, **options}


def upstream_write(server: MemcachedServer, *extra: dict[str, Any], **options: Any) -> None:
    operations: list[dict[str, Any]] = [*extra] + [
        {"op": "put", "collection": collection, "key": key, "value": value, "ttl": ttl}
        for collection, key, value, ttl in WRITTEN
    ]
    collection, keys, values, ttl = BULK
    operations.append({"op": "put_many", "collection": collection, "keys": keys, "values": values, "ttl": ttl})
    upstream.run("memcached", theirs(server, **options), operations)


def raw_item(server: MemcachedServer, name: bytes) -> tuple[int, bytes] | None:
    """(client flags, data) of the item, or None if the server has no such item."""
    reply = server.command(b"get " + name, until=b"END\r\n")
    if reply == b"END\r\n":
        return None
    header, data = reply.split(b"\r\n")[:2]
    return int(header.split()[2]), data


async def check_reads(store: MemcachedStore) -> None:
    """What `upstream_write` wrote reads back from `store`: values, TTLs (within 30 s), then expiry."""
    for collection, key, value, ttl in WRITTEN:
        read, remaining = await store.ttl(key, collection=collection)
        assert read == value, (collection, key)
        if ttl is None:
            assert remaining is None
        else:
            assert remaining is not None
            assert ttl - 30 < remaining <= ttl
    collection, keys, values, ttl = BULK
    assert await store.get_many([*keys, "missing"], collection=collection) == [*values, None]
    for (read, remaining), value in zip(await store.ttl_many(keys, collection=collection), values, strict=True):
        assert read == value
        assert remaining is not None
        assert ttl - 30 < remaining <= ttl
    await asyncio.sleep(SHORT + 1.1)  # py-key-value gives memcached one whole second; its clock ticks once a second
    assert await store.get("gone-soon", collection="short") is None


# -- layout="py-key-value": the contract --------------------------------------------------------------------


class PyKeyValueContract(ContractTests):
    hashed = False

    async def test_conditional_write_seen_by_plain_reads(self, store: AsyncKeyValue) -> None:
        """A collection holding `::` is refused (see `test_no_collisions`); elsewhere the contract's check runs."""
        assert isinstance(store, MemcachedStore)
        with pytest.raises(InvalidArgumentError, match="::"):
            await store.put_if("a/b::c", {"v": 1}, etag=ABSENT, collection="x::y")
        with pytest.raises(InvalidArgumentError, match="::"):
            await store.delete_if("a/b::c", etag=ABSENT, collection="x::y")
        value: dict[str, Any] = {"nested": {"list": [1, 2.5, "three", None, True]}, "big": 2**70, "u": "é🙂"}
        assert (await store.put_if("a/b::c", value, etag=ABSENT, collection="x-y")).satisfied
        assert await store.get("a/b::c", collection="x-y") == value
        entry = await store.get_entry("a/b::c", collection="x-y")
        assert entry is not None
        assert (await store.put_if("a/b::c", {"v": 2}, etag=entry.etag, condition=ANY, collection="x-y")).satisfied
        assert await store.get("a/b::c", collection="x-y") == {"v": 2}

    @pytest.mark.parametrize("name", AWKWARD_NAMES, ids=range(len(AWKWARD_NAMES)))
    async def test_awkward_names(self, store: AsyncKeyValue, name: str) -> None:
        """Names py-key-value's items can hold work; the others are refused before anything is written."""
        if fits(name, name, hashed=self.hashed) and fits(name, "other", hashed=self.hashed):
            await super().test_awkward_names(store, name)
            return
        with pytest.raises((InvalidKeyError, InvalidArgumentError)):
            await store.put(name, {"name": name}, collection=name)
        assert await store.get("other", collection="plain") is None

    @pytest.mark.parametrize(("first", "second"), COLLIDING_PAIRS)
    async def test_no_collisions(self, store: AsyncKeyValue, first: tuple[str, str], second: tuple[str, str]) -> None:
        """`a` + `b::c` and `a::b` + `c` share py-key-value's item: no write or delete in `a::b`."""
        if "::" not in first[0] + second[0]:
            await super().test_no_collisions(store, first, second)
            return
        await store.put(first[1], {"who": "first"}, collection=first[0])
        assert await store.get(second[1], collection=second[0]) is None  # the document names the first
        with pytest.raises(InvalidArgumentError, match="::"):
            await store.put(second[1], {"who": "second"}, collection=second[0])
        with pytest.raises(InvalidArgumentError, match="::"):
            await store.delete(second[1], collection=second[0])
        assert await store.get(first[1], collection=first[0]) == {"who": "first"}


class TestMemcachedStoreWithPyKeyValueLayout(PyKeyValueContract):
    @pytest.fixture
    async def store(self, memcached_server: MemcachedServer) -> AsyncIterator[MemcachedStore]:
        memcached_server.flush()
        store = MemcachedStore(host=memcached_server.host, port=memcached_server.port, layout="py-key-value")
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, memcached_server: MemcachedServer) -> dict[str, Any]:
        return {"host": memcached_server.host, "port": memcached_server.port, "layout": "py-key-value"}


class TestMemcachedStoreWithV1Strategy(PyKeyValueContract):
    hashed = True

    @pytest.fixture
    async def store(self, memcached_server: MemcachedServer) -> AsyncIterator[MemcachedStore]:
        memcached_server.flush()
        store = MemcachedStore(
            host=memcached_server.host,
            port=memcached_server.port,
            key_sanitization_strategy=MemcachedV1KeySanitizationStrategy(),
        )
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, memcached_server: MemcachedServer) -> dict[str, Any]:
        """The race's other processes: py-key-value's layout, whose items are the V1 strategy's for short names."""
        return {"host": memcached_server.host, "port": memcached_server.port, "layout": "py-key-value"}


# -- cross-package ------------------------------------------------------------------------------------------


class TestPyKeyValueLayout:
    async def test_items_are_exactly_py_key_values(self, memcached_server: MemcachedServer) -> None:
        memcached_server.flush()
        async with MemcachedStore(
            host=memcached_server.host, port=memcached_server.port, layout="py-key-value"
        ) as store:
            await store.put("alice", {"age": 30}, collection="users", ttl=60)
            await store.put("bob", {"age": 40}, collection="users")
        found = raw_item(memcached_server, b"users::alice")
        assert found is not None
        flags, data = found
        assert flags == 0  # aiomcache, py-key-value's client, refuses items with flags
        document = json.loads(data)
        assert sorted(document) == ["collection", "created_at", "expires_at", "key", "value", "version"]
        assert (document["collection"], document["key"], document["value"], document["version"]) == (
            "users",
            "alice",
            {"age": 30},
            1,
        )
        assert list(json.loads(data)) == sorted(document)  # sorted keys, as py-key-value dumps them
        found = raw_item(memcached_server, b"users::bob")
        assert found is not None
        assert "expires_at" not in json.loads(found[1])
        assert raw_item(memcached_server, NATIVE_MEMCACHED_LAYOUT.item_key("users", "alice")) is None

    @pytest.mark.parametrize("v1", [False, True], ids=["default", "v1-strategy"])
    async def test_py_key_value_reads_what_ours_writes(self, memcached_server: MemcachedServer, v1: bool) -> None:
        memcached_server.flush()
        options: dict[str, Any] = {"layout": "py-key-value"}
        if v1:
            options = {"key_sanitization_strategy": MemcachedV1KeySanitizationStrategy()}
        written = [*WRITTEN, *([("long", LONG_KEY, {"long": True}, 120)] if v1 else [])]
        async with MemcachedStore(host=memcached_server.host, port=memcached_server.port, **options) as store:
            for collection, key, value, ttl in written:
                await store.put(key, value, collection=collection, ttl=ttl)
            await store.put_many(BULK[1], BULK[2], collection=BULK[0], ttl=BULK[3])
            await asyncio.sleep(SHORT + 1.1)
            driver = theirs(memcached_server, **({"strategies": "memcached-v1"} if v1 else {}))
            results = upstream.run(
                "memcached",
                driver,
                [{"op": "ttl", "collection": collection, "key": key} for collection, key, _, _ in written]
                + [{"op": "get_many", "collection": BULK[0], "keys": BULK[1]}],
            )
            for (_, _, value, ttl), (read, remaining) in zip(written, results[:-1], strict=True):
                if ttl == SHORT:
                    assert (read, remaining) == (None, None)
                elif ttl is None:
                    assert (read, remaining) == (value, None)
                else:
                    assert read == value
                    assert ttl - 30 < remaining <= ttl
            assert results[-1] == BULK[2]
            assert await store.delete("client-123", collection="mcp-oauth-proxy-clients") is True
            [gone] = upstream.run(
                "memcached", driver, [{"op": "get", "collection": "mcp-oauth-proxy-clients", "key": "client-123"}]
            )
            assert gone is None

    async def test_py_key_value_reads_a_refreshed_document(self, memcached_server: MemcachedServer) -> None:
        """A TTL refresh keeps the ETag in the document (`etag`), which py-key-value's reader ignores."""
        memcached_server.flush()
        async with MemcachedStore(
            host=memcached_server.host, port=memcached_server.port, layout="py-key-value"
        ) as store:
            await store.put("alice", {"age": 30}, collection="users", ttl=60)
            entry = await store.get_entry("alice", collection="users")
            assert entry is not None
            refreshed = await store.put_if("alice", KEEP_CURRENT, etag=entry.etag, collection="users", ttl=600)
            assert refreshed.resulting_etag == entry.etag
        found = raw_item(memcached_server, b"users::alice")
        assert found is not None
        assert json.loads(found[1])["etag"] == entry.etag
        [(value, remaining)] = upstream.run(
            "memcached", theirs(memcached_server), [{"op": "ttl", "collection": "users", "key": "alice"}]
        )
        assert value == {"age": 30}
        assert 570 < remaining <= 600

    @pytest.mark.parametrize("v1", [False, True], ids=["default", "v1-strategy"])
    async def test_ours_reads_what_py_key_value_writes(self, memcached_server: MemcachedServer, v1: bool) -> None:
        memcached_server.flush()
        options: dict[str, Any] = {"layout": "py-key-value"}
        if v1:
            options = {"key_sanitization_strategy": MemcachedV1KeySanitizationStrategy()}
            long_put = {"op": "put", "collection": "long", "key": LONG_KEY, "value": {"long": True}}
            upstream_write(memcached_server, long_put, strategies="memcached-v1")
        else:
            upstream_write(memcached_server)
        async with MemcachedStore(host=memcached_server.host, port=memcached_server.port, **options) as store:
            if v1:
                assert await store.get(LONG_KEY, collection="long") == {"long": True}
            await check_reads(store)
            assert await store.delete_many(["k1", "k2", "missing"], collection="bulk") == 2
            assert await store.get_many(["k1", "k2"], collection="bulk") == [None, None]


class TestTransparentReads:
    @pytest.fixture
    async def store(self, memcached_server: MemcachedServer) -> AsyncIterator[MemcachedStore]:
        memcached_server.flush()
        store = MemcachedStore(host=memcached_server.host, port=memcached_server.port)
        yield store
        await store.close()

    async def test_reads_py_key_values_items(self, store: MemcachedStore, memcached_server: MemcachedServer) -> None:
        upstream_write(memcached_server)
        await check_reads(store)

    async def test_writes_and_deletes_leave_no_old_item(
        self, store: MemcachedStore, memcached_server: MemcachedServer
    ) -> None:
        upstream_write(memcached_server)
        await store.put("Tok:en", {"ours": 1}, collection="mcp-oauth-proxy-tokens", ttl=1)
        assert raw_item(memcached_server, b"mcp-oauth-proxy-tokens::Tok:en") is None
        await store.put_many(["k1"], [{"ours": 2}], collection="bulk", ttl=1)
        assert raw_item(memcached_server, b"bulk::k1") is None
        assert await store.get_many(["k1", "k2"], collection="bulk") == [{"ours": 2}, {"i": 2}]
        assert await store.delete("client-123", collection="mcp-oauth-proxy-clients") is True
        assert await store.delete("client-123", collection="mcp-oauth-proxy-clients") is False
        assert raw_item(memcached_server, b"mcp-oauth-proxy-clients::client-123") is None
        assert await store.delete_many(["k2", "missing"], collection="bulk") == 1
        assert raw_item(memcached_server, b"bulk::k2") is None
        await asyncio.sleep(2.1)  # our copies expired: nothing of py-key-value's comes back
        assert await store.get("Tok:en", collection="mcp-oauth-proxy-tokens") is None
        assert await store.get_many(["k1", "k2"], collection="bulk") == [None, None]
        results = upstream.run(
            "memcached",
            theirs(memcached_server),
            [
                {"op": "get", "collection": "mcp-oauth-proxy-tokens", "key": "Tok:en"},
                {"op": "get", "collection": "mcp-oauth-proxy-clients", "key": "client-123"},
            ],
        )
        assert results == [None, None]

    async def test_conditional_calls_on_py_key_values_items(
        self, store: MemcachedStore, memcached_server: MemcachedServer
    ) -> None:
        """An entry only py-key-value's item holds has that item's CAS unique as ETag; a conditional write
        or delete leaves one live copy, ours (or none)."""
        upstream_write(memcached_server)
        clients = "mcp-oauth-proxy-clients"
        entry = await store.get_entry("client-123", collection=clients)
        assert entry is not None
        assert entry.value == WRITTEN[0][2]
        stale = await store.put_if("client-123", {"ours": 0}, etag=entry.etag + "0", collection=clients)
        assert not stale.satisfied
        assert (stale.actual_etag, stale.value) == (entry.etag, WRITTEN[0][2])
        written = await store.put_if("client-123", {"ours": 1}, etag=entry.etag, collection=clients)
        assert written.satisfied
        assert raw_item(memcached_server, b"mcp-oauth-proxy-clients::client-123") is None
        ours = await store.get_entry("client-123", collection=clients)
        assert ours is not None
        assert (ours.value, ours.etag, ours.ttl) == ({"ours": 1}, written.resulting_etag, None)
        tokens = "mcp-oauth-proxy-tokens"
        token = await store.get_entry("Tok:en", collection=tokens)
        assert token is not None
        refreshed = await store.put_if("Tok:en", KEEP_CURRENT, etag=token.etag, collection=tokens, ttl=1000)
        assert (refreshed.satisfied, refreshed.resulting_etag) == (True, token.etag)
        assert raw_item(memcached_server, b"mcp-oauth-proxy-tokens::Tok:en") is None
        after = await store.get_entry("Tok:en", collection=tokens)
        assert after is not None
        assert (after.value, after.etag) == (token.value, token.etag)
        assert after.ttl is not None
        assert 990 < after.ttl <= 1000
        odd = await store.get_entry("kéy/with%odd#chars", collection="ünï-cödé")
        assert odd is not None
        assert (await store.delete_if("kéy/with%odd#chars", etag=odd.etag, collection="ünï-cödé")).satisfied
        assert raw_item(memcached_server, "ünï-cödé::kéy/with%odd#chars".encode()) is None
        assert await store.get("kéy/with%odd#chars", collection="ünï-cödé") is None
        assert not await store.put_if_absent("k1", {"ours": 2}, collection="bulk")  # py-key-value's is live
        assert await store.get("k1", collection="bulk") == {"i": 1}

    async def test_delete_counts_live_py_key_value_items_only(
        self, store: MemcachedStore, memcached_server: MemcachedServer
    ) -> None:
        upstream_write(memcached_server)
        store.clock = lambda: time.time() + 1000  # py-key-value's 600 s token has expired
        assert await store.delete_many(["client-123", "Tok:en"], collection="mcp-oauth-proxy-clients") == 1
        assert await store.delete("Tok:en", collection="mcp-oauth-proxy-tokens") is False
        assert raw_item(memcached_server, b"mcp-oauth-proxy-tokens::Tok:en") is None

    @pytest.mark.parametrize("theirs_there", [False, True], ids=["none", "py-key-value-items"])
    async def test_round_trips(self, memcached_server: MemcachedServer, theirs_there: bool) -> None:
        """Hits and writes cost one round trip each; a miss costs a second one only while the server held
        py-key-value's items when the store was set up."""
        memcached_server.flush()
        if theirs_there:
            upstream_write(memcached_server)
        with RoundTripCounter(memcached_server.port) as proxy:
            store = MemcachedStore(host=memcached_server.host, port=proxy.port)
            await store.put("warm-up", {"v": 0})
            before = proxy.requests
            await store.put("key", {"v": 1}, ttl=60)
            await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}])
            await store.get("key")
            await store.get_many(["a", "b"])
            assert proxy.requests - before == 4
            before = proxy.requests
            await store.get("missing")
            await store.get_many(["a", "missing"])
            assert proxy.requests - before == (4 if theirs_there else 2)
            await store.close()

    async def test_a_server_without_py_key_value_items_is_marked(self, memcached_server: MemcachedServer) -> None:
        """The look found none: it leaves a marker, and later stores trust it rather than look again."""
        memcached_server.flush()
        foreign = b"not::a-document"
        assert memcached_server.command(b"set %s 0 0 2\r\nhi" % foreign) == b"STORED\r\n"
        async with MemcachedStore(host=memcached_server.host, port=memcached_server.port) as store:
            await store.put("a", {"v": 1}, collection="c")
            assert store._reads_py_key_value is False  # pyright: ignore[reportPrivateUsage]
        assert raw_item(memcached_server, MARKER) == (0, b"none")
        assert raw_item(memcached_server, foreign) == (0, b"hi")  # foreign items are left alone
        upstream.run("memcached", theirs(memcached_server), [{"op": "put", "collection": "c", "key": "b", "value": {}}])
        async with MemcachedStore(host=memcached_server.host, port=memcached_server.port) as again:
            assert await again.get("b", collection="c") is None
        async with MemcachedStore(
            host=memcached_server.host, port=memcached_server.port, layout="py-key-value"
        ) as moved:
            assert await moved.get("b", collection="c") == {}
        memcached_server.command(b"delete " + MARKER)  # evicted, say: the next store looks again
        async with MemcachedStore(host=memcached_server.host, port=memcached_server.port) as looks:
            assert await looks.get("b", collection="c") == {}

    @pytest.mark.parametrize(("limit", "reads"), [(3, True), (4, False)])
    async def test_the_look_stops_at_its_limit(
        self, memcached_server: MemcachedServer, monkeypatch: pytest.MonkeyPatch, limit: int, reads: bool
    ) -> None:
        """Past the limit of `::` names it assumes py-key-value's items are there, and drops the rest of the
        dump with its connection: every later request still gets its own reply."""
        memcached_server.flush()
        for index in range(3):
            assert memcached_server.command(b"set x::%d 0 0 1\r\n%d" % (index, index)) == b"STORED\r\n"
        for index in range(2000):  # a dump longer than one read
            name = b"kv:pad:%d" % index
            assert memcached_server.command(b"set %s 0 0 1\r\n." % name) == b"STORED\r\n"
        monkeypatch.setattr(py_key_value, "_LOOK_LIMIT", limit)
        async with MemcachedStore(host=memcached_server.host, port=memcached_server.port) as store:
            await store.put("a", {"v": 1})
            assert store._reads_py_key_value is reads  # pyright: ignore[reportPrivateUsage]
            for index in range(20):
                await store.put(f"k{index}", {"i": index})
                assert await store.get(f"k{index}") == {"i": index}
        assert (raw_item(memcached_server, MARKER) is None) is reads

    async def test_without_the_crawler_py_key_values_items_are_read(self, tmp_path: Path) -> None:
        """A server that cannot list its items (`-o no_lru_crawler`) is read as if it held some."""
        server = start_memcached(tmp_path / "memcached", "-o", "no_lru_crawler")
        try:
            upstream_write(server)
            async with MemcachedStore(host=server.host, port=server.port) as store:
                assert await store.get("client-123", collection="mcp-oauth-proxy-clients") == WRITTEN[0][2]
                assert store._reads_py_key_value is True  # pyright: ignore[reportPrivateUsage]
            assert raw_item(server, MARKER) is None
        finally:
            server.stop()

    async def test_names_py_key_value_could_not_hold_are_not_looked_up(self, store: MemcachedStore) -> None:
        await store.put("with space", {"v": 1}, collection="a::b")
        assert await store.get("with space", collection="a::b") == {"v": 1}
        assert await store.get("x" * 300) is None
        assert await store.delete("with space", collection="a::b") is True


async def test_records_of_earlier_versions_with_a_strategy_are_read(memcached_server: MemcachedServer) -> None:
    """With `key_sanitization_strategy=` this store once wrote its own records under py-key-value's names."""
    memcached_server.flush()
    record = encode_record('{"v":1}', None, collection="c", key="k").encode()
    assert memcached_server.command(b"set c::k 0 0 %d\r\n%s" % (len(record), record)) == b"STORED\r\n"
    strategy = MemcachedV1KeySanitizationStrategy()
    async with MemcachedStore(
        host=memcached_server.host, port=memcached_server.port, key_sanitization_strategy=strategy
    ) as store:
        assert await store.get("k", collection="c") == {"v": 1}
        await store.put("k", {"v": 2}, collection="c")
        found = raw_item(memcached_server, b"c::k")
        assert found is not None
        assert json.loads(found[1])["version"] == 1  # now py-key-value's document

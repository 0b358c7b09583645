"""RedisStore and ValkeyStore with the data of the real py-key-value-aio 0.4.x (its own venv: `testing.py_key_value`).

- The default (native) layout reads what py-key-value wrote, with its server TTLs, and leaves no old
  copy behind when it writes or deletes a key; with no such data it does exactly what it did before.
- `layout="py-key-value"` writes what py-key-value reads (and passes the whole contract).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from key_value.aio.conditional import ABSENT, ANY, KEEP_CURRENT
from key_value.aio.migrate import CopyReport, copy_entries
from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores._resp.py_key_value import MARKER
from key_value.aio.stores.redis import RedisStore
from key_value.aio.stores.valkey import ValkeyStore
from key_value.shared.errors import InvalidArgumentError
from testing import py_key_value as upstream
from testing.servers._resp import RespServer

from ..support.contract import ContractTests
from ..support.resp_behaviour import server_key

RespStore = RedisStore | ValkeyStore


class PyKeyValueLayoutContract(ContractTests):
    """The contract on `layout="py-key-value"`, which cannot hold a collection named with `::`."""

    refused_in_collections = ("::",)
    etag_from_content = True

    async def test_conditional_write_seen_by_plain_reads(self, store: AsyncKeyValue) -> None:
        """The contract's test (its collection `x::y` is refused here, writing nothing) on `x:y`."""
        assert isinstance(store, RespStore)
        with pytest.raises(InvalidArgumentError):
            await store.put_if("a/b::c", {"v": 1}, etag=ABSENT, collection="x::y")
        value: dict[str, Any] = {"nested": {"list": [1, 2.5, "three", None, True]}, "big": 2**70, "u": "é🙂"}
        assert (await store.put_if("a/b::c", value, etag=ABSENT, collection="x:y")).satisfied
        assert await store.get("a/b::c", collection="x:y") == value
        assert await store.get_many(["a/b::c"], collection="x:y") == [value]
        entry = await store.get_entry("a/b::c", collection="x:y")
        assert entry is not None
        assert entry.value == value
        assert (await store.put_if("a/b::c", {"v": 2}, etag=entry.etag, condition=ANY, collection="x:y")).satisfied
        assert await store.get("a/b::c", collection="x:y") == {"v": 2}
        assert await store.delete("a/b::c", collection="x:y") is True


class TestRedisStoreWithPyKeyValueLayout(PyKeyValueLayoutContract):
    @pytest.fixture
    async def store(self, redis_server: RespServer) -> AsyncIterator[RedisStore]:
        redis_server.flush()
        store = RedisStore(url=redis_server.url, layout="py-key-value")
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, redis_server: RespServer) -> dict[str, Any]:
        return {"url": redis_server.url, "layout": "py-key-value"}


class TestValkeyStoreWithPyKeyValueLayout(PyKeyValueLayoutContract):
    @pytest.fixture
    async def store(self, valkey_node: RespServer) -> AsyncIterator[ValkeyStore]:
        valkey_node.flush()
        store = ValkeyStore(host=valkey_node.host, port=valkey_node.port, layout="py-key-value")
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, valkey_node: RespServer) -> dict[str, Any]:
        # GLIDE gives up on a reply after 250 ms by default; 8 racers on 2 busy cores reach that
        return {"host": valkey_node.host, "port": valkey_node.port, "layout": "py-key-value", "timeout": 10}


#: What py-key-value writes first: (collection, key, value, ttl).
WRITTEN = [
    ("mcp-oauth-proxy-clients", "client-123", {"client_id": "client-123", "scopes": ["a", "b"]}, None),
    ("mcp-oauth-proxy-tokens", "tok", {"access": "x" * 50}, 600),
    ("ünï cödé", "key with spaces", {"n": 1.5, "nested": {"deep": [1, None, True]}}, None),
]


class RespPyKeyValueData:
    """Cross-package tests; subclasses say which server and how each library opens it."""

    kind: str

    @pytest.fixture
    def node(self) -> RespServer:
        raise NotImplementedError

    def ours(self, node: RespServer, **options: Any) -> RespStore:
        raise NotImplementedError

    def theirs(self, node: RespServer) -> dict[str, Any]:
        raise NotImplementedError

    def upstream_write(self, node: RespServer) -> None:
        operations: list[dict[str, Any]] = [
            {"op": "put", "collection": collection, "key": key, "value": value, "ttl": ttl}
            for collection, key, value, ttl in WRITTEN
        ]
        operations.append(
            {"op": "put_many", "collection": "bulk", "keys": ["k1", "k2"], "values": [{"i": 1}, {"i": 2}], "ttl": 300}
        )
        upstream.run(self.kind, self.theirs(node), operations)

    async def test_py_key_value_entries_expire_on_time(self, node: RespServer) -> None:
        node.flush()
        # 4 s: py-key-value's Valkey store refuses TTLs under 2 s, and a loaded machine needs slack
        soon = {"op": "put", "collection": "c", "key": "soon", "value": {"v": 1}, "ttl": 4}
        upstream.run(self.kind, self.theirs(node), [soon])
        store = self.ours(node)
        try:
            value, ttl = await store.ttl("soon", collection="c")
            assert value == {"v": 1}
            assert ttl is not None
            assert 0 < ttl <= 4
            await asyncio.sleep(ttl + 0.1)
            assert await store.get("soon", collection="c") is None
            assert await store.keys("c") == []
        finally:
            await store.close()

    async def test_native_store_reads_py_key_value_entries(self, node: RespServer) -> None:
        node.flush()
        self.upstream_write(node)
        store = self.ours(node)
        try:
            for collection, key, value, _ in WRITTEN:
                assert await store.get(key, collection=collection) == value
            assert await store.get_many(["k1", "missing", "k2"], collection="bulk") == [{"i": 1}, None, {"i": 2}]
            value, ttl = await store.ttl("tok", collection="mcp-oauth-proxy-tokens")
            assert value == {"access": "x" * 50}
            assert ttl is not None
            assert 595 < ttl <= 600
            value, ttl = await store.ttl("client-123", collection="mcp-oauth-proxy-clients")
            assert ttl is None
            assert value is not None
            pairs = await store.ttl_many(["k1", "k2", "nope"], collection="bulk")
            assert [pair[0] for pair in pairs] == [{"i": 1}, {"i": 2}, None]
            assert all(ttl is not None and 295 < ttl <= 300 for _, ttl in pairs[:2])
            await store.put("k3", {"i": 3}, collection="bulk")
            assert sorted(await store.keys("bulk")) == ["k1", "k2", "k3"]
            assert set(await store.collections()) >= {"bulk", "mcp-oauth-proxy-tokens", "ünï cödé"}
        finally:
            await store.close()

    async def test_writes_and_deletes_leave_no_old_copy(self, node: RespServer) -> None:
        node.flush()
        self.upstream_write(node)
        store = self.ours(node)
        try:
            await store.put("client-123", {"new": True}, collection="mcp-oauth-proxy-clients", ttl=1)
            assert node.command("EXISTS", "mcp-oauth-proxy-clients::client-123") == 0
            assert await store.get("client-123", collection="mcp-oauth-proxy-clients") == {"new": True}
            assert await store.delete("tok", collection="mcp-oauth-proxy-tokens") is True
            assert await store.get("tok", collection="mcp-oauth-proxy-tokens") is None
            assert await store.delete_many(["k1", "k2", "k9"], collection="bulk") == 2
            await store.put_many(["a", "b"], [{"a": 1}, {"b": 2}], collection="ünï cödé")
            await asyncio.sleep(1.2)  # our copy expired: py-key-value's old one must not come back
            assert await store.get("client-123", collection="mcp-oauth-proxy-clients") is None
            assert sorted(await store.keys("ünï cödé")) == ["a", "b", "key with spaces"]
            node.command("SET", "foreign::name", "not a document")
            assert await store.destroy() is True
            assert node.command("KEYS", "*") == [b"foreign::name"]
        finally:
            await store.close()

    async def test_py_key_value_reads_what_the_compatible_layout_writes(self, node: RespServer) -> None:
        node.flush()
        store = self.ours(node, layout="py-key-value")
        try:
            await store.put("client-123", {"client_id": "client-123"}, collection="mcp-oauth-proxy-clients")
            await store.put("tok", {"access": "y"}, collection="mcp-oauth-proxy-tokens", ttl=600)
            await store.put_many(["k1", "k2"], [{"i": 1}, {"i": 2}], collection="bulk", ttl=60)
            await store.put("soon", {"v": 1}, collection="bulk", ttl=1.5)
        finally:
            await store.close()
        results = upstream.run(
            self.kind,
            self.theirs(node),
            [
                {"op": "get", "collection": "mcp-oauth-proxy-clients", "key": "client-123"},
                {"op": "ttl", "collection": "mcp-oauth-proxy-tokens", "key": "tok"},
                {"op": "get_many", "collection": "bulk", "keys": ["k1", "k2"]},
                {"op": "sleep", "seconds": 1.5},  # at least 1.5 s after our put, however slow the start
                {"op": "get_many", "collection": "bulk", "keys": ["k1", "soon"]},
            ],
        )
        assert results[0] == {"client_id": "client-123"}
        assert results[1][0] == {"access": "y"}
        assert 590 < results[1][1] <= 600
        assert results[2] == [{"i": 1}, {"i": 2}]
        assert results[4] == [{"i": 1}, None]

    async def test_compatible_layout_reads_what_py_key_value_writes(self, node: RespServer) -> None:
        node.flush()
        self.upstream_write(node)
        store = self.ours(node, layout="py-key-value")
        try:
            for collection, key, value, _ in WRITTEN:
                assert await store.get(key, collection=collection) == value
            _, ttl = await store.ttl("tok", collection="mcp-oauth-proxy-tokens")
            assert ttl is not None
            assert 595 < ttl <= 600
            assert sorted(await store.keys("bulk")) == ["k1", "k2"]
        finally:
            await store.close()

    async def test_without_py_key_value_data_the_native_path_is_unchanged(self, node: RespServer) -> None:
        node.flush()
        store = self.ours(node)
        try:
            await store.put("a", {"v": 1}, collection="c")
            assert store._legacy is False  # pyright: ignore[reportPrivateUsage]
            assert node.command("GET", MARKER) == b"none"
            assert sorted(node.command("KEYS", "*")) == sorted([b"kv:{c}a", MARKER.encode()])
        finally:
            await store.close()
        # a later py-key-value write is not looked for again (the marker says the look found none)
        upstream.run(self.kind, self.theirs(node), [{"op": "put", "collection": "c", "key": "b", "value": {"v": 2}}])
        again = self.ours(node)
        try:
            assert await again.get("b", collection="c") is None
            assert await again.get("b", collection="c") is None
        finally:
            await again.close()
        moved = self.ours(node, layout="py-key-value")
        try:
            assert await moved.get("b", collection="c") == {"v": 2}
        finally:
            await moved.close()

    async def test_copy_entries_moves_py_key_value_data_into_the_native_layout(self, node: RespServer) -> None:
        node.flush()
        self.upstream_write(node)
        source, target = self.ours(node, layout="py-key-value"), self.ours(node)
        try:
            report = await copy_entries(source, target, delete=True)
        finally:
            await source.close()
            await target.close()
        assert report == CopyReport(copied=len(WRITTEN) + 2, vanished=0)
        assert node.command("KEYS", "*::*") == []
        fresh = self.ours(node)
        try:
            for collection, key, value, _ in WRITTEN:
                assert await fresh.get(key, collection=collection) == value
            _, ttl = await fresh.ttl("tok", collection="mcp-oauth-proxy-tokens")
            assert ttl is not None
            assert 590 < ttl <= 600
            assert fresh._legacy is False  # pyright: ignore[reportPrivateUsage]
        finally:
            await fresh.close()

    async def test_conditional_calls_on_py_key_value_entries(self, node: RespServer) -> None:
        """A native store's conditional calls see py-key-value's copies; a write or delete leaves one copy (ours)."""
        node.flush()
        self.upstream_write(node)
        store = self.ours(node)
        try:
            entry = await store.get_entry("tok", collection="mcp-oauth-proxy-tokens")
            assert store._legacy is True  # pyright: ignore[reportPrivateUsage] - set up by the call above
            assert entry is not None
            assert entry.value == {"access": "x" * 50}
            assert entry.ttl is not None
            assert 595 < entry.ttl <= 600
            refused = await store.put_if("tok", {"new": 1}, etag=ABSENT, collection="mcp-oauth-proxy-tokens")
            assert not refused.satisfied
            assert (refused.actual_etag, refused.value) == (entry.etag, {"access": "x" * 50})
            assert not await store.put_if_absent("k1", {"i": 0}, collection="bulk")  # their copy is an entry
            # a TTL refresh keeps their copy, and its document says the new expiry too (py-key-value reads that)
            kept = await store.put_if(
                "tok", KEEP_CURRENT, etag=entry.etag, ttl=900, collection="mcp-oauth-proxy-tokens"
            )
            assert kept.satisfied
            assert kept.resulting_etag == entry.etag
            assert 899_000 < node.command("PTTL", "mcp-oauth-proxy-tokens::tok") <= 900_000
            document = json.loads(node.command("GET", "mcp-oauth-proxy-tokens::tok"))
            expires_at = datetime.fromisoformat(document["expires_at"]).timestamp()
            assert 895 < expires_at - time.time() <= 900
            again = await store.get_entry("tok", collection="mcp-oauth-proxy-tokens")
            assert again is not None
            assert again.etag == entry.etag
            # a write leaves ours alone
            written = await store.put_if("tok", {"new": 2}, etag=entry.etag, collection="mcp-oauth-proxy-tokens")
            assert written.satisfied
            assert node.command("EXISTS", "mcp-oauth-proxy-tokens::tok") == 0
            assert node.command("GET", server_key("mcp-oauth-proxy-tokens", "tok")) == b'{"new":2}'
            assert node.command("PTTL", server_key("mcp-oauth-proxy-tokens", "tok")) == -1
            # a delete leaves none
            k2 = await store.get_entry("k2", collection="bulk")
            assert k2 is not None
            assert (await store.delete_if("k2", etag=k2.etag, collection="bulk")).satisfied
            assert node.command("EXISTS", "bulk::k2") == 0
            assert await store.get("k2", collection="bulk") is None
            result = await store.transform(
                "client-123", lambda value: {**(value or {}), "n": 1}, collection="mcp-oauth-proxy-clients"
            )
            assert result.value == {"client_id": "client-123", "scopes": ["a", "b"], "n": 1}
            assert node.command("EXISTS", "mcp-oauth-proxy-clients::client-123") == 0
            node.command("SET", "foreign::name", "not a document")
            assert await store.get_entry("name", collection="foreign") is None
            assert (await store.put_if("name", {"v": 1}, etag=ABSENT, collection="foreign")).satisfied
        finally:
            await store.close()

    async def test_ttl_refresh_in_the_compatible_layout_reaches_py_key_value(self, node: RespServer) -> None:
        """KEEP_CURRENT with a TTL rewrites the document's expires_at (py-key-value reads by it); same ETag."""
        node.flush()
        store = self.ours(node, layout="py-key-value")
        try:
            await store.put("short", {"v": 1}, collection="c", ttl=60)
            await store.put("forever", {"v": 2}, collection="c")
            for key in ("short", "forever"):
                entry = await store.get_entry(key, collection="c")
                assert entry is not None
                kept = await store.put_if(key, KEEP_CURRENT, etag=entry.etag, ttl=600, collection="c")
                assert kept.satisfied
                assert kept.resulting_etag == entry.etag
                assert kept.value == entry.value
                after = await store.get_entry(key, collection="c")
                assert after is not None
                assert after.etag == entry.etag
                assert after.ttl is not None
                assert 595 < after.ttl <= 600
        finally:
            await store.close()
        results = upstream.run(
            self.kind,
            self.theirs(node),
            [{"op": "ttl", "collection": "c", "key": "short"}, {"op": "ttl", "collection": "c", "key": "forever"}],
        )
        for value, ttl in results:
            assert value in ({"v": 1}, {"v": 2})
            assert 590 < ttl <= 600

    def test_unknown_layout_name(self, node: RespServer) -> None:
        with pytest.raises(InvalidArgumentError, match="unknown layout 'pykv'"):
            self.ours(node, layout="pykv")


class TestRedisWithPyKeyValueData(RespPyKeyValueData):
    kind = "redis"

    @pytest.fixture
    def node(self, redis_server: RespServer) -> RespServer:
        return redis_server

    def ours(self, node: RespServer, **options: Any) -> RespStore:
        return RedisStore(url=node.url, **options)

    def theirs(self, node: RespServer) -> dict[str, Any]:
        return {"url": node.url}


class TestValkeyWithPyKeyValueData(RespPyKeyValueData):
    kind = "valkey"

    @pytest.fixture
    def node(self, valkey_node: RespServer) -> RespServer:
        return valkey_node

    def ours(self, node: RespServer, **options: Any) -> RespStore:
        return ValkeyStore(host=node.host, port=node.port, **options)

    def theirs(self, node: RespServer) -> dict[str, Any]:
        return {"host": node.host, "port": node.port}

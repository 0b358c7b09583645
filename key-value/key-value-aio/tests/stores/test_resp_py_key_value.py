"""RedisStore and ValkeyStore with the data of the real py-key-value-aio 0.4.x (its own venv: `testing.py_key_value`).

- The default (native) layout reads what py-key-value wrote, with its server TTLs, and leaves no old
  copy behind when it writes or deletes a key; with no such data it does exactly what it did before.
- `layout="py-key-value"` writes what py-key-value reads (and passes the whole contract).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from key_value.aio.migrate import CopyReport, copy_entries
from key_value.aio.stores._resp.py_key_value import MARKER
from key_value.aio.stores.redis import RedisStore
from key_value.aio.stores.valkey import ValkeyStore
from key_value.shared.errors import InvalidArgumentError
from testing import py_key_value as upstream
from testing.servers._resp import RespServer

from ..support.contract import ContractTests

RespStore = RedisStore | ValkeyStore


class TestRedisStoreWithPyKeyValueLayout(ContractTests):
    refused_in_collections = ("::",)

    @pytest.fixture
    async def store(self, redis_server: RespServer) -> AsyncIterator[RedisStore]:
        redis_server.flush()
        store = RedisStore(url=redis_server.url, layout="py-key-value")
        yield store
        await store.close()


class TestValkeyStoreWithPyKeyValueLayout(ContractTests):
    refused_in_collections = ("::",)

    @pytest.fixture
    async def store(self, valkey_node: RespServer) -> AsyncIterator[ValkeyStore]:
        valkey_node.flush()
        store = ValkeyStore(host=valkey_node.host, port=valkey_node.port, layout="py-key-value")
        yield store
        await store.close()


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

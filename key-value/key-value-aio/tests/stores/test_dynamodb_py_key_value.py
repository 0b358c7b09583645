"""DynamoDBStore with `layout="py-key-value"` on moto: the contract on py-key-value-aio 0.4.x's items, and
one table shared with the real py-key-value (run in its own venv), writing with one and reading with
the other.

Adapted contract tests (py-key-value's items cannot hold what they ask): `test_large_value` checks that
a value over DynamoDB's 400 KB item raises `ValueTooLargeError` (py-key-value does not compress), and
`test_awkward_names` that a key over DynamoDB's 1,024-byte sort key raises `InvalidKeyError` (py-key-value
does not shorten names) while the same name works as a collection.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import pytest

from key_value.aio.conditional import ABSENT
from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.dynamodb import DynamoDBStore
from key_value.shared.errors import InvalidKeyError, ValueTooLargeError
from testing import py_key_value
from testing.servers.moto_server import MotoServer

from ..support import contract
from ..support.aws_helpers import raw_client
from ..support.contract import ContractTests, sleep

TABLE = "kv-py-key-value"


def store_options(moto_server: MotoServer) -> dict[str, Any]:
    """The constructor keywords of the store under test, as JSON (for the cross-process race)."""
    return {
        "table_name": TABLE,
        "endpoint_url": moto_server.endpoint_url,
        "layout": "py-key-value",
        **moto_server.credentials,
    }


def make_store(moto_server: MotoServer, **options: Any) -> DynamoDBStore:
    return DynamoDBStore(**store_options(moto_server), **options)


def upstream(moto_server: MotoServer, operations: list[dict[str, Any]]) -> list[Any]:
    options: dict[str, Any] = {"table_name": TABLE, "endpoint_url": moto_server.endpoint_url, **moto_server.credentials}
    return py_key_value.run("dynamodb", options, operations)


@pytest.fixture
def raw(moto_server: MotoServer) -> Iterator[Any]:
    client = raw_client(moto_server, "dynamodb")
    yield client
    client.close()


def all_items(raw: Any) -> list[dict[str, Any]]:
    pages = raw.get_paginator("scan").paginate(TableName=TABLE, ConsistentRead=True)
    return [item for page in pages for item in page["Items"]]


def fits_as_key(name: str) -> bool:
    return len(name.encode()) <= 1024


class TestDynamoDBStorePyKeyValueLayout(ContractTests):
    race_increments = 10  # moto answers a request in ~3-5 ms, one at a time here: 8 x 10 contended transforms
    race_tasks, race_rounds = 8, 4  # 8 tasks x 4 within one process: moto answers one request at a time
    #: moto answers one request at a time, ~3-5 ms each: three listing pages of 100 objects, 20 tasks at once.
    enumeration_count = 250
    concurrent_workers = 20

    @pytest.fixture
    async def store(self, moto_server: MotoServer) -> AsyncIterator[DynamoDBStore]:
        moto_server.reset()
        store = make_store(moto_server)
        store.page_items = 100
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, moto_server: MotoServer, serial_moto_server: MotoServer) -> dict[str, Any]:
        return store_options(moto_server) | {"endpoint_url": serial_moto_server.endpoint_url}

    @pytest.fixture
    async def race_store(self, store_options: dict[str, Any]) -> AsyncIterator[DynamoDBStore]:
        """The races run on the serial moto (moto's threaded server checks conditions without a lock)."""
        async with DynamoDBStore(**store_options) as serial:
            await serial.delete_many(["counter", "lock", "across"], collection="race")
            yield serial

    async def test_large_value(self, store: AsyncKeyValue) -> None:
        value = {"blob": "x" * 1_000_000, "list": list(range(10_000))}
        with pytest.raises(ValueTooLargeError):
            await store.put("big", value)
        with pytest.raises(ValueTooLargeError):
            await store.put_many(["small", "big"], [{"v": 1}, value])
        assert await store.get_many(["big", "small"]) == [None, None]
        fitting = {"blob": "x" * 390_000}
        await store.put("big", fitting)
        assert await store.get("big") == fitting

    @pytest.mark.parametrize("name", contract.AWKWARD_NAMES, ids=range(len(contract.AWKWARD_NAMES)))
    async def test_awkward_names(self, store: AsyncKeyValue, name: str) -> None:
        if fits_as_key(name):
            await super().test_awkward_names(store, name)
            return
        with pytest.raises(InvalidKeyError):
            await store.put(name, {"name": name}, collection="c")
        with pytest.raises(InvalidKeyError):
            await store.put_many(["other", name], [{"v": 1}, {"v": 2}], collection="c")
        await store.put("other", {"name": "other"}, collection=name)
        assert await store.ttl("other", collection=name) == ({"name": "other"}, None)
        assert isinstance(store, DynamoDBStore)
        assert await store.keys(name) == ["other"]
        assert await store.collections() == [name]
        assert await store.delete("other", collection=name) is True


async def test_items_are_py_key_value_s(moto_server: MotoServer, raw: Any) -> None:
    moto_server.reset()
    async with make_store(moto_server) as store:
        await store.put("user:1", {"b": 1, "a": [1.5, "é"]}, collection="users", ttl=100.25)
        await store.put("plain", {"v": 1}, collection="users")
    items = {item["key"]["S"]: item for item in all_items(raw)}
    timed, plain = items["user:1"], items["plain"]
    assert sorted(timed) == ["collection", "etag", "expires_at", "key", "ttl", "value"]
    assert timed["collection"] == {"S": "users"}
    text = timed["value"]["S"]
    document = json.loads(text)
    assert text == json.dumps(document, sort_keys=True)  # py-key-value's dump_to_json
    assert sorted(document) == ["collection", "created_at", "expires_at", "key", "value", "version"]
    assert (document["collection"], document["key"], document["value"], document["version"]) == (
        "users",
        "user:1",
        {"b": 1, "a": [1.5, "é"]},
        1,
    )
    expires = datetime.fromisoformat(document["expires_at"]).timestamp()
    assert timed["ttl"] == {"N": str(math.floor(expires))}
    assert abs(float(timed["expires_at"]["N"]) - expires) < 1e-3
    assert sorted(plain) == ["collection", "etag", "key", "value"]
    assert "expires_at" not in json.loads(plain["value"]["S"])
    ttl = raw.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ttl")


async def test_reads_what_py_key_value_wrote(moto_server: MotoServer) -> None:
    moto_server.reset()
    started = time.time()
    upstream(
        moto_server,
        [
            {"op": "put", "key": "user:1", "value": {"name": "Alice", "n": [1, 2.5, None]}, "collection": "users"},
            {"op": "put", "key": "session", "value": {"t": "x"}, "collection": "users", "ttl": 60},
            {"op": "put_many", "keys": ["a", "b"], "values": [{"v": 1}, {"v": 2}], "ttl": 30},
            {"op": "put", "key": "brief", "value": {"v": 0}, "collection": "users", "ttl": 8},
            {"op": "put", "key": "dir/ünï file", "value": {"é": "🙂"}, "collection": "weird coll/.."},
        ],
    )
    written = time.time()
    async with make_store(moto_server) as store:
        assert await store.get("user:1", collection="users") == {"name": "Alice", "n": [1, 2.5, None]}
        # py-key-value's expiry is its `ttl` attribute: whole seconds, cut down.
        value, ttl = await store.ttl("session", collection="users")
        assert value == {"t": "x"}
        assert ttl is not None
        assert math.floor(started + 60) - time.time() - 0.1 <= ttl <= written + 60 - time.time()
        results = await store.ttl_many(["a", "b", "missing"])
        assert [value for value, _ in results] == [{"v": 1}, {"v": 2}, None]
        assert all(ttl is not None and 30 - (time.time() - started) - 1.1 <= ttl <= 30 for _, ttl in results[:2])
        assert await store.get("dir/ünï file", collection="weird coll/..") == {"é": "🙂"}
        assert sorted(await store.keys("users")) == ["brief", "session", "user:1"]
        assert sorted(await store.collections()) == ["default_collection", "users", "weird coll/.."]
        await sleep(max(0.0, written + 8.1 - time.time()))
        assert await store.get("brief", collection="users") is None
        assert sorted(await store.keys("users")) == ["session", "user:1"]
        assert await store.delete("brief", collection="users") is False
        assert await store.delete("user:1", collection="users") is True
        assert await store.destroy_collection("weird coll/..") is True
    assert upstream(
        moto_server,
        [
            {"op": "get", "key": "user:1", "collection": "users"},
            {"op": "get", "key": "dir/ünï file", "collection": "weird coll/.."},
            {"op": "get", "key": "session", "collection": "users"},
        ],
    ) == [None, None, {"t": "x"}]


async def test_py_key_value_reads_what_we_wrote(moto_server: MotoServer) -> None:
    moto_server.reset()
    async with make_store(moto_server) as store:
        await store.put("user:1", {"name": "Alice", "big": 2**70, "f": 1.25}, collection="users")
        await store.put("session", {"t": "x"}, collection="users", ttl=60)
        await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}], ttl=30)
        await store.put("brief", {"v": 0}, collection="users", ttl=0.5)
        await store.put("dir/ünï file", {"é": "🙂"}, collection="weird coll/..")
        await store.put("gone", {"v": 0}, collection="users")
        await store.delete("gone", collection="users")
    await sleep(1.1)  # past `brief`'s whole-second expiry too
    got = upstream(
        moto_server,
        [
            {"op": "get", "key": "user:1", "collection": "users"},
            {"op": "ttl", "key": "session", "collection": "users"},
            {"op": "get_many", "keys": ["a", "b", "missing"]},
            {"op": "ttl", "key": "a"},
            {"op": "get", "key": "brief", "collection": "users"},
            {"op": "get", "key": "gone", "collection": "users"},
            {"op": "get", "key": "dir/ünï file", "collection": "weird coll/.."},
            {"op": "put", "key": "user:1", "value": {"name": "Bob"}, "collection": "users", "ttl": 100},
        ],
    )
    assert got[0] == {"name": "Alice", "big": 2**70, "f": 1.25}
    assert got[1][0] == {"t": "x"}
    assert 45 < got[1][1] <= 60
    assert got[2] == [{"v": 1}, {"v": 2}, None]
    assert 15 < got[3][1] <= 30
    assert got[4:7] == [None, None, {"é": "🙂"}]
    async with make_store(moto_server) as store:
        value, ttl = await store.ttl("user:1", collection="users")  # its overwrite of ours
        assert value == {"name": "Bob"}
        assert ttl is not None
        assert 90 < ttl <= 100


async def test_native_layout_unchanged(moto_server: MotoServer, raw: Any) -> None:
    moto_server.reset()
    async with DynamoDBStore(
        table_name=TABLE, endpoint_url=moto_server.endpoint_url, **moto_server.credentials
    ) as store:
        await store.put("k", {"v": 1}, collection="c", ttl=100)
    (item,) = all_items(raw)
    assert sorted(item) == ["collection", "etag", "expires_at", "key", "ttl", "value"]
    assert item["value"] == {"S": '{"v":1}'}


async def test_conditional_writes_on_py_key_value_s_items(moto_server: MotoServer) -> None:
    """Entries py-key-value wrote (no `etag`): content ETags, its `created_at` as `written_at`, one item."""
    moto_server.reset()
    before = time.time()
    upstream(moto_server, [{"op": "put", "key": "k", "value": {"v": 1}, "collection": "c", "ttl": 60}])
    async with make_store(moto_server) as store:
        entry = await store.get_entry("k", collection="c")
        assert entry is not None
        assert entry.value == {"v": 1}
        assert entry.etag.startswith("~")
        assert entry.written_at is not None
        assert before - 1 <= entry.written_at <= time.time() + 1
        assert entry.ttl is not None
        assert 55 < entry.ttl <= 60
        assert not (await store.put_if("k", {"v": 0}, etag=ABSENT, collection="c")).satisfied
        written = await store.put_if("k", {"v": 2}, etag=entry.etag, collection="c")
        assert written.satisfied
        assert written.actual_etag == entry.etag
        assert not (await store.put_if("k", {"v": 3}, etag=entry.etag, collection="c")).satisfied  # used up
        mine = await store.get_entry("k", collection="c")
        assert mine is not None
        assert mine.etag == written.resulting_etag
        assert mine.written_at is not None
    upstream(moto_server, [{"op": "put", "key": "k", "value": {"v": 4}, "collection": "c"}])  # a plain overwrite
    async with make_store(moto_server) as store:
        lost = await store.put_if("k", {"v": 5}, etag=mine.etag, collection="c")
        assert not lost.satisfied  # py-key-value's write changed the ETag
        assert lost.value == {"v": 4}
        assert isinstance(lost.actual_etag, str)
        assert lost.actual_etag.startswith("~")
        assert (await store.delete_if("k", etag=lost.actual_etag, collection="c")).satisfied
    assert upstream(moto_server, [{"op": "get", "key": "k", "collection": "c"}]) == [None]

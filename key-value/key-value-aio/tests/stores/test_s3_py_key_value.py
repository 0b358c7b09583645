"""S3Store with `layout="py-key-value"` on moto: the contract on py-key-value-aio 0.4.x's objects, with and
without its S3 sanitization strategies, and one bucket shared with the real py-key-value (run in its own
venv), writing with one and reading with the other.

Adapted contract tests (py-key-value's object key `<collection>/<key>` cannot hold what they ask): a
collection containing "/" is refused (`refused_in_collections`, which `test_no_collisions` and
`test_awkward_names` check), and `test_awkward_names` checks that without the strategies a pair longer
than S3's 1,024 bytes raises `InvalidKeyError`, the name still working as a key where it fits. Names
with a newline are skipped: moto cannot route such object keys (S3 takes them).
`test_keys_complete_and_limited` lists 2,050 keys instead of 10,050: this layout sends a HEAD per listed
object (sizes tell nothing about expiry here), and moto answers about 50 a second.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.s3 import S3CollectionSanitizationStrategy, S3KeySanitizationStrategy, S3Store
from key_value.shared.compat.sanitize import hash_excess_length
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError
from testing import py_key_value
from testing.servers.moto_server import MotoServer

from ..support import contract
from ..support.aws_helpers import raw_client
from ..support.contract import ContractTests, sleep
from ..support.doubles import full

BUCKET = "kv-py-key-value"


def make_store(moto_server: MotoServer, *, strategies: bool = False, **options: Any) -> S3Store:
    if strategies:
        options["collection_sanitization_strategy"] = S3CollectionSanitizationStrategy()
        options["key_sanitization_strategy"] = S3KeySanitizationStrategy()
    return S3Store(
        bucket_name=BUCKET,
        endpoint_url=moto_server.endpoint_url,
        layout="py-key-value",
        **moto_server.credentials,
        **options,
    )


def upstream(moto_server: MotoServer, operations: list[dict[str, Any]], *, strategies: bool = False) -> list[Any]:
    options: dict[str, Any] = {
        "bucket_name": BUCKET,
        "endpoint_url": moto_server.endpoint_url,
        **moto_server.credentials,
    }
    if strategies:
        options["strategies"] = "s3"
    return py_key_value.run("s3", options, operations)


@pytest.fixture
def raw(moto_server: MotoServer) -> Iterator[Any]:
    client = raw_client(moto_server, "s3")
    yield client
    client.close()


def object_keys(raw: Any) -> list[str]:
    return sorted(item["Key"] for item in raw.list_objects_v2(Bucket=BUCKET).get("Contents", []))


class PyKeyValueContract(ContractTests):
    strategies = False
    refused_in_collections = ("/",)
    etag_from_content = True  # the S3 ETag: the body's MD5 (py-key-value's bodies hold their write time)
    race_increments = 10
    race_tasks, race_rounds = 8, 4  # 8 tasks x 4 within one process: moto answers one request at a time
    #: moto answers one request at a time, ~3-5 ms each: three listing pages of 100 objects, 20 tasks at once.
    enumeration_count = 250
    concurrent_workers = 20

    @pytest.fixture
    def store_options(self, serial_moto_server: MotoServer) -> dict[str, Any]:
        # Without the strategies (objects, not JSON): they leave the race's short names as they are. On the moto
        # that answers one request at a time (moto's threaded server checks preconditions without a lock).
        return {
            "bucket_name": BUCKET,
            "endpoint_url": serial_moto_server.endpoint_url,
            "layout": "py-key-value",
            **serial_moto_server.credentials,
        }

    @pytest.fixture
    async def race_store(self, store_options: dict[str, Any]) -> AsyncIterator[S3Store]:
        """The races run on the serial moto (moto's threaded server checks preconditions without a lock)."""
        async with S3Store(**store_options) as serial:
            await serial.delete_many(["counter", "lock", "across"], collection="race")
            yield serial

    def fits(self, collection: str, key: str) -> bool:
        return self.strategies or len(f"{collection}/{key}".encode()) <= 1024

    @pytest.fixture
    async def store(self, moto_server: MotoServer) -> AsyncIterator[S3Store]:
        moto_server.reset()
        store = make_store(moto_server, strategies=self.strategies)
        store.listing_page_keys = 100
        yield store
        await store.close()

    @pytest.mark.parametrize("name", contract.AWKWARD_NAMES, ids=range(len(contract.AWKWARD_NAMES)))
    async def test_awkward_names(self, store: AsyncKeyValue, name: str) -> None:
        if "\n" in name:
            pytest.skip("moto cannot route object keys containing a newline (S3 itself takes them)")
        if self.refuses(name) or self.fits(name, name):
            await super().test_awkward_names(store, name)
            return
        with pytest.raises(InvalidKeyError):
            await store.put(name, {"name": name}, collection=name)
        with pytest.raises(InvalidKeyError):
            await store.put_many(["other", name], [{"v": 1}, {"v": 2}], collection=name)
        assert await full(store).collections() == []
        if not self.fits("c", name):
            with pytest.raises(InvalidKeyError):
                await store.put(name, {"name": name}, collection="c")
            return
        await store.put(name, {"name": name}, collection="c")
        assert await store.ttl(name, collection="c") == ({"name": name}, None)
        assert await full(store).keys("c") == [name]
        assert await store.delete(name, collection="c") is True
        assert await store.get(name, collection="c") is None

    async def test_keys_complete_and_limited(self, store: AsyncKeyValue) -> None:
        count = self.enumeration_count
        keys = [f"key-{i}" for i in range(count)]
        for start in range(0, count, 1000):
            chunk = keys[start : start + 1000]
            await store.put_many(chunk, [{"i": 0}] * len(chunk), collection="many")
        await store.put("elsewhere", {"i": 0}, collection="other")
        listed = await full(store).keys("many")
        assert len(listed) == count
        assert set(listed) == set(keys)
        assert len(await full(store).keys("many", limit=7)) == 7
        assert await full(store).keys("many", limit=0) == []
        assert await full(store).keys("empty") == []


class TestS3StorePyKeyValueLayout(PyKeyValueContract):
    strategies = False


class TestS3StorePyKeyValueLayoutWithStrategies(PyKeyValueContract):
    strategies = True


def test_no_prefix_with_py_key_value_layout(moto_server: MotoServer) -> None:
    with pytest.raises(InvalidArgumentError):
        make_store(moto_server, prefix="app")


async def test_objects_are_py_key_value_s(moto_server: MotoServer, raw: Any) -> None:
    moto_server.reset()
    async with make_store(moto_server, strategies=True) as store:
        before = datetime.now().astimezone()
        await store.put("user:1", {"b": 1, "a": [1.5, "é"]}, collection="users", ttl=100)
        await store.put("dir/file.txt", {"v": 1}, collection="files")
        await store.put("k" * 600, {"v": 2}, collection="files")
    long_name = hash_excess_length("k" * 600, 500, length_is_bytes=True)
    assert object_keys(raw) == sorted(["users/user:1", "files/dir/file.txt", f"files/{long_name}"])
    stored = raw.get_object(Bucket=BUCKET, Key="users/user:1")
    body = stored["Body"].read().decode()
    document = json.loads(body)
    assert body == json.dumps(document, sort_keys=True)  # py-key-value's dump_to_json
    assert sorted(document) == ["created_at", "expires_at", "value", "version"]
    assert document["value"] == {"b": 1, "a": [1.5, "é"]}
    assert document["version"] == 1
    created, expires = datetime.fromisoformat(document["created_at"]), datetime.fromisoformat(document["expires_at"])
    assert before <= created <= expires
    assert timedelta(seconds=99) < expires - created <= timedelta(seconds=100)
    assert stored["Metadata"]["expires-at"] == document["expires_at"]
    assert "created-at" in stored["Metadata"]
    plain = json.loads(raw.get_object(Bucket=BUCKET, Key="files/dir/file.txt")["Body"].read())
    assert sorted(plain) == ["created_at", "value", "version"]
    hashed = json.loads(raw.get_object(Bucket=BUCKET, Key=f"files/{long_name}")["Body"].read())
    assert hashed["key"] == "k" * 600  # the raw name, for listing


async def test_reads_what_py_key_value_wrote(moto_server: MotoServer) -> None:
    moto_server.reset()
    started = time.monotonic()
    upstream(
        moto_server,
        [
            {"op": "put", "key": "user:1", "value": {"name": "Alice", "n": [1, 2.5, None]}, "collection": "users"},
            {"op": "put", "key": "session", "value": {"t": "x"}, "collection": "users", "ttl": 60},
            {"op": "put_many", "keys": ["a", "b"], "values": [{"v": 1}, {"v": 2}], "ttl": 30},
            {"op": "put", "key": "brief", "value": {"v": 0}, "collection": "users", "ttl": 8},
            {"op": "put", "key": "dir/ünï file", "value": {"é": "🙂"}, "collection": "files"},
            {"op": "put", "key": "x" * 600, "value": {"long": True}, "collection": "files"},
        ],
        strategies=True,
    )
    written = time.monotonic()
    async with make_store(moto_server, strategies=True) as store:
        assert await store.get("user:1", collection="users") == {"name": "Alice", "n": [1, 2.5, None]}
        value, ttl = await store.ttl("session", collection="users")
        assert value == {"t": "x"}
        assert ttl is not None
        assert 60 - (time.monotonic() - started) - 1 <= ttl <= 60
        results = await store.ttl_many(["a", "b", "missing"])
        assert [value for value, _ in results] == [{"v": 1}, {"v": 2}, None]
        assert all(ttl is not None and 30 - (time.monotonic() - started) - 1 <= ttl <= 30 for _, ttl in results[:2])
        assert await store.get("dir/ünï file", collection="files") == {"é": "🙂"}
        assert await store.get("x" * 600, collection="files") == {"long": True}
        assert sorted(await store.keys("users")) == ["brief", "session", "user:1"]
        # The name py-key-value shortened is lost; its shortened form names the same object.
        shortened = hash_excess_length("x" * 600, 500, length_is_bytes=True)
        assert sorted(await store.keys("files")) == sorted(["dir/ünï file", shortened])
        assert await store.get(shortened, collection="files") == {"long": True}
        assert sorted(await store.collections()) == ["default_collection", "files", "users"]
        await sleep(max(0.0, written + 8.1 - time.monotonic()))
        assert await store.get("brief", collection="users") is None
        assert sorted(await store.keys("users")) == ["session", "user:1"]
        assert await store.delete("user:1", collection="users") is True
        assert await store.destroy_collection("files") is True
    assert upstream(
        moto_server,
        [
            {"op": "get", "key": "user:1", "collection": "users"},
            {"op": "get", "key": "dir/ünï file", "collection": "files"},
            {"op": "get", "key": "x" * 600, "collection": "files"},
            {"op": "get", "key": "session", "collection": "users"},
        ],
        strategies=True,
    ) == [None, None, None, {"t": "x"}]


async def test_py_key_value_reads_what_we_wrote(moto_server: MotoServer) -> None:
    moto_server.reset()
    async with make_store(moto_server) as store:
        await store.put("user:1", {"name": "Alice", "big": 2**70, "f": 1.25}, collection="users")
        await store.put("session", {"t": "x"}, collection="users", ttl=60)
        await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}], ttl=30)
        await store.put("brief", {"v": 0}, collection="users", ttl=0.5)
        await store.put("dir/ünï file", {"é": "🙂"}, collection="files")
        await store.put("gone", {"v": 0}, collection="users")
        await store.delete("gone", collection="users")
    await sleep(0.6)
    got = upstream(
        moto_server,
        [
            {"op": "get", "key": "user:1", "collection": "users"},
            {"op": "ttl", "key": "session", "collection": "users"},
            {"op": "get_many", "keys": ["a", "b", "missing"]},
            {"op": "ttl", "key": "a"},
            {"op": "get", "key": "brief", "collection": "users"},
            {"op": "get", "key": "gone", "collection": "users"},
            {"op": "get", "key": "dir/ünï file", "collection": "files"},
            {"op": "put", "key": "user:1", "value": {"name": "Bob"}, "collection": "users"},
        ],
    )
    assert got[0] == {"name": "Alice", "big": 2**70, "f": 1.25}
    assert got[1][0] == {"t": "x"}
    assert 45 < got[1][1] <= 60
    assert got[2] == [{"v": 1}, {"v": 2}, None]
    assert 15 < got[3][1] <= 30
    assert got[4:7] == [None, None, {"é": "🙂"}]
    async with make_store(moto_server) as store:
        assert await store.get("user:1", collection="users") == {"name": "Bob"}  # its overwrite of ours


async def test_py_key_value_reads_long_names_we_wrote(moto_server: MotoServer) -> None:
    moto_server.reset()
    async with make_store(moto_server, strategies=True) as store:
        await store.put("k" * 700, {"v": 1}, collection="c" * 600)
    assert upstream(moto_server, [{"op": "get", "key": "k" * 700, "collection": "c" * 600}], strategies=True) == [
        {"v": 1}
    ]
    async with make_store(moto_server, strategies=True) as store:
        assert await store.collections() == ["c" * 600]
        assert await store.keys("c" * 600) == ["k" * 700]


async def test_native_layout_unchanged(moto_server: MotoServer, raw: Any) -> None:
    moto_server.reset()
    async with S3Store(bucket_name=BUCKET, endpoint_url=moto_server.endpoint_url, **moto_server.credentials) as store:
        await store.put("User:1", {"v": 1}, collection="users")
    assert object_keys(raw) == ["users/%55ser%3A1"]

"""Behaviour that code written for py-key-value-aio 0.4.x relies on, beyond the names the surface test checks.

Each test is a call pattern taken from py-key-value's API: its constructor options, its error
parameters, a wrapper subclass in its style, a Memcached store named by its V1 strategy.
"""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from key_value.aio._utils.managed_entry import ManagedEntry
from key_value.aio._utils.sanitization import PassthroughStrategy
from key_value.aio.errors import InvalidTTLError, MissingKeyError, ReadOnlyError, ValueTooLargeError
from key_value.aio.errors.key_value import InvalidTTLError as InvalidTTLErrorThere
from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.memcached import MemcachedStore, MemcachedV1KeySanitizationStrategy
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.redis import RedisStore
from key_value.aio.stores.s3 import S3KeySanitizationStrategy, S3Store
from key_value.aio.stores.simple import SimpleStore
from key_value.aio.wrappers.base import BaseWrapper
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError
from testing.servers._resp import RespServer
from testing.servers.memcached_server import MemcachedServer


async def test_simple_store_max_entries_drops_the_oldest_write() -> None:
    store = SimpleStore(2, "coll")  # both positional, as py-key-value allows
    assert store.default_collection == "coll"
    await store.put("a", {"v": 1})
    await store.put("b", {"v": 2})
    await store.put("a", {"v": 3})  # an update of a present key drops nothing
    assert await store.get_many(["a", "b"]) == [{"v": 3}, {"v": 2}]
    await store.put("c", {"v": 4})
    assert await store.get_many(["a", "b", "c"]) == [None, {"v": 2}, {"v": 4}]
    with pytest.raises(InvalidArgumentError):
        SimpleStore(max_entries=0)


class UpstreamStyleWrapper(BaseWrapper):
    """Sets `key_value` itself and calls `super().__init__()` without arguments, as py-key-value's wrappers do."""

    def __init__(self, key_value: AsyncKeyValue) -> None:
        self.key_value = key_value
        self.gets = 0
        super().__init__()

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        self.gets += 1
        return await super().get(key, collection=collection)


async def test_a_wrapper_written_for_py_key_value_works() -> None:
    wrapper = UpstreamStyleWrapper(MemoryStore())
    await wrapper.put("k", {"v": 1})
    assert await wrapper.get("k") == {"v": 1}
    assert wrapper.gets == 1
    assert await wrapper.keys() == ["k"]  # type: ignore[attr-defined]  # the segment follows the inner store


def test_errors_take_py_key_value_parameters() -> None:
    error = InvalidTTLError(ttl=-1)
    assert error.ttl == -1
    assert isinstance(error, ValueError)
    assert InvalidTTLErrorThere is InvalidTTLError
    missing = MissingKeyError(operation="get", collection="c", key="k")
    assert (missing.operation, missing.collection, missing.key) == ("get", "c", "k")
    assert missing.extra_info == {"operation": "get", "collection": "c", "key": "k"}
    assert "'k'" in str(missing)
    too_large = ValueTooLargeError(size=10, max_size=5, collection="c", key="k")
    assert (too_large.size, too_large.max_size) == (10, 5)
    assert ReadOnlyError("put", "c", "k").operation == "put"


async def test_setup_collection_checks_the_name() -> None:
    store = MemoryStore()
    await store.setup_collection(collection="c")
    with pytest.raises(InvalidKeyError):
        await store.setup_collection(collection="")


async def test_redis_store_keeps_a_given_client_at_client(redis_server: RespServer) -> None:
    """pydocket's tests read `store._client.connection_pool.connection_kwargs` of a store given `client=`."""
    client = Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
    store = RedisStore(client=client, default_collection="results")
    assert store._client is client  # pyright: ignore[reportPrivateUsage]
    await store.put("k", {"v": 1})  # a client with decode_responses=True, as pydocket passes, works
    assert await store.get("k") == {"v": 1}
    assert RedisStore(host=redis_server.host, port=redis_server.port)._client is None  # pyright: ignore[reportPrivateUsage]
    await client.aclose()


def test_s3_accepts_its_own_strategies_and_refuses_others() -> None:
    S3Store(bucket_name="b", key_sanitization_strategy=S3KeySanitizationStrategy())
    with pytest.raises(InvalidArgumentError):
        S3Store(bucket_name="b", key_sanitization_strategy=PassthroughStrategy())


def test_managed_entry_from_ttl() -> None:
    entry = ManagedEntry.from_ttl(value={"a": 1}, ttl=10)
    assert entry.ttl is not None
    assert 9 < entry.ttl <= 10
    assert not entry.is_expired
    assert entry.value_as_json == '{"a": 1}'


class TestMemcachedWithTheV1Strategy:
    @pytest.fixture
    async def store(self, memcached_server: MemcachedServer) -> Any:
        memcached_server.flush()
        store = MemcachedStore(
            host=memcached_server.host,
            port=memcached_server.port,
            key_sanitization_strategy=MemcachedV1KeySanitizationStrategy(),
        )
        yield store
        await store.close()

    async def test_items_are_named_as_py_key_value_names_them(
        self, store: MemcachedStore, memcached_server: MemcachedServer
    ) -> None:
        await store.put("k", {"v": 1}, collection="c")
        assert memcached_server.command(b"mg c::k v").startswith(b"VA")
        long_key = "x" * 300
        await store.put(long_key, {"v": 2}, collection="c")
        assert await store.get(long_key, collection="c") == {"v": 2}
        hashed = MemcachedV1KeySanitizationStrategy().sanitize(f"c::{long_key}").encode()
        assert hashed.startswith(b"H_")
        assert memcached_server.command(b"mg " + hashed + b" v").startswith(b"VA")

    async def test_names_sharing_an_item_never_read_each_other(self, store: MemcachedStore) -> None:
        await store.put("b::c", {"v": "first"}, collection="a")
        assert await store.get("c", collection="a::b") is None  # same item `a::b::c`, other raw names
        assert await store.get("b::c", collection="a") == {"v": "first"}

    async def test_names_memcached_refuses_are_errors(self, store: MemcachedStore) -> None:
        with pytest.raises(InvalidKeyError):
            await store.put("with space", {"v": 1})
        # The strategy checks the whole `collection::key` name, which only a reserved collection can start.
        with pytest.raises(InvalidKeyError):
            await store.put("k", {"v": 1}, collection="H_reserved")

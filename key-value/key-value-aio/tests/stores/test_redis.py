"""RedisStore against real servers: the contract on one node and on a cluster, and what is Redis-specific.

Round trips are counted by a connection class that counts the requests redis-py sends; a pipeline
goes out as one request.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Connection, ConnectionPool, Redis

from key_value.aio.stores.redis import RedisStore
from key_value.shared.capabilities import Capability
from key_value.shared.errors import InvalidArgumentError, StoreConnectionError
from key_value.shared.redis_keys import server_key
from testing.servers._resp import RespCluster, RespServer
from testing.servers.redis_server import PASSWORD, USER, TLSServer

from .contract import ContractTests


class TestRedisStore(ContractTests):
    @pytest.fixture
    async def store(self, redis_server: RespServer) -> AsyncIterator[RedisStore]:
        redis_server.flush()
        store = RedisStore(url=redis_server.url)
        yield store
        await store.close()


class TestRedisClusterStore(ContractTests):
    @pytest.fixture
    async def store(self, redis_cluster: RespCluster) -> AsyncIterator[RedisStore]:
        redis_cluster.flush()
        store = RedisStore(url=redis_cluster.url, cluster=True)
        yield store
        await store.close()


class CountingConnection(Connection):
    """Counts the requests sent to the server: one per command, one per whole pipeline."""

    requests = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.requests += 1
        parent: Any = super()  # the sync redis-py leaves this method's parameters untyped
        await parent.send_packed_command(command, check_health)


async def round_trips(operation: Callable[[], Any]) -> int:
    """How many requests running `operation` sends."""
    before = CountingConnection.requests
    await operation()
    return CountingConnection.requests - before


class TestRedisBehaviour:
    @pytest.fixture
    async def store(self, redis_server: RespServer) -> AsyncIterator[RedisStore]:
        redis_server.flush()
        store = RedisStore(host=redis_server.host, port=redis_server.port)
        yield store
        await store.close()

    async def test_capabilities(self, store: RedisStore) -> None:
        expected = Capability.KEYS | Capability.COLLECTIONS | Capability.DESTROY | Capability.DESTROY_COLLECTION
        assert store.capabilities == expected

    async def test_key_layout(self, store: RedisStore, redis_server: RespServer) -> None:
        await store.put("key", {"v": 1}, collection="users")
        await store.put("k}%", {"v": 2}, collection="odd}{%")
        assert redis_server.command("GET", "kv:{users}key") == b'{"v":1}'
        assert redis_server.command("GET", "kv:{odd%7D{%25}k}%") == b'{"v":2}'
        assert await store.keys("odd}{%") == ["k}%"]
        assert "odd}{%" in await store.collections()

    async def test_server_keeps_millisecond_ttl(self, store: RedisStore, redis_server: RespServer) -> None:
        name = server_key("default_collection", "key")
        await store.put("key", {"v": 1}, ttl=10)
        assert 9900 <= redis_server.command("PTTL", name) <= 10_000
        await store.put("key", {"v": 1}, ttl=0.25)
        assert 150 <= redis_server.command("PTTL", name) <= 250
        await store.put("key", {"v": 2})
        assert redis_server.command("PTTL", name) == -1
        await store.put_many(["key"], [{"v": 3}], ttl=10)
        assert 9900 <= redis_server.command("PTTL", name) <= 10_000

    async def test_ttl_reads_the_server(self, store: RedisStore, redis_server: RespServer) -> None:
        await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}], ttl=100)
        redis_server.command("PEXPIRE", server_key("default_collection", "a"), 5000)
        redis_server.command("PERSIST", server_key("default_collection", "b"))
        value, remaining = await store.ttl("a")
        assert value == {"v": 1}
        assert remaining is not None
        assert 4.9 <= remaining <= 5.0
        assert (await store.ttl_many(["b", "a"]))[0] == ({"v": 2}, None)

    async def test_one_round_trip_per_operation(self, redis_server: RespServer) -> None:
        pool = ConnectionPool(host=redis_server.host, port=redis_server.port, connection_class=CountingConnection)
        client = Redis.from_pool(pool)
        store = RedisStore(client=client)
        keys = [f"key-{i}" for i in range(100)]
        values = [{"i": i} for i in range(100)]
        await store.put("warm-up", {"v": 0})  # connects
        assert await round_trips(lambda: store.put_many(keys, values, ttl=60)) == 1
        assert await round_trips(lambda: store.put_many(keys, values)) == 1
        assert await round_trips(lambda: store.get_many(keys)) == 1
        assert await round_trips(lambda: store.ttl_many(keys)) == 1
        assert await round_trips(lambda: store.delete_many(keys)) == 1
        assert await round_trips(lambda: store.put("key", {"v": 1}, ttl=60)) == 1
        assert await round_trips(lambda: store.get("key")) == 1
        assert await round_trips(lambda: store.ttl("key")) == 1
        assert await round_trips(lambda: store.delete("key")) == 1
        await client.aclose()

    async def test_match_pattern_escaped(self, store: RedisStore) -> None:
        names = ["a*", "a?", "[a]", "a\\", "ab", "a", "a]", "x"]
        for name in names:
            await store.put_many(["one", "two"], [{"c": name}, {"c": name}], collection=name)
        for name in names:
            assert sorted(await store.keys(name)) == ["one", "two"]
        assert sorted(await store.collections()) == sorted(names)
        assert await store.destroy_collection("a*") is True
        assert await store.destroy_collection("[a]") is True
        assert sorted(await store.collections()) == sorted(set(names) - {"a*", "[a]"})

    async def test_destroy_leaves_foreign_keys(self, store: RedisStore, redis_server: RespServer) -> None:
        foreign = ["foreign", "kv:plain", "{kv}x", "kv:{unclosed", "kv:{bad%zz}key", "kv:{c}"]
        for name in foreign:
            redis_server.command("SET", name, "theirs")
        await store.put("a", {"v": 1}, collection="c")
        await store.put("b", {"v": 2}, collection="d")
        assert sorted(await store.collections()) == ["c", "d"]
        assert await store.keys("c") == ["a"]
        assert await store.destroy_collection("c") is True
        assert await store.get("b", collection="d") == {"v": 2}
        assert await store.destroy() is True
        assert await store.destroy() is False
        assert sorted(redis_server.command("KEYS", "*")) == sorted(name.encode() for name in foreign)

    async def test_url_with_database(self, redis_server: RespServer) -> None:
        async with RedisStore(url=f"redis://{redis_server.host}:{redis_server.port}/3") as store:
            await store.put("key", {"v": 1})
        async with RedisStore(host=redis_server.host, port=redis_server.port, db=4) as store:
            await store.put("key", {"v": 2})
        name = server_key("default_collection", "key")
        assert redis_server.command("GET", name, db=3) == b'{"v":1}'
        assert redis_server.command("GET", name, db=4) == b'{"v":2}'
        assert redis_server.command("GET", name) is None

    async def test_tls_url_with_user(self, redis_tls_server: TLSServer) -> None:
        async with RedisStore(url=redis_tls_server.url, ssl_ca_certs=str(redis_tls_server.ca_file)) as store:
            await store.put("key", {"secure": True})
            assert await store.get("key") == {"secure": True}
            assert await store.destroy() is True

    async def test_username_and_password(self, redis_server: RespServer) -> None:
        async with RedisStore(
            host=redis_server.host, port=redis_server.port, username=USER, password=PASSWORD
        ) as store:
            await store.put("key", {"v": 1})
            assert await store.get("key") == {"v": 1}
        # Over TLS redis-py would leave the refused connection's socket to the garbage collector.
        wrong = RedisStore(url=f"redis://{USER}:wrong@{redis_server.host}:{redis_server.port}")
        with pytest.raises(StoreConnectionError):
            await wrong.get("key")
        await wrong.close()

    async def test_given_client_is_not_closed(self, redis_server: RespServer) -> None:
        client = Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
        async with RedisStore(client=client) as store:
            await store.put("key", {"v": 1})
            assert await store.get("key") == {"v": 1}  # str replies decode as well as bytes
            assert await store.ttl_many(["key"]) == [({"v": 1}, None)]
            assert await store.keys() == ["key"]
        assert await client.set("still-open", "yes")
        await client.aclose()

    def test_bad_settings(self) -> None:
        with pytest.raises(InvalidArgumentError):
            RedisStore(client=Redis(), url="redis://localhost")
        with pytest.raises(InvalidArgumentError):
            RedisStore(cluster=True, db=1)
        with pytest.raises(InvalidArgumentError):
            RedisStore(url="redis://localhost", ssl=True)
        with pytest.raises(InvalidArgumentError):
            RedisStore(url="http://localhost")
        with pytest.raises(InvalidArgumentError):
            RedisStore(url="redis://localhost", ssl_ca_certs="ca.pem")  # TLS options without TLS

    def test_used_from_two_event_loops(self, redis_server: RespServer) -> None:
        redis_server.flush()
        store = RedisStore(url=redis_server.url)
        if True:  # ASYNC
            asyncio.run(store.put("key", {"v": 1}))
            assert asyncio.run(store.get("key")) == {"v": 1}
            first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
            try:
                first.run_until_complete(store.put("key", {"v": 2}))
                assert second.run_until_complete(store.get("key")) == {"v": 2}
                assert first.run_until_complete(store.get("key")) == {"v": 2}
            finally:
                for loop in (first, second):
                    loop.run_until_complete(loop.shutdown_asyncgens())
                    loop.close()
        else:
            writer = threading.Thread(target=store.put, args=("key", {"v": 1}))
            writer.start()
            writer.join()
            assert store.get("key") == {"v": 1}
            store.close()

    async def test_stopped_server_then_back(self, private_redis_server: RespServer) -> None:
        store = RedisStore(url=private_redis_server.url)
        await store.put("key", {"v": 1})
        private_redis_server.process.stop()
        with pytest.raises(StoreConnectionError):
            await store.get("key")
        with pytest.raises(StoreConnectionError):
            await store.put("key", {"v": 2})
        private_redis_server.process.start()  # same port, empty again (no persistence)
        await store.put("key", {"v": 3})
        assert await store.get("key") == {"v": 3}
        await store.close()

    async def test_unanswered_request_times_out(self, private_redis_server: RespServer) -> None:
        store = RedisStore(url=f"{private_redis_server.url}?socket_timeout=0.2")
        await store.put("key", {"v": 1})
        private_redis_server.process.pause()
        try:
            started = time.monotonic()
            with pytest.raises(StoreConnectionError):
                await store.get("key")
            assert time.monotonic() - started < 5
        finally:
            private_redis_server.process.resume()
        assert await store.get("key") == {"v": 1}
        await store.close()


class TestRedisClusterBehaviour:
    async def test_collection_in_one_hash_slot(self, redis_cluster: RespCluster) -> None:
        redis_cluster.flush()
        async with RedisStore(url=redis_cluster.url, cluster=True) as store:
            names = [f"collection-{i}" for i in range(20)]
            for name in names:
                await store.put_many([f"k{i}" for i in range(20)], [{"i": i} for i in range(20)], collection=name)
            for name in names:
                slots = {redis_cluster.command("CLUSTER", "KEYSLOT", server_key(name, f"k{i}")) for i in range(20)}
                assert len(slots) == 1
            assert all(count > 0 for count in redis_cluster.key_counts())  # the collections spread over the nodes
            assert sorted(await store.collections()) == sorted(names)
            assert await store.destroy() is True
            assert await store.collections() == []

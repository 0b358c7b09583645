"""ValkeyStore against real servers: the contract on one node and on a cluster, and what is Valkey-specific.

Round trips are counted by a proxy between the store and the server (GLIDE sends from native code,
so there is no Python connection to count in).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from glide import GlideClient, GlideClientConfiguration, NodeAddress

from key_value.aio.stores.valkey import ValkeyStore
from key_value.shared.capabilities import Capability
from key_value.shared.errors import InvalidArgumentError, StoreConnectionError
from key_value.shared.redis_keys import server_key
from testing.servers._resp import RespCluster, RespServer
from testing.servers._round_trips import RoundTripCounter

from .contract import ContractTests


class TestValkeyStore(ContractTests):
    @pytest.fixture
    async def store(self, valkey_node: RespServer) -> AsyncIterator[ValkeyStore]:
        valkey_node.flush()
        store = ValkeyStore(host=valkey_node.host, port=valkey_node.port)
        yield store
        await store.close()


class TestValkeyClusterStore(ContractTests):
    @pytest.fixture
    async def store(self, valkey_cluster: RespCluster) -> AsyncIterator[ValkeyStore]:
        valkey_cluster.flush()
        store = ValkeyStore(url=valkey_cluster.url, cluster=True)
        yield store
        await store.close()


async def round_trips(proxy: RoundTripCounter, operation: Callable[[], Any]) -> int:
    """How many requests running `operation` sends through `proxy`."""
    before = proxy.requests
    await operation()
    return proxy.requests - before


class TestValkeyBehaviour:
    @pytest.fixture
    async def store(self, valkey_node: RespServer) -> AsyncIterator[ValkeyStore]:
        valkey_node.flush()
        store = ValkeyStore(url=valkey_node.url)
        yield store
        await store.close()

    async def test_capabilities(self, store: ValkeyStore) -> None:
        expected = Capability.KEYS | Capability.COLLECTIONS | Capability.DESTROY | Capability.DESTROY_COLLECTION
        assert store.capabilities == expected

    async def test_key_layout(self, store: ValkeyStore, valkey_node: RespServer) -> None:
        await store.put("key", {"v": 1}, collection="users")
        await store.put("k}%", {"v": 2}, collection="odd}{%")
        assert valkey_node.command("GET", "kv:{users}key") == b'{"v":1}'
        assert valkey_node.command("GET", "kv:{odd%7D{%25}k}%") == b'{"v":2}'
        assert await store.keys("odd}{%") == ["k}%"]

    async def test_server_keeps_millisecond_ttl(self, store: ValkeyStore, valkey_node: RespServer) -> None:
        name = server_key("default_collection", "key")
        await store.put("key", {"v": 1}, ttl=10)
        assert 9900 <= valkey_node.command("PTTL", name) <= 10_000
        await store.put("key", {"v": 1}, ttl=0.25)
        assert 150 <= valkey_node.command("PTTL", name) <= 250
        await store.put("key", {"v": 2})
        assert valkey_node.command("PTTL", name) == -1
        await store.put_many(["key"], [{"v": 3}], ttl=10)
        assert 9900 <= valkey_node.command("PTTL", name) <= 10_000

    async def test_ttl_reads_the_server(self, store: ValkeyStore, valkey_node: RespServer) -> None:
        await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}], ttl=100)
        valkey_node.command("PEXPIRE", server_key("default_collection", "a"), 5000)
        valkey_node.command("PERSIST", server_key("default_collection", "b"))
        value, remaining = await store.ttl("a")
        assert value == {"v": 1}
        assert remaining is not None
        assert 4.9 <= remaining <= 5.0
        assert (await store.ttl_many(["b", "a"]))[0] == ({"v": 2}, None)

    async def test_one_round_trip_per_operation(self, valkey_node: RespServer) -> None:
        keys = [f"key-{i}" for i in range(100)]
        values = [{"i": i} for i in range(100)]
        with RoundTripCounter(valkey_node.port) as proxy:
            store = ValkeyStore(host=valkey_node.host, port=proxy.port)
            await store.put("warm-up", {"v": 0})  # connects
            assert await round_trips(proxy, lambda: store.put_many(keys, values, ttl=60)) == 1
            assert await round_trips(proxy, lambda: store.put_many(keys, values)) == 1
            assert await round_trips(proxy, lambda: store.get_many(keys)) == 1
            assert await round_trips(proxy, lambda: store.ttl_many(keys)) == 1
            assert await round_trips(proxy, lambda: store.delete_many(keys)) == 1
            assert await round_trips(proxy, lambda: store.put("key", {"v": 1}, ttl=60)) == 1
            assert await round_trips(proxy, lambda: store.get("key")) == 1
            assert await round_trips(proxy, lambda: store.ttl("key")) == 1
            assert await round_trips(proxy, lambda: store.delete("key")) == 1
            await store.close()

    async def test_match_pattern_escaped(self, store: ValkeyStore) -> None:
        names = ["a*", "a?", "[a]", "a\\", "ab", "a", "a]", "x"]
        for name in names:
            await store.put_many(["one", "two"], [{"c": name}, {"c": name}], collection=name)
        for name in names:
            assert sorted(await store.keys(name)) == ["one", "two"]
        assert sorted(await store.collections()) == sorted(names)
        assert await store.destroy_collection("a*") is True
        assert await store.destroy_collection("[a]") is True
        assert sorted(await store.collections()) == sorted(set(names) - {"a*", "[a]"})

    async def test_destroy_leaves_foreign_keys(self, store: ValkeyStore, valkey_node: RespServer) -> None:
        foreign = ["foreign", "kv:plain", "{kv}x", "kv:{unclosed", "kv:{bad%zz}key", "kv:{c}"]
        for name in foreign:
            valkey_node.command("SET", name, "theirs")
        await store.put("a", {"v": 1}, collection="c")
        await store.put("b", {"v": 2}, collection="d")
        assert sorted(await store.collections()) == ["c", "d"]
        assert await store.destroy_collection("c") is True
        assert await store.get("b", collection="d") == {"v": 2}
        assert await store.destroy() is True
        assert await store.destroy() is False
        assert sorted(valkey_node.command("KEYS", "*")) == sorted(name.encode() for name in foreign)

    async def test_url_and_database(self, valkey_node: RespServer) -> None:
        async with ValkeyStore(url=f"valkey://{valkey_node.host}:{valkey_node.port}/3") as store:
            await store.put("key", {"v": 1})
        async with ValkeyStore(host=valkey_node.host, port=valkey_node.port, db=4) as store:
            await store.put("key", {"v": 2})
        config = GlideClientConfiguration([NodeAddress(valkey_node.host, valkey_node.port)], database_id=5)
        async with ValkeyStore(config=config) as store:
            await store.put("key", {"v": 3})
        name = server_key("default_collection", "key")
        assert valkey_node.command("GET", name, db=3) == b'{"v":1}'
        assert valkey_node.command("GET", name, db=4) == b'{"v":2}'
        assert valkey_node.command("GET", name, db=5) == b'{"v":3}'
        assert valkey_node.command("GET", name) is None

    async def test_given_client_is_not_closed(self, valkey_node: RespServer) -> None:
        client = await GlideClient.create(GlideClientConfiguration([NodeAddress(valkey_node.host, valkey_node.port)]))
        async with ValkeyStore(client=client) as store:
            await store.put("key", {"v": 1})
            assert await store.get("key") == {"v": 1}
        assert await client.set("still-open", "yes") == "OK"
        await client.close()

    @pytest.mark.parametrize(
        "url", ["http://localhost", "valkey://localhost:port", "valkey://localhost/db", "valkey://[::1"]
    )
    def test_bad_url(self, url: str) -> None:
        with pytest.raises(InvalidArgumentError):
            ValkeyStore(url=url)

    def test_bad_settings(self) -> None:
        with pytest.raises(InvalidArgumentError):
            ValkeyStore(url="valkey://localhost", config=GlideClientConfiguration([NodeAddress()]))
        with pytest.raises(InvalidArgumentError):
            ValkeyStore(cluster=True, db=1)
        with pytest.raises(InvalidArgumentError):
            ValkeyStore(cluster=True, config=GlideClientConfiguration([NodeAddress()]))

    def test_used_from_two_event_loops(self, valkey_node: RespServer) -> None:
        valkey_node.flush()
        store = ValkeyStore(url=valkey_node.url)
        if True:  # ASYNC
            # One loop after the other, each closed when done (as asyncio.run and web test clients do).
            asyncio.run(store.put("key", {"v": 1}))
            assert asyncio.run(store.get("key")) == {"v": 1}
            # Two loops open at once, taking turns: GLIDE reads all replies on one loop, which is idle
            # while the other runs.
            first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
            try:
                first.run_until_complete(asyncio.wait_for(store.put("key", {"v": 2}), 10))
                assert second.run_until_complete(asyncio.wait_for(store.get("key"), 10)) == {"v": 2}
                assert first.run_until_complete(asyncio.wait_for(store.get("key"), 10)) == {"v": 2}
                assert second.run_until_complete(asyncio.wait_for(store.delete("key"), 10)) is True
                first.run_until_complete(first.shutdown_asyncgens())  # closes the first loop's client
                first.close()  # the second loop's client exists already, so GLIDE itself would not move on
                assert second.run_until_complete(asyncio.wait_for(store.get("key"), 10)) is None
            finally:
                for loop in (first, second):
                    if not loop.is_closed():
                        loop.run_until_complete(loop.shutdown_asyncgens())
                        loop.close()
        else:
            writer = threading.Thread(target=store.put, args=("key", {"v": 1}))
            writer.start()
            writer.join()
            assert store.get("key") == {"v": 1}
            store.close()

    async def test_stopped_server_then_back(self, private_valkey_node: RespServer) -> None:
        store = ValkeyStore(url=private_valkey_node.url)
        await store.put("key", {"v": 1})
        private_valkey_node.process.stop()
        with pytest.raises(StoreConnectionError):
            await store.get("key")
        with pytest.raises(StoreConnectionError):
            await store.put("key", {"v": 2})
        private_valkey_node.process.start()  # same port, empty again (no persistence)
        deadline = time.monotonic() + 20
        while True:  # GLIDE reconnects in the background, with backoff
            try:
                await store.put("key", {"v": 3})
                break
            except StoreConnectionError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        assert await store.get("key") == {"v": 3}
        await store.close()

    async def test_closed_client_replaced(self, store: ValkeyStore) -> None:
        await store.put("key", {"v": 1})
        client = await store._clients.get()  # pyright: ignore[reportPrivateUsage] - closing it behind the store's back
        await client.close()
        with pytest.raises(StoreConnectionError):
            await store.get("key")  # GLIDE's ClosingError: the store drops that client...
        assert await store.get("key") == {"v": 1}  # ...and connects afresh

    async def test_unanswered_request_times_out(self, private_valkey_node: RespServer) -> None:
        address = NodeAddress(private_valkey_node.host, private_valkey_node.port)
        store = ValkeyStore(config=GlideClientConfiguration([address], request_timeout=200))
        await store.put("key", {"v": 1})
        private_valkey_node.process.pause()
        try:
            started = time.monotonic()
            with pytest.raises(StoreConnectionError):
                await store.get("key")
            assert time.monotonic() - started < 5
        finally:
            private_valkey_node.process.resume()
        await store.close()


class TestValkeyClusterBehaviour:
    async def test_collection_in_one_hash_slot(self, valkey_cluster: RespCluster) -> None:
        valkey_cluster.flush()
        async with ValkeyStore(host=valkey_cluster.host, port=valkey_cluster.port, cluster=True) as store:
            names = [f"collection-{i}" for i in range(20)]
            for name in names:
                await store.put_many([f"k{i}" for i in range(20)], [{"i": i} for i in range(20)], collection=name)
            for name in names:
                slots = {valkey_cluster.command("CLUSTER", "KEYSLOT", server_key(name, f"k{i}")) for i in range(20)}
                assert len(slots) == 1
            assert all(count > 0 for count in valkey_cluster.key_counts())  # the collections spread over the nodes
            assert sorted(await store.collections()) == sorted(names)
            assert len(await store.keys("collection-3", limit=5)) == 5
            assert await store.destroy() is True
            assert await store.collections() == []

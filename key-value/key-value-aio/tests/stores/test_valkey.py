"""ValkeyStore against real servers: the contract on one node and on a cluster, what it shares with
RedisStore (`resp_behaviour`), and what is Valkey-specific (GLIDE configurations and clients).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import pytest
from glide import GlideClient, GlideClientConfiguration, NodeAddress

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.valkey import ValkeyStore
from key_value.shared.errors import InvalidArgumentError, StoreConnectionError
from testing.servers._resp import RespCluster, RespServer
from testing.servers._round_trips import RoundTripCounter

from ..support.contract import ContractTests
from ..support.resp_behaviour import (
    MarkedRespLayout,
    RespBehaviour,
    RespClusterBehaviour,
    race_separate_stores,
    server_key,
)


class TestValkeyStore(ContractTests):
    etag_from_content = True

    @pytest.fixture
    async def store(self, valkey_node: RespServer) -> AsyncIterator[ValkeyStore]:
        valkey_node.flush()
        store = ValkeyStore(host=valkey_node.host, port=valkey_node.port)
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, valkey_node: RespServer) -> dict[str, Any]:
        # GLIDE gives up on a reply after 250 ms by default; 8 racers on 2 busy cores reach that
        return {"host": valkey_node.host, "port": valkey_node.port, "timeout": 10}


class TestValkeyStoreWithLayout(ContractTests):
    etag_from_content = True

    @pytest.fixture
    async def store(self, valkey_node: RespServer) -> AsyncIterator[ValkeyStore]:
        valkey_node.flush()
        store = ValkeyStore(host=valkey_node.host, port=valkey_node.port, layout=MarkedRespLayout())
        yield store
        await store.close()

    async def test_transform_race_across_processes(
        self, race_store: AsyncKeyValue, request: pytest.FixtureRequest
    ) -> None:
        """A layout object cannot reach the race's worker processes (JSON options): 4 stores of their own race."""
        store = race_store
        valkey_node: RespServer = request.getfixturevalue("valkey_node")
        racers = [
            ValkeyStore(host=valkey_node.host, port=valkey_node.port, layout=MarkedRespLayout()) for _ in range(4)
        ]
        await race_separate_stores(racers, store)


class TestValkeyClusterStore(ContractTests):
    etag_from_content = True

    @pytest.fixture
    async def store(self, valkey_cluster: RespCluster) -> AsyncIterator[ValkeyStore]:
        valkey_cluster.flush()
        store = ValkeyStore(url=valkey_cluster.url, cluster=True)
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, valkey_cluster: RespCluster) -> dict[str, Any]:
        return {"url": valkey_cluster.url, "cluster": True, "timeout": 10}  # see TestValkeyStore.store_options


class TestValkeyBehaviour(RespBehaviour):
    scheme = "valkey"

    def make_store(self, **options: Any) -> ValkeyStore:
        return ValkeyStore(**options)

    def timing_out_store(self, node: RespServer) -> ValkeyStore:
        return ValkeyStore(host=node.host, port=node.port, timeout=0.2)

    @contextlib.asynccontextmanager
    async def counting_store(self, node: RespServer) -> AsyncGenerator[tuple[ValkeyStore, Callable[[], int]]]:
        """Counted by a proxy: GLIDE sends from native code, so there is no Python connection to count in. It
        writes a whole batch at once, so the proxy sees one burst of bytes per round trip."""
        with RoundTripCounter(node.port) as proxy:
            store = ValkeyStore(host=node.host, port=proxy.port)
            try:
                yield store, lambda: proxy.requests
            finally:
                await store.close()

    @pytest.fixture
    def node(self, valkey_node: RespServer) -> RespServer:
        return valkey_node

    @pytest.fixture
    def private_node(self, private_valkey_node: RespServer) -> RespServer:
        return private_valkey_node

    async def test_database_in_config(self, valkey_node: RespServer) -> None:
        config = GlideClientConfiguration([NodeAddress(valkey_node.host, valkey_node.port)], database_id=5)
        async with ValkeyStore(config=config) as store:
            await store.put("key", {"v": 3})
        assert valkey_node.command("GET", server_key("default_collection", "key"), db=5) == b'{"v":3}'

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
        with pytest.raises(InvalidArgumentError):
            ValkeyStore(timeout=1, config=GlideClientConfiguration([NodeAddress()]))
        for timeout in (0, -1, float("inf"), "1", True):
            with pytest.raises(InvalidArgumentError):
                ValkeyStore(timeout=timeout)  # pyright: ignore[reportArgumentType] - wrong on purpose
        with pytest.raises(InvalidArgumentError):
            ValkeyStore.from_url("valkey://localhost?timeout=soon")

    async def test_closed_client_replaced(self, store: ValkeyStore) -> None:
        await store.put("key", {"v": 1})
        client = await store._clients.get()  # pyright: ignore[reportPrivateUsage] - closing it behind the store's back
        await client.close()
        with pytest.raises(StoreConnectionError):
            await store.get("key")  # GLIDE's ClosingError: the store drops that client...
        assert await store.get("key") == {"v": 1}  # ...and connects afresh


class TestValkeyClusterBehaviour(RespClusterBehaviour):
    def make_store(self, **options: Any) -> ValkeyStore:
        return ValkeyStore(**options)

    @pytest.fixture
    def cluster(self, valkey_cluster: RespCluster) -> RespCluster:
        return valkey_cluster

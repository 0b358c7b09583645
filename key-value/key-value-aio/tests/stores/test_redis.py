"""RedisStore against real servers: the contract on one node and on a cluster, what it shares with
ValkeyStore (`resp_behaviour`), and what is Redis-specific (TLS, users, redis-py clients).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Connection, ConnectionPool, Redis

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.redis import RedisStore
from key_value.shared.errors import InvalidArgumentError, StoreConnectionError
from testing.servers._resp import RespCluster, RespServer
from testing.servers.redis_server import PASSWORD, USER, TLSServer

from ..support.contract import ContractTests
from ..support.resp_behaviour import MarkedRespLayout, RespBehaviour, RespClusterBehaviour, race_separate_stores


class TestRedisStore(ContractTests):
    etag_from_content = True

    @pytest.fixture
    async def store(self, redis_server: RespServer) -> AsyncIterator[RedisStore]:
        redis_server.flush()
        store = RedisStore(url=redis_server.url)
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, redis_server: RespServer) -> dict[str, Any]:
        return {"url": redis_server.url}


class TestRedisStoreWithLayout(ContractTests):
    etag_from_content = True

    @pytest.fixture
    async def store(self, redis_server: RespServer) -> AsyncIterator[RedisStore]:
        redis_server.flush()
        store = RedisStore(url=redis_server.url, layout=MarkedRespLayout())
        yield store
        await store.close()

    async def test_transform_race_across_processes(
        self, race_store: AsyncKeyValue, request: pytest.FixtureRequest
    ) -> None:
        """A layout object cannot reach the race's worker processes (JSON options): 4 stores of their own race."""
        store = race_store
        redis_server: RespServer = request.getfixturevalue("redis_server")
        await race_separate_stores(
            [RedisStore(url=redis_server.url, layout=MarkedRespLayout()) for _ in range(4)], store
        )


class TestRedisClusterStore(ContractTests):
    etag_from_content = True

    @pytest.fixture
    async def store(self, redis_cluster: RespCluster) -> AsyncIterator[RedisStore]:
        redis_cluster.flush()
        store = RedisStore(url=redis_cluster.url, cluster=True)
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, redis_cluster: RespCluster) -> dict[str, Any]:
        return {"url": redis_cluster.url, "cluster": True}


class CountingConnection(Connection):
    """Counts the requests sent to the server: one per command, one per whole pipeline.

    (A proxy counting bursts of bytes would not do: redis-py writes a long pipeline in chunks, and the
    server may answer the first before the last arrives.)
    """

    requests = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.requests += 1
        parent: Any = super()  # the sync redis-py leaves this method's parameters untyped
        await parent.send_packed_command(command, check_health)


class TestRedisBehaviour(RespBehaviour):
    def make_store(self, **options: Any) -> RedisStore:
        return RedisStore(**options)

    def timing_out_store(self, node: RespServer) -> RedisStore:
        return RedisStore(url=f"{node.url}?socket_timeout=0.2")

    @contextlib.asynccontextmanager
    async def counting_store(self, node: RespServer) -> AsyncGenerator[tuple[RedisStore, Callable[[], int]]]:
        pool = ConnectionPool(host=node.host, port=node.port, connection_class=CountingConnection)
        client = Redis.from_pool(pool)
        try:
            yield RedisStore(client=client), lambda: CountingConnection.requests
        finally:
            await client.aclose()

    @pytest.fixture
    def node(self, redis_server: RespServer) -> RespServer:
        return redis_server

    @pytest.fixture
    def private_node(self, private_redis_server: RespServer) -> RespServer:
        return private_redis_server

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
        redis_server.flush()  # keys() below must see only this test's entry
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


class TestRedisClusterBehaviour(RespClusterBehaviour):
    def make_store(self, **options: Any) -> RedisStore:
        return RedisStore(**options)

    @pytest.fixture
    def cluster(self, redis_cluster: RespCluster) -> RespCluster:
        return redis_cluster

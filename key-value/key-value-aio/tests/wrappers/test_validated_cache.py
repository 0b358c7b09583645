"""ValidatedCacheWrapper: the contract around each inner store; hits checked against writes by other clients,
requests per read counted on real servers, the LRU bound, and the stores it refuses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql

from key_value.aio.conditional import KEEP_CURRENT
from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.disk import DiskStore
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.nats import NATSStore
from key_value.aio.stores.postgresql import PostgreSQLStore
from key_value.aio.stores.valkey import ValkeyStore
from key_value.aio.wrappers.base import ALL_SEGMENTS
from key_value.aio.wrappers.statistics import StatisticsWrapper
from key_value.aio.wrappers.validated_cache import ValidatedCacheWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError, UnsupportedOperationError
from testing.servers._process import LOOPBACK
from testing.servers._resp import RespServer
from testing.servers._round_trips import RoundTripCounter
from testing.servers.nats_server import NatsServer
from testing.servers.postgresql_server import DATABASE, SUPERUSER, PostgresServer

from ..support.conditional import conditional
from ..support.contract import ContractTests
from ..support.doubles import Limited
from ..support.timing import sleep


class TestValidatedCacheContract(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> ValidatedCacheWrapper:
        return ValidatedCacheWrapper(inner_store, max_entries=64)


class TestValidatedCacheOfTwoEntriesContract(ContractTests):
    """Every read evicts something: the contract holds however small the cache is."""

    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> ValidatedCacheWrapper:
        return ValidatedCacheWrapper(inner_store, max_entries=2)


@pytest.fixture
async def disk_clients(tmp_path: Path) -> AsyncIterator[tuple[DiskStore, DiskStore]]:
    """Two DiskStore objects on one directory, as two processes would have."""
    first, second = DiskStore(directory=tmp_path / "shared"), DiskStore(directory=tmp_path / "shared")
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def check_writes_of_others_seen(mine: AsyncKeyValue, theirs: AsyncKeyValue) -> None:
    """Through `mine` (cached), every write and delete made through `theirs` is seen on the next read."""
    key = f"k-{uuid.uuid4().hex}"
    cached = ValidatedCacheWrapper(mine)
    await cached.put(key, {"v": 1})
    assert await cached.get(key) == {"v": 1}  # now cached
    await theirs.put(key, {"v": 2})
    assert await cached.get(key) == {"v": 2}
    assert await cached.get_many([key, "missing"]) == [{"v": 2}, None]
    await theirs.put(key, {"v": 3}, ttl=30)
    value, remaining = await cached.ttl(key)
    assert value == {"v": 3}
    assert remaining is not None
    assert 29 < remaining <= 30
    await theirs.delete(key)
    assert await cached.get(key) is None


async def test_writes_by_another_disk_client_are_seen(disk_clients: tuple[DiskStore, DiskStore]) -> None:
    await check_writes_of_others_seen(*disk_clients)


async def test_writes_by_another_valkey_client_are_seen(valkey_node: RespServer) -> None:
    mine = ValkeyStore(host=valkey_node.host, port=valkey_node.port, timeout=10)
    theirs = ValkeyStore(host=valkey_node.host, port=valkey_node.port, timeout=10)
    try:
        await check_writes_of_others_seen(mine, theirs)
    finally:
        await mine.close()
        await theirs.close()


async def test_hits_cost_one_check_and_no_value() -> None:
    inner = MemoryStore()
    stats = StatisticsWrapper(inner)
    cached = ValidatedCacheWrapper(stats)
    await inner.put("k", {"v": 1}, collection="c")
    assert await cached.get("k", collection="c") == {"v": 1}  # a miss: one get_entry
    for _ in range(3):
        assert await cached.get("k", collection="c") == {"v": 1}  # hits: one satisfied KEEP_CURRENT check each
    counters = stats.statistics.get_collection("c").conditional
    assert (counters.count, counters.entries_found, counters.satisfied) == (4, 1, 3)
    await inner.put("k", {"v": 2}, collection="c")
    assert await cached.get("k", collection="c") == {"v": 2}  # a failed check, then a read
    assert (counters.count, counters.conflicts) == (6, 1)


async def test_an_entry_expires_like_the_stores() -> None:
    inner = MemoryStore()
    cached = ValidatedCacheWrapper(inner)
    await cached.put("k", {"v": 1}, ttl=1)
    assert await cached.get("k") == {"v": 1}
    await sleep(1.5)
    assert await cached.get("k") is None
    assert await inner.get("k") is None


async def test_a_ttl_refresh_by_another_client_is_reported() -> None:
    inner = MemoryStore()
    cached = ValidatedCacheWrapper(inner)
    await inner.put("k", {"v": 1}, ttl=10)
    assert await cached.get("k") == {"v": 1}
    entry = await inner.get_entry("k")
    assert entry is not None
    await inner.put_if("k", KEEP_CURRENT, etag=entry.etag, ttl=100)  # the ETag stays
    _, remaining = await cached.ttl("k")
    assert remaining is not None
    assert remaining > 90
    await sleep(20)
    assert await cached.get("k") == {"v": 1}  # past the first expiry, still live in the store


async def test_returned_values_are_copies() -> None:
    cached = ValidatedCacheWrapper(MemoryStore())
    await cached.put("k", {"list": [1]})
    first = await cached.get("k")
    assert first is not None
    first["list"].append(2)
    assert await cached.get("k") == {"list": [1]}


async def test_bounded_least_recently_used_first() -> None:
    stats = StatisticsWrapper(MemoryStore())
    cached = ValidatedCacheWrapper(stats, max_entries=2)
    await cached.put_many(["a", "b", "c"], [{"v": "a"}, {"v": "b"}, {"v": "c"}])
    await cached.get("a")
    await cached.get("b")
    await cached.get("a")  # b is now the least recently used
    await cached.get("c")  # evicts b
    counters = stats.statistics.get_collection(stats.default_collection or "default").conditional
    before = counters.entries_found
    await cached.get("a")  # a hit: no read
    assert counters.entries_found == before
    await cached.get("b")  # evicted: read again
    assert counters.entries_found == before + 1


async def test_writes_through_the_wrapper_drop_the_cached_entry() -> None:
    inner = MemoryStore()
    cached = ValidatedCacheWrapper(inner)
    wrapper = conditional(cached)
    for write in (
        lambda: cached.put("k", {"v": 2}),
        lambda: cached.put_many(["k"], [{"v": 3}]),
        lambda: wrapper.transform("k", lambda value: {"v": 4}),
    ):
        await inner.put("k", {"v": 1})
        assert await cached.get("k") == {"v": 1}
        await write()
        assert await inner.get("k") != {"v": 1}
        assert await cached.get("k") == await inner.get("k")
    assert await cached.delete("k")
    assert await cached.get("k") is None


def test_needs_the_conditional_segment() -> None:
    with pytest.raises(UnsupportedOperationError):
        ValidatedCacheWrapper(Limited(MemoryStore(), ALL_SEGMENTS & ~Capability.CONDITIONAL))
    assert ValidatedCacheWrapper(MemoryStore()).capabilities == ALL_SEGMENTS


@pytest.mark.parametrize("max_entries", [0, -1, 1.5, True, "10", None])
def test_bad_max_entries(max_entries: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        ValidatedCacheWrapper(MemoryStore(), max_entries=max_entries)


async def test_bad_input_reports_the_input_error() -> None:
    cached = ValidatedCacheWrapper(MemoryStore())
    with pytest.raises(InvalidKeyError):
        await cached.get("")
    with pytest.raises(InvalidKeyError):
        await cached.get_many("ab")
    with pytest.raises(InvalidKeyError):
        await cached.put("k", {"v": 1}, collection="")
    assert await cached.get("k") is None


# -- requests per read, counted by a proxy in front of real servers ------------------------------------


async def requests(proxy: RoundTripCounter, operation: Callable[[], Any]) -> int:
    before = proxy.requests
    await operation()
    return proxy.requests - before


async def check_requests(store: AsyncKeyValue, proxy: RoundTripCounter) -> None:
    """A miss and a hit are one request each; a hit whose entry changed is two (the check, then a read).

    A first round on another key warms the client up (script loading, statement preparation)."""
    cached = ValidatedCacheWrapper(store)
    counts: list[int] = []
    for key in (f"warm-{uuid.uuid4().hex}", f"k-{uuid.uuid4().hex}"):
        await store.put(key, {"blob": "x" * 10_000})
        counts = [await requests(proxy, lambda key=key: cached.get(key)) for _ in range(2)]
        await store.put(key, {"blob": "y"})
        counts += [await requests(proxy, lambda key=key: cached.get(key)) for _ in range(2)]
        assert await cached.get(key) == {"blob": "y"}
    assert counts == [1, 1, 2, 1]  # miss, hit, changed, hit


async def test_requests_per_read_on_valkey(valkey_node: RespServer) -> None:
    with RoundTripCounter(valkey_node.port) as proxy:
        store = ValkeyStore(host=valkey_node.host, port=proxy.port, timeout=10)
        try:
            await check_requests(store, proxy)
        finally:
            await store.close()


async def test_requests_per_read_on_postgresql(postgresql_server: PostgresServer) -> None:
    table = f"kv_{uuid.uuid4().hex[:16]}"
    with RoundTripCounter(postgresql_server.port) as proxy:
        url = f"postgresql://{SUPERUSER}@{postgresql_server.host}:{proxy.port}/{DATABASE}"
        store = PostgreSQLStore(url=url, table_name=table)
        try:
            await check_requests(store, proxy)
        finally:
            await store.close()
            with postgresql_server.connect() as connection:
                connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))


async def test_requests_per_read_on_nats(nats_server: NatsServer) -> None:
    with RoundTripCounter(nats_server.port) as proxy:
        store = NATSStore(url=f"nats://{LOOPBACK}:{proxy.port}", bucket=f"kv_{uuid.uuid4().hex[:16]}")
        try:
            await check_requests(store, proxy)
        finally:
            await store.destroy()
            await store.close()

"""MemcachedStore against a real memcached: the contract, and what is memcached-specific.

Round trips are counted by a proxy between the store and the server; the server's own view of an
item's expiry is read with the meta command `mg <key> t`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from key_value.aio.conditional import ABSENT, ANY, CHANGED, DELETE_CURRENT, KEEP_CURRENT, Atomicity
from key_value.aio.protocols.key_value import (
    AsyncConditionalProtocol,
    AsyncCullProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValue,
)
from key_value.aio.stores.memcached import MemcachedStore, MemcachedV1KeySanitizationStrategy
from key_value.aio.stores.memcached.store import expiry_flags, expiry_from_meta
from key_value.aio.stores.memcached.wire import new_wire
from key_value.shared.capabilities import Capability
from key_value.shared.entry import Entry
from key_value.shared.errors import (
    DeserializationError,
    InvalidArgumentError,
    StoreConnectionError,
    ValueTooLargeError,
)
from key_value.shared.layouts.memcached import NATIVE_MEMCACHED_LAYOUT, NativeMemcachedLayout
from key_value.shared.records import decode_record
from testing.servers._round_trips import RoundTripCounter
from testing.servers.memcached_server import MemcachedServer

from ..support.contract import ContractTests
from ..support.server_checks import check_unanswered_request_times_out, check_used_from_two_event_loops

DAY = 24 * 3600
item_key = NATIVE_MEMCACHED_LAYOUT.item_key


class MarkedMemcachedLayout(NativeMemcachedLayout):
    """The native layout with every item name prefixed by `m:` and every record by `#`, to prove the store uses it."""

    def item_key(self, collection: str, key: str) -> bytes:
        return b"m:" + super().item_key(collection, key)

    def encode(
        self,
        name: bytes,
        value_json: str,
        expires_at: float | None,
        *,
        collection: str,
        key: str,
        version: str | None = None,
    ) -> bytes:
        encoded = super().encode(name[2:], value_json, expires_at, collection=collection, key=key, version=version)
        return b"#" + encoded

    def decode(self, data: bytes, *, collection: str, key: str) -> Entry | None:
        assert data.startswith(b"#"), data
        return super().decode(data[1:], collection=collection, key=key)


class TestMemcachedStore(ContractTests):
    @pytest.fixture
    async def store(self, memcached_server: MemcachedServer) -> AsyncIterator[MemcachedStore]:
        memcached_server.flush()
        store = MemcachedStore(host=memcached_server.host, port=memcached_server.port)
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, memcached_server: MemcachedServer) -> dict[str, Any]:
        return {"host": memcached_server.host, "port": memcached_server.port}


class TestMemcachedStoreWithLayout(ContractTests):
    @pytest.fixture
    async def store(self, memcached_server: MemcachedServer) -> AsyncIterator[MemcachedStore]:
        memcached_server.flush()
        store = MemcachedStore(host=memcached_server.host, port=memcached_server.port, layout=MarkedMemcachedLayout())
        yield store
        await store.close()

    async def test_transform_race_across_processes(
        self, race_store: AsyncKeyValue, request: pytest.FixtureRequest
    ) -> None:
        """A layout object does not go to another process: 4 stores of their own connections race instead
        (async: tasks, sync: threads), so that the server's CAS uniques, not one store's lock, decide."""
        store = race_store
        memcached_server: MemcachedServer = request.getfixturevalue("memcached_server")
        stores = [
            MemcachedStore(host=memcached_server.host, port=memcached_server.port, layout=MarkedMemcachedLayout())
            for _ in range(4)
        ]
        rounds = 50

        def increment(value: dict[str, Any] | None) -> dict[str, Any]:
            return {"n": (0 if value is None else value["n"]) + 1}

        async def worker(racer: MemcachedStore) -> None:
            for _ in range(rounds):
                await racer.transform("across", increment, collection="race", retries=1000)
            await racer.close()

        if True:  # ASYNC
            await asyncio.gather(*(worker(racer) for racer in stores))
        else:
            from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

            with ThreadPoolExecutor(max_workers=len(stores)) as pool:
                list(pool.map(worker, stores))
        assert await store.get("across", collection="race") == {"n": len(stores) * rounds}


def server_ttl(server: MemcachedServer, name: bytes) -> int | None:
    """The item's remaining seconds as memcached counts them (-1: no expiry), or None if it has no such item."""
    reply = server.command(b"mg " + name + b" t")
    return None if reply.startswith(b"EN") else int(reply.split(b" t")[1])


def raw_record(server: MemcachedServer, name: bytes) -> dict[str, Any]:
    reply = server.command(b"get " + name, until=b"END\r\n")
    return decode_record(reply.split(b"\r\n")[1])


async def round_trips(proxy: RoundTripCounter, operation: Callable[[], Any]) -> int:
    """How many requests running `operation` sends through `proxy`."""
    before = proxy.requests
    await operation()
    return proxy.requests - before


class TestMemcachedBehaviour:
    @pytest.fixture
    async def store(self, memcached_server: MemcachedServer) -> AsyncIterator[MemcachedStore]:
        memcached_server.flush()
        store = MemcachedStore(host=memcached_server.host, port=memcached_server.port)
        yield store
        await store.close()

    async def test_no_enumeration_or_destroy(self, store: MemcachedStore) -> None:
        assert store.capabilities == Capability.CONDITIONAL
        assert isinstance(store, AsyncConditionalProtocol)
        assert store.atomicity is Atomicity.ACROSS_PROCESSES
        for segment in (
            AsyncEnumerateKeysProtocol,
            AsyncEnumerateCollectionsProtocol,
            AsyncDestroyStoreProtocol,
            AsyncDestroyCollectionProtocol,
            AsyncCullProtocol,
        ):
            assert not isinstance(store, segment)

    async def test_key_layout(self, store: MemcachedStore, memcached_server: MemcachedServer) -> None:
        await store.put("alice", {"age": 30}, collection="users", ttl=60)
        await store.put("a b:c%", {"v": 1}, collection="x:y")
        assert item_key("users", "alice") == b"kv:users:alice"
        assert item_key("x:y", "a b:c%") == b"kv:x%3Ay:a%20b%3Ac%25"
        record = raw_record(memcached_server, b"kv:users:alice")
        assert record["value"] == {"age": 30}
        assert record["expires_at"] == pytest.approx(time.time() + 60, abs=2)
        assert raw_record(memcached_server, b"kv:x%3Ay:a%20b%3Ac%25") == {"expires_at": None, "value": {"v": 1}}

    async def test_layout_is_injected(self, memcached_server: MemcachedServer) -> None:
        memcached_server.flush()
        layout = MarkedMemcachedLayout()
        async with MemcachedStore(host=memcached_server.host, port=memcached_server.port, layout=layout) as marked:
            await marked.put("alice", {"age": 30}, collection="users", ttl=60)
            reply = memcached_server.command(b"get m:kv:users:alice", until=b"END\r\n")
            assert reply.split(b"\r\n")[1].startswith(b"#{")
            assert server_ttl(memcached_server, b"m:kv:users:alice") is not None
            assert server_ttl(memcached_server, b"kv:users:alice") is None
            assert await marked.get("alice", collection="users") == {"age": 30}
            assert await marked.delete("alice", collection="users") is True
        with pytest.raises(InvalidArgumentError, match="either layout= or key_sanitization_strategy="):
            MemcachedStore(
                layout=MarkedMemcachedLayout(), key_sanitization_strategy=MemcachedV1KeySanitizationStrategy()
            )

    async def test_long_keys_hashed_with_raw_key_kept(
        self, store: MemcachedStore, memcached_server: MemcachedServer
    ) -> None:
        fits = "k" * (250 - len("kv:c:"))
        assert item_key("c", fits) == f"kv:c:{fits}".encode()
        for key in ("k" * (251 - len("kv:c:")), "é" * 50):  # 251 characters; 50 characters but 300 bytes encoded
            name = item_key("c", key)
            assert name.startswith(b"kv#")
            assert len(name) <= 250
            await store.put(key, {"long": True}, collection="c")
            record = raw_record(memcached_server, name)
            assert (record["collection"], record["key"]) == ("c", key)
            assert await store.get(key, collection="c") == {"long": True}
            assert await store.delete(key, collection="c") is True

    async def test_server_ttl_rounded_up(self, store: MemcachedStore, memcached_server: MemcachedServer) -> None:
        name = item_key("default_collection", "key")
        await store.put("key", {"v": 1}, ttl=0.2)
        assert server_ttl(memcached_server, name) in (1, 2)  # whole seconds, never less than asked
        await store.put("key", {"v": 1}, ttl=10)
        assert server_ttl(memcached_server, name) in (10, 11)
        await store.put("key", {"v": 1})
        assert server_ttl(memcached_server, name) == -1
        await store.put_many(["key"], [{"v": 1}], ttl=10.5)
        assert server_ttl(memcached_server, name) in (11, 12)

    async def test_ttl_beyond_30_days_sent_as_time(
        self, store: MemcachedStore, memcached_server: MemcachedServer
    ) -> None:
        await store.put("month", {"v": 1}, ttl=29 * DAY)
        await store.put("long", {"v": 2}, ttl=40 * DAY)
        await store.put_many(["year"], [{"v": 3}], ttl=365 * DAY)
        assert await store.get_many(["month", "long", "year"]) == [{"v": 1}, {"v": 2}, {"v": 3}]
        for key, days in (("month", 29), ("long", 40), ("year", 365)):
            remaining = server_ttl(memcached_server, item_key("default_collection", key))
            assert remaining is not None
            # memcached's own clock ticks once a second from a timer and lags on a loaded machine, so an
            # absolute expiry (past 30 days) reads a few seconds long; sent as relative it would be long gone
            assert days * DAY <= remaining <= days * DAY + 15

    async def test_etag_is_the_cas_unique(self, store: MemcachedStore, memcached_server: MemcachedServer) -> None:
        await store.put("key", {"v": 1})
        entry = await store.get_entry("key")
        assert entry is not None
        assert entry.written_at is None  # memcached does not record it
        reply = memcached_server.command(b"mg " + item_key("default_collection", "key") + b" c")
        assert reply == b"HD c" + entry.etag.encode() + b"\r\n"
        written = await store.put_if("key", {"v": 2}, etag=entry.etag, ttl=60)  # then `@` and the expiry in ms
        entry = await store.get_entry("key")
        assert entry is not None
        assert entry.etag == written.resulting_etag
        cas, at, expiry = entry.etag.partition("@")
        assert at == "@"
        assert memcached_server.command(b"mg " + item_key("default_collection", "key") + b" c") == b"HD c%s\r\n" % (
            cas.encode()
        )
        record = raw_record(memcached_server, item_key("default_collection", "key"))
        assert int(expiry) == round(record["expires_at"] * 1000)

    async def test_ttl_refresh_keeps_the_etag_in_the_record(
        self, store: MemcachedStore, memcached_server: MemcachedServer
    ) -> None:
        """memcached 1.6.18 cannot rewrite an item and keep its CAS unique: the record keeps the ETag."""
        name = item_key("default_collection", "key")
        await store.put("key", {"v": 1}, ttl=5)
        entry = await store.get_entry("key")
        assert entry is not None
        refreshed = await store.put_if("key", KEEP_CURRENT, etag=entry.etag, ttl=100)
        assert refreshed.resulting_etag == entry.etag
        assert raw_record(memcached_server, name)["etag"] == entry.etag
        assert server_ttl(memcached_server, name) in (100, 101)
        again = await store.put_if("key", KEEP_CURRENT, etag=entry.etag, ttl=200)  # a second refresh keeps it too
        assert again.satisfied
        assert again.resulting_etag == entry.etag
        written = await store.put_if("key", {"v": 2}, etag=entry.etag)
        assert written.satisfied
        assert written.resulting_etag != entry.etag
        assert "etag" not in raw_record(memcached_server, name)  # a new write, the item's own CAS unique
        await store.put("key", {"v": 3})
        assert not (await store.put_if("key", {"v": 4}, etag=entry.etag)).satisfied

    async def test_expired_item_still_on_the_server_is_absent(self, store: MemcachedStore) -> None:
        """The record's expiry decides (memcached keeps the item a second or two more); it is overwritten
        only if nobody wrote it meanwhile."""
        now = [time.time()]
        store.clock = lambda: now[0]
        await store.put("key", {"v": 1}, ttl=30)
        old = await store.get_entry("key")
        assert old is not None
        now[0] += 31
        assert await store.get_entry("key") is None
        assert not (await store.put_if("key", {"v": 2}, etag=old.etag)).satisfied
        assert not (await store.delete_if("key", etag=old.etag)).satisfied
        now[0] -= 31  # the same item is live again for this clock: nothing above wrote it
        assert await store.get("key") == {"v": 1}
        now[0] += 31
        changed = await store.put_if("key", {"v": 3}, etag=old.etag, condition=CHANGED)
        assert changed.satisfied
        assert changed.actual_etag is ABSENT
        assert await store.get("key") == {"v": 3}
        assert not await store.put_if_absent("key", {"v": 4})

    async def test_conditional_round_trips(self, memcached_server: MemcachedServer) -> None:
        """A SAME write or delete the ETag alone decides is one meta set or delete; one that finds the item
        changed, and every other call, decides on one meta get, then writes with one meta set or delete."""
        memcached_server.flush()
        with RoundTripCounter(memcached_server.port) as proxy:
            store = MemcachedStore(host=memcached_server.host, port=proxy.port)
            await store.put("warm-up", {"v": 0})
            assert await round_trips(proxy, lambda: store.get_entry("key")) == 1
            assert await round_trips(proxy, lambda: store.put_if_absent("key", {"v": 1})) == 1  # an add
            assert await round_trips(proxy, lambda: store.put_if_absent("key", {"v": 2})) == 2  # refused, read
            entry = await store.get_entry("key")
            assert entry is not None
            first = entry.etag
            written = await store.put_if("key", {"v": 3}, etag=first)
            assert written.satisfied
            assert await round_trips(proxy, lambda: store.put_if("key", {"v": 4}, etag=first)) == 2  # stale
            etag = written.resulting_etag
            assert isinstance(etag, str)
            assert await round_trips(proxy, lambda: store.put_if("key", {"v": 5}, etag=etag, condition=ANY)) == 2
            entry = await store.get_entry("key")
            assert entry is not None
            kept = entry.etag
            assert await round_trips(proxy, lambda: store.put_if("key", KEEP_CURRENT, etag=kept, ttl=9)) == 2
            assert await round_trips(proxy, lambda: store.put_if("key", KEEP_CURRENT, etag=kept)) == 1
            assert await round_trips(proxy, lambda: store.delete_if("key", etag="0")) == 2
            # the refresh rewrote the item and the record keeps the ETag: its CAS unique no longer decides
            assert await round_trips(proxy, lambda: store.put_if("key", DELETE_CURRENT, etag=kept)) == 3
            assert await round_trips(proxy, lambda: store.delete_if("key", etag=ABSENT)) == 1
            await store.put("key", {"v": 6}, ttl=60)
            entry = await store.get_entry("key")
            assert entry is not None
            assert await round_trips(proxy, lambda: store.delete_if("key", etag=entry.etag)) == 1
            assert await store.get("key") is None
            await store.close()

    async def test_round_trips(self, memcached_server: MemcachedServer) -> None:
        memcached_server.flush()
        keys = [f"key-{i}" for i in range(100)]
        values = [{"i": i} for i in range(100)]
        with RoundTripCounter(memcached_server.port) as proxy:
            store = MemcachedStore(host=memcached_server.host, port=proxy.port)
            await store.put("warm-up", {"v": 0})  # connects and reads the item size limit
            assert await round_trips(proxy, lambda: store.put_many(keys, values, ttl=60)) == 1
            assert await round_trips(proxy, lambda: store.put_many(keys, values)) == 1
            assert await round_trips(proxy, lambda: store.get_many(keys)) == 1
            assert await round_trips(proxy, lambda: store.ttl_many(keys)) == 1
            assert await round_trips(proxy, lambda: store.put("key", {"v": 1}, ttl=60)) == 1
            assert await round_trips(proxy, lambda: store.get("key")) == 1
            assert await round_trips(proxy, lambda: store.ttl("key")) == 1
            # A delete reads the entries (only live ones count) and deletes them,
            # async: in one pipelined request.
            # sync: pymemcache sends the multi-get, then the deletes.
            if True:  # ASYNC
                assert await round_trips(proxy, lambda: store.delete_many(keys)) == 1
                assert await round_trips(proxy, lambda: store.delete("key")) == 1
            else:
                assert await round_trips(proxy, lambda: store.delete_many(keys)) == 2
                assert await round_trips(proxy, lambda: store.delete("key")) == 2
            assert await store.get_many(keys) == [None] * len(keys)
            await store.close()

    @pytest.mark.parametrize("ttl", [0.001, 0.2, 1, 59.999, 3600.5, 29 * DAY, 40 * DAY, 365 * DAY])
    def test_expiry_read_back_from_flags(self, ttl: float) -> None:
        """Flags (milliseconds modulo 2**32) and the server's whole seconds left give back the exact expiry."""
        for start in (0.0, 1_700_000_000.123, 1_700_000_000.9996, 4_000_000_000.5):
            expires_at = start + ttl
            flags = expiry_flags(expires_at)
            assert 0 <= flags < 2**32
            for now in (start, start + ttl / 2, expires_at - 0.0005, expires_at + 100):
                left = math.ceil(ttl) + 1 - (now - start)  # the server's expiry is the TTL rounded up, plus one
                for reported in (math.floor(left) - 1, math.floor(left), math.ceil(left) + 1):
                    assert expiry_from_meta(flags, max(reported, 0), now) == pytest.approx(expires_at, abs=0.001)
        assert expiry_from_meta(expiry_flags(None), -1, 123.0) is None

    async def test_delete_counts_by_the_exact_expiry(self, store: MemcachedStore) -> None:
        now = [time.time()]
        store.clock = lambda: now[0]
        await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}], ttl=100)
        await store.put("c", {"v": 3}, ttl=100.5)
        await store.put("d", {"v": 4})
        now[0] += 100.25  # a and b expired a quarter second ago; the server keeps them for seconds more
        assert await store.delete_many(["a", "b", "c", "d", "missing"]) == 2
        assert await store.get_many(["a", "b", "c", "d"]) == [None, None, None, None]

    async def test_unreadable_item_is_deleted_and_counted(
        self, store: MemcachedStore, memcached_server: MemcachedServer
    ) -> None:
        await store.put_many(["good", "bad"], [{"v": 1}, {"v": 2}], collection="unreadable")
        name = item_key("unreadable", "bad")
        assert memcached_server.command(b"set %s 0 0 3\r\nxyz" % name) == b"STORED\r\n"
        with pytest.raises(DeserializationError):
            await store.get("bad", collection="unreadable")
        assert await store.delete_many(["good", "bad", "missing"], collection="unreadable") == 2
        assert memcached_server.command(b"get %s" % name, until=b"END\r\n") == b"END\r\n"
        assert await store.get_many(["good", "bad"], collection="unreadable") == [None, None]

    async def test_value_too_large_writes_nothing(self, store: MemcachedStore) -> None:
        huge = {"blob": "x" * (5 * 1024 * 1024)}  # the test server takes items up to 4 MiB
        with pytest.raises(ValueTooLargeError):
            await store.put("huge", huge)
        with pytest.raises(ValueTooLargeError):
            await store.put_many(["small", "huge"], [{"v": 1}, huge])
        assert await store.get_many(["small", "huge"]) == [None, None]

    async def test_given_client_is_not_closed(self, memcached_server: MemcachedServer) -> None:
        memcached_server.flush()
        wire = new_wire(memcached_server.host, memcached_server.port, timeout=5)
        async with MemcachedStore(client=wire.client) as store:
            await store.put("key", {"v": 1})
            assert await store.get("key") == {"v": 1}
        await wire.set_many([(b"still-open", b"yes")], 0, 0)
        await wire.close()

    async def test_from_url(self, memcached_server: MemcachedServer) -> None:
        memcached_server.flush()
        address = f"{memcached_server.host}:{memcached_server.port}"
        async with MemcachedStore.from_url(f"memcached://{address}?timeout=none&default_collection=m") as store:
            await store.put("key", {"v": 1})
            assert await store.get("key", collection="m") == {"v": 1}
        async with MemcachedStore.from_url(f"memcached://{address}", timeout=2.5) as store:
            assert await store.get("key", collection="m") == {"v": 1}
        for url, message in [
            (f"memcached://{address}?timeout=soon", "timeout='soon' must be a number of seconds or none"),
            (f"memcached://{address}?weight=2", "unknown URL option"),
            (f"memcached://{address}/path", "names only host and port"),
            (f"memcached://user:s3cret@{address}", "names only host and port"),
            ("redis://localhost", "schemes: memcached://"),
        ]:
            with pytest.raises(InvalidArgumentError, match=message) as info:
                MemcachedStore.from_url(url)
            assert "s3cret" not in str(info.value)
        with pytest.raises(InvalidArgumentError, match="both in the URL and as keywords: timeout"):
            MemcachedStore.from_url(f"memcached://{address}?timeout=1", timeout=2)

    def test_bad_timeout(self) -> None:
        for timeout in (0, -1.0):
            with pytest.raises(InvalidArgumentError):
                MemcachedStore(timeout=timeout)

    def test_used_from_two_event_loops(self, memcached_server: MemcachedServer) -> None:
        memcached_server.flush()
        check_used_from_two_event_loops(MemcachedStore(host=memcached_server.host, port=memcached_server.port))

    async def test_stopped_server_then_back(self, private_memcached_server: MemcachedServer) -> None:
        server = private_memcached_server
        store = MemcachedStore(host=server.host, port=server.port)
        await store.put("key", {"v": 1})
        server.process.stop()
        with pytest.raises(StoreConnectionError):
            await store.get("key")
        with pytest.raises(StoreConnectionError):
            await store.put("key", {"v": 2})
        server.process.start()  # same port, empty again
        await store.put("key", {"v": 3})
        assert await store.get("key") == {"v": 3}
        await store.close()

    async def test_unanswered_request_times_out(self, private_memcached_server: MemcachedServer) -> None:
        server = private_memcached_server
        store = MemcachedStore(host=server.host, port=server.port, timeout=0.3)
        try:
            await check_unanswered_request_times_out(store, server.process)
        finally:
            await store.close()

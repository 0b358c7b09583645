"""What RedisStore and ValkeyStore share beyond the contract, tested once for both against their servers.

Both keep the same key layout (`key_value.shared.layouts.resp`, injectable), millisecond TTLs on the
server, one round trip per operation, escaped SCAN patterns, a `destroy()` that spares foreign keys,
database selection, recovery after an outage, and use from several event loops. A test module subclasses `RespBehaviour`
(and `RespClusterBehaviour`) and says how to make its store, how to count its requests and which
servers to use.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from key_value.aio.conditional import ABSENT, KEEP_CURRENT
from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.redis import RedisStore
from key_value.aio.stores.valkey import ValkeyStore
from key_value.shared.capabilities import Capability
from key_value.shared.errors import InvalidArgumentError, KeyValueStoreError, StoreConnectionError
from key_value.shared.layouts.resp import NATIVE_RESP_LAYOUT, NativeRespLayout
from testing.servers._resp import RespCluster, RespServer

from .server_checks import check_used_from_two_event_loops

RespStore = RedisStore | ValkeyStore
server_key = NATIVE_RESP_LAYOUT.server_key


class MarkedRespLayout(NativeRespLayout):
    """The native layout with every server key prefixed by `m:` and every value by `#`, to prove the stores use it."""

    all_pattern = "m:" + NativeRespLayout.all_pattern

    def server_key(self, collection: str, key: str) -> str:
        return "m:" + super().server_key(collection, key)

    def server_keys(self, collection: str, keys: list[str]) -> list[str]:
        return ["m:" + name for name in super().server_keys(collection, keys)]

    def collection_pattern(self, collection: str) -> str:
        return "m:" + super().collection_pattern(collection)

    def split(self, name: bytes | str) -> tuple[str, str] | None:
        text = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
        return super().split(text[2:]) if text.startswith("m:") else None

    def encode(self, collection: str, key: str, value_json: str, expires_at: float | None) -> str:
        return "#" + value_json

    def encode_many(
        self, collection: str, keys: list[str], values_json: list[str], expires_at: float | None
    ) -> list[str]:
        return ["#" + value for value in values_json]

    def decode(self, raw: bytes | str) -> dict[str, Any]:
        assert raw[:1] in (b"#", "#"), raw
        return super().decode(raw[1:])


async def race_separate_stores(stores: Sequence[RespStore], reader: AsyncKeyValue, *, rounds: int = 50) -> None:
    """Stores of their own connections increment one counter at once (async: tasks, sync: threads).

    For stores whose layout is an object, which the cross-process race cannot hand to its workers (JSON
    options): here too the server's script, not one store's client, decides each race.
    """

    def increment(value: dict[str, Any] | None) -> dict[str, Any]:
        return {"n": (0 if value is None else value["n"]) + 1}

    async def worker(racer: RespStore) -> None:
        try:
            for _ in range(rounds):
                await racer.transform("across", increment, collection="race", retries=1000)
        finally:
            await racer.close()

    if True:  # ASYNC
        await asyncio.gather(*(worker(racer) for racer in stores))
    else:
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

        with ThreadPoolExecutor(max_workers=len(stores)) as pool:
            list(pool.map(worker, stores))
    assert await reader.get("across", collection="race") == {"n": len(stores) * rounds}


async def round_trips(sent: Callable[[], int], operation: Callable[[], Any]) -> int:
    """How many requests running `operation` sends, by the counter `sent`."""
    before = sent()
    await operation()
    return sent() - before


class RespBehaviour:
    """Subclasses define `scheme`, `make_store`, `timing_out_store`, `counting_store` and the `node` and
    `private_node` fixtures."""

    scheme = "redis"  # of the URLs the store takes

    def make_store(self, **options: Any) -> RespStore:
        raise NotImplementedError

    def timing_out_store(self, node: RespServer) -> RespStore:
        """A store on `node` whose requests give up after about 0.2 s."""
        raise NotImplementedError

    def counting_store(self, node: RespServer) -> AbstractAsyncContextManager[tuple[RespStore, Callable[[], int]]]:
        """A store on `node`, and a function that says how many requests it has sent so far."""
        raise NotImplementedError

    @pytest.fixture
    def node(self) -> RespServer:
        raise NotImplementedError

    @pytest.fixture
    def private_node(self) -> RespServer:
        raise NotImplementedError

    @pytest.fixture
    async def store(self, node: RespServer) -> AsyncIterator[RespStore]:
        node.flush()
        store = self.make_store(url=node.url)
        yield store
        await store.close()

    async def test_capabilities(self, store: RespStore) -> None:
        expected = (
            Capability.KEYS
            | Capability.COLLECTIONS
            | Capability.DESTROY
            | Capability.DESTROY_COLLECTION
            | Capability.CONDITIONAL
        )
        assert store.capabilities == expected

    async def test_key_layout(self, store: RespStore, node: RespServer) -> None:
        await store.put("key", {"v": 1}, collection="users")
        await store.put("k}%", {"v": 2}, collection="odd}{%")
        assert node.command("GET", "kv:{users}key") == b'{"v":1}'
        assert node.command("GET", "kv:{odd%7D{%25}k}%") == b'{"v":2}'
        assert await store.keys("odd}{%") == ["k}%"]
        assert "odd}{%" in await store.collections()

    async def test_layout_is_injected(self, node: RespServer) -> None:
        node.flush()
        native = self.make_store(url=node.url)
        marked = self.make_store(url=node.url, layout=MarkedRespLayout())
        try:
            await native.put("k", {"v": "native"}, collection="c")
            await marked.put("k", {"v": 1}, collection="c", ttl=60)
            await marked.put_many(["a", "b"], [{"v": 2}, {"v": 3}], collection="c")
            assert node.command("GET", "m:kv:{c}k") == b'#{"v":1}'
            assert node.command("GET", "m:kv:{c}b") == b'#{"v":3}'
            assert await marked.get("k", collection="c") == {"v": 1}
            assert await marked.get_many(["a", "k", "x"], collection="c") == [{"v": 2}, {"v": 1}, None]
            value, remaining = await marked.ttl("k", collection="c")
            assert value == {"v": 1}
            assert remaining is not None
            assert 59 < remaining <= 60
            assert sorted(await marked.keys("c")) == ["a", "b", "k"]
            assert await marked.collections() == ["c"]
            assert await marked.destroy() is True
            assert await native.get("k", collection="c") == {"v": "native"}  # the other layout's keys are foreign
            assert node.command("GET", "m:kv:{c}k") is None
        finally:
            await marked.close()
            await native.close()

    async def test_from_url(self, node: RespServer) -> None:
        node.flush()
        kind = type(self.make_store(url=node.url))
        url = node.url.replace("redis", self.scheme, 1)
        store = kind.from_url(f"{url}?default_collection=from-url&cluster=false", layout=MarkedRespLayout())
        try:
            await store.put("k", {"v": 1})
            assert node.command("GET", "m:kv:{from-url}k") == b'#{"v":1}'
            assert await store.get("k") == {"v": 1}
        finally:
            await store.close()
        with pytest.raises(InvalidArgumentError, match="both in the URL and as keywords: default_collection"):
            kind.from_url(f"{url}?default_collection=a", default_collection="b")
        with pytest.raises(InvalidArgumentError, match="cluster='maybe' must be true or false"):
            kind.from_url(f"{url}?cluster=maybe")
        with pytest.raises(InvalidArgumentError, match="schemes: ") as info:
            kind.from_url("http://user:s3cret@127.0.0.1:1/0")
        assert "s3cret" not in str(info.value)
        assert "user:***@127.0.0.1:1" in str(info.value)

    async def test_server_keeps_millisecond_ttl(self, store: RespStore, node: RespServer) -> None:
        name = server_key("default_collection", "key")
        await store.put("key", {"v": 1}, ttl=10)
        assert 9900 <= node.command("PTTL", name) <= 10_000
        await store.put("key", {"v": 1}, ttl=0.25)
        assert 150 <= node.command("PTTL", name) <= 250
        await store.put("key", {"v": 2})
        assert node.command("PTTL", name) == -1
        await store.put_many(["key"], [{"v": 3}], ttl=10)
        assert 9900 <= node.command("PTTL", name) <= 10_000

    async def test_ttl_reads_the_server(self, store: RespStore, node: RespServer) -> None:
        await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}], ttl=100)
        node.command("PEXPIRE", server_key("default_collection", "a"), 5000)
        node.command("PERSIST", server_key("default_collection", "b"))
        value, remaining = await store.ttl("a")
        assert value == {"v": 1}
        assert remaining is not None
        assert 4.9 <= remaining <= 5.0
        assert (await store.ttl_many(["b", "a"]))[0] == ({"v": 2}, None)

    async def test_one_round_trip_per_operation(self, node: RespServer) -> None:
        keys = [f"key-{i}" for i in range(100)]
        values = [{"i": i} for i in range(100)]
        async with self.counting_store(node) as (store, sent):
            await store.put("warm-up", {"v": 0})  # connects
            await store.get_entry("warm-up")  # the server learns the scripts (NOSCRIPT, SCRIPT LOAD)
            await store.put_if("warm-up", KEEP_CURRENT, etag=ABSENT)
            assert await round_trips(sent, lambda: store.put_many(keys, values, ttl=60)) == 1
            assert await round_trips(sent, lambda: store.put_many(keys, values)) == 1
            assert await round_trips(sent, lambda: store.get_many(keys)) == 1
            assert await round_trips(sent, lambda: store.ttl_many(keys)) == 1
            assert await round_trips(sent, lambda: store.delete_many(keys)) == 1
            assert await round_trips(sent, lambda: store.put("key", {"v": 1}, ttl=60)) == 1
            assert await round_trips(sent, lambda: store.get("key")) == 1
            assert await round_trips(sent, lambda: store.ttl("key")) == 1
            assert await round_trips(sent, lambda: store.delete("key")) == 1
            assert await round_trips(sent, lambda: store.get_entry("key")) == 1
            inserted = await store.put_if("key", {"v": 1}, etag=ABSENT)
            assert inserted.satisfied
            assert await round_trips(sent, lambda: store.put_if("key", {"v": 2}, etag=ABSENT)) == 1  # refused
            assert await round_trips(sent, lambda: store.put_if("key", KEEP_CURRENT, etag=ABSENT, ttl=5)) == 1
            assert await round_trips(sent, lambda: store.delete_if("key", etag=inserted.resulting_etag)) == 1

    async def test_etag_is_the_stored_bytes_sha1(self, store: RespStore, node: RespServer) -> None:
        """The ETag is derived from the bytes: another client's write changes it, the same bytes bring it back."""
        await store.put("key", {"v": 1})
        entry = await store.get_entry("key")
        assert entry is not None
        assert entry.etag == hashlib.sha1(b'{"v":1}').hexdigest()
        assert entry.written_at is None
        name = server_key("default_collection", "key")
        node.command("SET", name, '{"v":2}')  # a writer that knows nothing of ETags
        refused = await store.put_if("key", {"v": 3}, etag=entry.etag)
        assert not refused.satisfied
        assert refused.value == {"v": 2}
        assert refused.actual_etag == hashlib.sha1(b'{"v":2}').hexdigest()
        node.command("PEXPIRE", name, 100_000)
        kept = await store.put_if("key", KEEP_CURRENT, etag=refused.actual_etag)  # no TTL: nothing changes
        assert kept.satisfied
        assert 99_000 < node.command("PTTL", name) <= 100_000

    async def test_scripts_reloaded_after_flush(self, store: RespStore, node: RespServer) -> None:
        assert (await store.put_if("key", {"v": 1}, etag=ABSENT)).satisfied
        node.command("SCRIPT", "FLUSH")  # as after a restart or a failover to a server that never saw them
        entry = await store.get_entry("key")
        assert entry is not None
        assert (await store.put_if("key", {"v": 2}, etag=entry.etag)).satisfied
        assert await store.get("key") == {"v": 2}

    async def test_match_pattern_escaped(self, store: RespStore) -> None:
        names = ["a*", "a?", "[a]", "a\\", "ab", "a", "a]", "x"]
        for name in names:
            await store.put_many(["one", "two"], [{"c": name}, {"c": name}], collection=name)
        for name in names:
            assert sorted(await store.keys(name)) == ["one", "two"]
        assert sorted(await store.collections()) == sorted(names)
        assert await store.destroy_collection("a*") is True
        assert await store.destroy_collection("[a]") is True
        assert sorted(await store.collections()) == sorted(set(names) - {"a*", "[a]"})

    async def test_destroy_leaves_foreign_keys(self, store: RespStore, node: RespServer) -> None:
        foreign = ["foreign", "kv:plain", "{kv}x", "kv:{unclosed", "kv:{bad%zz}key", "kv:{c}"]
        for name in foreign:
            node.command("SET", name, "theirs")
        await store.put("a", {"v": 1}, collection="c")
        await store.put("b", {"v": 2}, collection="d")
        assert sorted(await store.collections()) == ["c", "d"]
        assert await store.keys("c") == ["a"]
        assert await store.destroy_collection("c") is True
        assert await store.get("b", collection="d") == {"v": 2}
        assert await store.destroy() is True
        assert await store.destroy() is False
        assert sorted(node.command("KEYS", "*")) == sorted(name.encode() for name in foreign)

    async def test_url_and_database(self, node: RespServer) -> None:
        async with self.make_store(url=f"{self.scheme}://{node.host}:{node.port}/3") as store:
            await store.put("key", {"v": 1})
        async with self.make_store(host=node.host, port=node.port, db=4) as store:
            await store.put("key", {"v": 2})
        name = server_key("default_collection", "key")
        assert node.command("GET", name, db=3) == b'{"v":1}'
        assert node.command("GET", name, db=4) == b'{"v":2}'
        assert node.command("GET", name) is None

    def test_used_from_two_event_loops(self, node: RespServer) -> None:
        node.flush()
        store = self.make_store(url=node.url)
        check_used_from_two_event_loops(store)
        if True:  # ASYNC
            # GLIDE reads all replies on one loop: the loop that owns it closes while a later one goes on.
            first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
            try:
                first.run_until_complete(asyncio.wait_for(store.put("key", {"v": 3}), 10))
                assert second.run_until_complete(asyncio.wait_for(store.delete("key"), 10)) is True
                first.run_until_complete(first.shutdown_asyncgens())  # closes the first loop's client
                first.close()  # for GLIDE: the second loop's client exists already, so GLIDE would not move on
                assert second.run_until_complete(asyncio.wait_for(store.get("key"), 10)) is None
            finally:
                for loop in (first, second):
                    if not loop.is_closed():
                        loop.run_until_complete(loop.shutdown_asyncgens())
                        loop.close()

    async def test_stopped_server_then_back(self, private_node: RespServer) -> None:
        store = self.make_store(url=private_node.url)
        await store.put("key", {"v": 1})
        private_node.process.stop()
        with pytest.raises(StoreConnectionError):
            await store.get("key")
        with pytest.raises(StoreConnectionError):
            await store.put("key", {"v": 2})
        private_node.process.start()  # same port, empty again (no persistence)
        deadline = time.monotonic() + 20
        while True:  # GLIDE reconnects in the background, with backoff; redis-py on the next request
            try:
                await store.put("key", {"v": 3})
                break
            except StoreConnectionError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        assert await store.get("key") == {"v": 3}
        await store.close()

    async def test_unanswered_request_times_out(self, private_node: RespServer) -> None:
        store = self.timing_out_store(private_node)
        try:
            await store.put("key", {"v": 1})
            private_node.process.pause()
            try:
                started = time.monotonic()
                with pytest.raises(StoreConnectionError):
                    await store.get("key")
                assert time.monotonic() - started < 5
            finally:
                private_node.process.resume()
        finally:
            await store.close()


class RespClusterBehaviour:
    """Subclasses define `make_store` and the `cluster` fixture."""

    def make_store(self, **options: Any) -> RespStore:
        raise NotImplementedError

    @pytest.fixture
    def cluster(self) -> RespCluster:
        raise NotImplementedError

    async def test_collection_in_one_hash_slot(self, cluster: RespCluster) -> None:
        cluster.flush()
        async with self.make_store(host=cluster.host, port=cluster.port, cluster=True) as store:
            names = [f"collection-{i}" for i in range(20)]
            for name in names:
                await store.put_many([f"k{i}" for i in range(20)], [{"i": i} for i in range(20)], collection=name)
            for name in names:
                slots = {cluster.command("CLUSTER", "KEYSLOT", server_key(name, f"k{i}")) for i in range(20)}
                assert len(slots) == 1
            assert all(count > 0 for count in cluster.key_counts())  # the collections spread over the nodes
            assert sorted(await store.collections()) == sorted(names)
            assert len(await store.keys("collection-3", limit=5)) == 5
            assert await store.destroy() is True
            assert await store.collections() == []

    async def test_conditional_calls_on_every_node(self, cluster: RespCluster) -> None:
        cluster.flush()
        async with self.make_store(host=cluster.host, port=cluster.port, cluster=True) as store:
            names = [f"collection-{i}" for i in range(20)]
            for name in names:
                assert (await store.put_if("k", {"c": name}, etag=ABSENT, collection=name)).satisfied
            assert all(count > 0 for count in cluster.key_counts())  # the scripts ran on every node
            for name in names:
                entry = await store.get_entry("k", collection=name)
                assert entry is not None
                assert entry.value == {"c": name}
                assert (await store.delete_if("k", etag=entry.etag, collection=name)).satisfied
            store._legacy = True  # pyright: ignore[reportPrivateUsage] - as if py-key-value's entries were found
            with pytest.raises(KeyValueStoreError, match="hash slots"):
                await store.put_if("k", {"v": 1}, etag=ABSENT)
            with pytest.raises(KeyValueStoreError, match="hash slots"):
                await store.get_entry("k")

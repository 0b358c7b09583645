"""NATSStore against a real nats-server: the contract, the bucket it writes, and what is NATS-specific.

What the store wrote is read back with a plain nats-py connection (`RawNats`), driven through the
store's `run` so that the sync twin of this module runs it on the same background loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import cast

import nats
import pytest
from nats.aio.client import Client, ServerVersion
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg, StreamConfig, StreamInfo
from nats.js.errors import NotFoundError

from key_value.aio.conditional import ABSENT, ANY, CHANGED, KEEP_CURRENT
from key_value.aio.stores.nats import NATSStore
from key_value.aio.stores.nats._runner import run
from key_value.aio.stores.nats.tokens import MAX_SUBJECT_BYTES, decode_token, encode_token, split_subject
from key_value.shared.capabilities import Capability
from key_value.shared.errors import (
    InvalidArgumentError,
    InvalidKeyError,
    StoreConnectionError,
    StoreSetupError,
    StoreTimeoutError,
    ValueTooLargeError,
)
from testing.servers._process import LOOPBACK, free_port
from testing.servers.nats_server import NatsServer

from ..support.contract import AWKWARD_NAMES, COLLIDING_PAIRS, ContractTests
from ..support.server_checks import check_unanswered_request_times_out, check_used_from_two_event_loops

_TOKEN = re.compile(r"[-/_=a-zA-Z0-9]+")


class RawNats:
    """A plain nats-py connection, to look at and arrange what is in the server."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.jsm = client.jsm()  # pyright: ignore[reportUnknownMemberType] - untyped **opts

    async def stream(self, bucket: str) -> StreamInfo:
        return await run(lambda: self.jsm.stream_info(f"KV_{bucket}"))

    async def last(self, bucket: str, subject: str) -> RawStreamMsg | None:
        try:
            return await run(lambda: self.jsm.get_msg(f"KV_{bucket}", subject=subject, direct=True))
        except NotFoundError:
            return None

    async def add_stream(self, config: StreamConfig) -> None:
        await run(lambda: self.jsm.add_stream(config))  # pyright: ignore[reportUnknownMemberType] - untyped **params

    async def delete_bucket(self, bucket: str) -> None:
        with contextlib.suppress(NotFoundError):
            await run(lambda: self.jsm.delete_stream(f"KV_{bucket}"))


def headers_of(message: RawStreamMsg) -> dict[str, str]:
    return cast("dict[str, str]", message.headers or {})  # nats-py leaves RawStreamMsg.headers untyped


@pytest.fixture
async def raw(nats_server: NatsServer) -> AsyncIterator[RawNats]:
    client = await run(lambda: nats.connect(nats_server.url))  # pyright: ignore[reportUnknownMemberType] - untyped **options
    yield RawNats(client)
    await run(client.close)


@pytest.fixture
async def bucket(raw: RawNats) -> AsyncIterator[str]:
    """A bucket name of this test's own, deleted afterwards."""
    name = f"kv_{uuid.uuid4().hex[:16]}"
    yield name
    await raw.delete_bucket(name)


class TestNATSStore(ContractTests):
    @pytest.fixture
    async def store(self, nats_server: NatsServer, bucket: str) -> AsyncIterator[NATSStore]:
        store = NATSStore(url=nats_server.url, bucket=bucket)
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, nats_server: NatsServer, bucket: str) -> dict[str, object]:
        return {"url": nats_server.url, "bucket": bucket}


class TestTokens:
    def test_round_trip_and_alphabet(self) -> None:
        rng = random.Random(7)
        alphabet = "aZ09-_/=.:% \t\n\x00é名🙂"
        names = [*AWKWARD_NAMES, "==", "=", "=41", "a=b", "--", "_"]
        names += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(2000)]
        tokens = {encode_token(name): name for name in names}
        assert len(tokens) == len(set(names))  # distinct names, distinct tokens
        for token, name in tokens.items():
            assert _TOKEN.fullmatch(token), token
            assert decode_token(token) == name

    def test_readable_when_short(self) -> None:
        assert encode_token("users") == "users"
        assert encode_token("a.b") == "a=2Eb"
        assert encode_token("with space") == "with=20space"
        assert encode_token("é" * 600).startswith("==")  # base64url is shorter than =C3=A9...

    @pytest.mark.parametrize(("first", "second"), COLLIDING_PAIRS)
    def test_subjects_do_not_collide(self, first: tuple[str, str], second: tuple[str, str]) -> None:
        subjects = {f"$KV.b.{encode_token(c)}.{encode_token(k)}" for c, k in (first, second)}
        assert len(subjects) == 2
        for collection, key in (first, second):
            assert split_subject("$KV.b.", f"$KV.b.{encode_token(collection)}.{encode_token(key)}") == (collection, key)

    def test_foreign_subjects_ignored(self) -> None:
        assert split_subject("$KV.b.", "$KV.b.plain") is None
        assert split_subject("$KV.b.", "$KV.b.a.b.c") is None
        assert split_subject("$KV.b.", "$KV.b.a.=41") is None  # not how we write "A"
        assert split_subject("$KV.b.", "$KV.other.a.b") is None


class TestNATSBehaviour:
    @pytest.fixture
    async def store(self, nats_server: NatsServer, bucket: str) -> AsyncIterator[NATSStore]:
        store = NATSStore(url=nats_server.url, bucket=bucket)
        yield store
        await store.close()

    async def test_capabilities(self, store: NATSStore) -> None:
        expected = Capability.KEYS | Capability.COLLECTIONS | Capability.DESTROY | Capability.DESTROY_COLLECTION
        expected |= Capability.CONDITIONAL
        assert store.capabilities == expected

    async def test_bucket_layout(self, store: NATSStore, raw: RawNats, bucket: str) -> None:
        started = time.time()
        await store.put("a.b", {"v": 1}, collection="users", ttl=9.2)
        await store.put("plain", {"v": 2}, collection="users")
        config = (await raw.stream(bucket)).config
        assert config.subjects == [f"$KV.{bucket}.>"]
        assert config.max_msgs_per_subject == 1
        assert config.allow_msg_ttl
        assert config.allow_direct
        message = await raw.last(bucket, f"$KV.{bucket}.users.a=2Eb")
        assert message is not None
        assert message.data == b'{"v":1}'
        headers = headers_of(message)
        assert headers["Nats-TTL"] == "10s"  # the server's TTL is whole seconds, rounded up
        assert started + 9.2 <= float(headers["KV-Expires-At"]) <= time.time() + 9.2
        plain = await raw.last(bucket, f"$KV.{bucket}.users.plain")
        assert plain is not None
        assert "Nats-TTL" not in headers_of(plain)

    async def test_server_removes_expired_and_deleted(self, store: NATSStore, raw: RawNats, bucket: str) -> None:
        await store.put_many(["short", "gone", "kept"], [{"v": 1}, {"v": 2}, {"v": 3}])
        await store.put("short", {"v": 1}, ttl=0.05)
        await asyncio.sleep(0.1)
        assert await store.delete("gone") is True
        marker = await raw.last(bucket, f"$KV.{bucket}.default_collection.gone")
        assert marker is not None  # a purge marker: invisible to the store's readers
        assert headers_of(marker)["KV-Operation"] == "PURGE"
        assert await store.get("gone") is None
        assert await store.keys() == ["kept"]
        assert await store.collections() == ["default_collection"]
        assert await store.delete("gone") is False
        for _ in range(100):  # the marker and the expired entry live about a second on the server
            if (await raw.stream(bucket)).state.messages <= 1:
                break
            await asyncio.sleep(0.1)
        assert (await raw.stream(bucket)).state.messages == 1
        assert await raw.last(bucket, f"$KV.{bucket}.default_collection.gone") is None
        assert await raw.last(bucket, f"$KV.{bucket}.default_collection.short") is None

    async def test_provisioned_bucket(self, nats_server: NatsServer, raw: RawNats, bucket: str) -> None:
        missing = NATSStore(url=nats_server.url, bucket=bucket, create_bucket=False)
        with pytest.raises(StoreSetupError, match=bucket):
            await missing.get("key")
        await missing.close()
        with pytest.raises(NotFoundError):
            await raw.stream(bucket)  # nothing was created
        config = StreamConfig(
            name=f"KV_{bucket}",
            subjects=[f"$KV.{bucket}.>"],
            max_msgs_per_subject=5,
            allow_rollup_hdrs=True,
            allow_msg_ttl=True,
        )
        await raw.add_stream(config)
        async with NATSStore(url=nats_server.url, bucket=bucket, create_bucket=False) as store:
            await store.put("key", {"v": 1})
            await store.put("key", {"v": 2})
            assert await store.get("key") == {"v": 2}  # history kept by the bucket, the last one read
            entry = await store.get_entry("key")
            assert entry is not None
            assert (await store.put_if("key", {"v": 3}, etag=entry.etag)).satisfied  # expects the last message
            assert not (await store.put_if("key", {"v": 4}, etag=entry.etag)).satisfied
            assert await store.delete("key") is True
            assert await store.get("key") is None
            assert await store.destroy() is False
        assert (await raw.stream(bucket)).config.max_msgs_per_subject == 5  # the store left it as it was

    async def test_bucket_without_message_ttl(self, nats_server: NatsServer, raw: RawNats, bucket: str) -> None:
        await raw.add_stream(StreamConfig(name=f"KV_{bucket}", subjects=[f"$KV.{bucket}.>"], max_msgs_per_subject=1))
        store = NATSStore(url=nats_server.url, bucket=bucket)
        with pytest.raises(StoreSetupError, match="per-message TTL"):
            await store.put("key", {"v": 1})
        await store.close()

    async def test_servers_before_2_11_are_refused(
        self, nats_server: NatsServer, raw: RawNats, bucket: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Per-message TTL came with nats-server 2.11: an older server is refused by name, nothing created."""
        monkeypatch.setattr(Client, "connected_server_version", property(lambda _: ServerVersion("2.10.24")))
        store = NATSStore(url=nats_server.url, bucket=bucket)
        with pytest.raises(StoreSetupError, match=r"2\.11") as refused:
            await store.put("key", {"v": 1})
        assert refused.value.extra_info == {"server": "2.10.24"}
        await store.close()
        with pytest.raises(NotFoundError):
            await raw.stream(bucket)

    async def test_bucket_without_rollup_headers(self, nats_server: NatsServer, raw: RawNats, bucket: str) -> None:
        config = StreamConfig(
            name=f"KV_{bucket}", subjects=[f"$KV.{bucket}.>"], max_msgs_per_subject=1, allow_msg_ttl=True
        )
        await raw.add_stream(config)
        store = NATSStore(url=nats_server.url, bucket=bucket, create_bucket=False)
        with pytest.raises(StoreSetupError, match=f"{bucket}.*rollup"):
            await store.put("key", {"v": 1})
        await store.close()

    async def test_a_put_between_a_deletes_read_and_its_marker_stands(
        self, store: NATSStore, nats_server: NatsServer, bucket: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await store.put_many(["raced", "plain"], [{"v": 1}, {"v": 1}])
        other = NATSStore(url=nats_server.url, bucket=bucket)
        read = store._messages  # pyright: ignore[reportPrivateUsage]

        async def read_then_overwrite(collection: str, keys: list[str]) -> list[RawStreamMsg | None]:
            messages = await read(collection, keys)
            await other.put("raced", {"v": 2})  # lands after the delete read it, before its marker
            return messages

        monkeypatch.setattr(store, "_messages", read_then_overwrite)
        assert await store.delete_many(["raced", "plain"]) == 2
        monkeypatch.undo()
        assert await store.get_many(["raced", "plain"]) == [{"v": 2}, None]
        await other.close()

    async def test_etags_are_stream_sequences(self, store: NATSStore, raw: RawNats, bucket: str) -> None:
        await store.put("plain", {"v": 1})
        await store.put("short", {"v": 1}, ttl=30)
        plain = await raw.last(bucket, f"$KV.{bucket}.default_collection.plain")
        short = await raw.last(bucket, f"$KV.{bucket}.default_collection.short")
        assert plain is not None
        assert short is not None
        entry = await store.get_entry("plain")
        assert entry is not None
        assert entry.etag == str(plain.seq)
        assert entry.written_at is not None
        assert plain.time is not None
        assert entry.written_at == plain.time.timestamp()  # the server's time stamp
        timed = await store.get_entry("short")
        assert timed is not None
        assert timed.etag == f"{short.seq}:{headers_of(short)['KV-Expires-At']}"  # the write and its expiry
        written = await store.put_if("plain", {"v": 2}, etag=entry.etag)
        after = await raw.last(bucket, f"$KV.{bucket}.default_collection.plain")
        assert after is not None
        assert written.resulting_etag == str(after.seq)

    async def test_put_if_with_an_etag_is_one_round_trip(
        self, store: NATSStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SAME with an ETag (or ABSENT, for an insert) is a single guarded publish; a refusal reads once."""
        await store.put("key", {"v": 1}, ttl=60)
        entry = await store.get_entry("key")
        assert entry is not None
        read = store._messages  # pyright: ignore[reportPrivateUsage]
        reads: list[list[str]] = []

        async def counted(collection: str, keys: list[str]) -> list[RawStreamMsg | None]:
            reads.append(keys)
            return await read(collection, keys)

        monkeypatch.setattr(store, "_messages", counted)
        replaced = await store.put_if("key", {"v": 2}, etag=entry.etag)
        assert replaced.satisfied
        assert replaced.value == {"v": 2}
        assert (await store.put_if("new", {"v": 1}, etag=ABSENT)).satisfied
        assert isinstance(replaced.resulting_etag, str)
        assert (await store.delete_if("key", etag=replaced.resulting_etag)).satisfied
        assert reads == []
        refused = await store.put_if("new", {"v": 2}, etag=entry.etag)
        assert not refused.satisfied
        assert refused.value == {"v": 1}  # the loser's one read
        assert reads == [["new"]]

    async def test_keep_current_republishes_with_the_same_etag(
        self, store: NATSStore, raw: RawNats, bucket: str
    ) -> None:
        await store.put("key", {"v": 1}, ttl=5)
        entry = await store.get_entry("key")
        assert entry is not None
        refreshed = await store.put_if("key", KEEP_CURRENT, etag=entry.etag, ttl=60)
        assert refreshed.satisfied
        assert refreshed.resulting_etag == entry.etag
        message = await raw.last(bucket, f"$KV.{bucket}.default_collection.key")
        assert message is not None
        headers = headers_of(message)
        assert headers["KV-ETag"] == entry.etag  # a new message, carrying the entry's ETag and write time
        assert headers["Nats-TTL"] == "60s"
        after = await store.get_entry("key")
        assert after is not None
        assert after.etag == entry.etag
        assert after.written_at == entry.written_at
        assert after.ttl is not None
        assert after.ttl > 55
        again = await store.put_if("key", {"v": 2}, etag=entry.etag)  # the refresh's message, found by a read
        assert again.satisfied
        assert not (await store.put_if("key", {"v": 3}, etag=entry.etag)).satisfied
        await store.put("key", {"v": 4})
        plain = await store.get_entry("key")
        assert plain is not None
        assert plain.etag not in (entry.etag, again.resulting_etag)

    async def test_conditional_write_over_an_expired_message_the_server_still_holds(
        self, store: NATSStore, raw: RawNats, bucket: str
    ) -> None:
        await store.put("key", {"v": 1}, ttl=0.2)
        entry = await store.get_entry("key")
        assert entry is not None
        await asyncio.sleep(0.4)
        old = await raw.last(bucket, f"$KV.{bucket}.default_collection.key")
        assert old is not None  # expired by KV-Expires-At; the server removes it within a second
        assert not (await store.put_if("key", {"v": 2}, etag=entry.etag)).satisfied
        inserted = await store.put_if("key", {"v": 3}, etag=ABSENT)
        assert inserted.satisfied
        assert inserted.actual_etag is ABSENT
        new = await raw.last(bucket, f"$KV.{bucket}.default_collection.key")
        assert new is not None
        assert new.seq is not None
        assert old.seq is not None
        assert new.seq > old.seq
        assert (await raw.stream(bucket)).state.messages == 1  # one live copy
        assert await store.get("key") == {"v": 3}

    async def test_a_write_between_the_read_and_the_publish_is_decided_again(
        self, store: NATSStore, nats_server: NatsServer, bucket: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await store.put("key", {"v": 1})
        other = NATSStore(url=nats_server.url, bucket=bucket)
        read = store._messages  # pyright: ignore[reportPrivateUsage]
        values = iter([{"v": 2}, {"v": 3}])

        async def read_then_overwrite(collection: str, keys: list[str]) -> list[RawStreamMsg | None]:
            messages = await read(collection, keys)
            value = next(values, None)
            if value is not None:
                await other.put("key", value)  # lands after the read, before the guarded publish
            return messages

        monkeypatch.setattr(store, "_messages", read_then_overwrite)
        result = await store.put_if("key", {"mine": True}, etag=ABSENT, condition=ANY)
        monkeypatch.undo()
        assert result.satisfied
        written = await other.get_entry("key")
        assert written is not None
        assert written.value == {"mine": True}
        assert written.etag == result.resulting_etag
        assert result.actual_etag != ABSENT
        assert await other.get("key") == {"mine": True}
        values = iter([{"v": 4}])
        monkeypatch.setattr(store, "_messages", read_then_overwrite)
        deleted = await store.delete_if("key", etag=ABSENT, condition=CHANGED)
        monkeypatch.undo()
        assert deleted.satisfied  # the marker expected our write; it went again, over the other's
        assert deleted.actual_etag not in (ABSENT, written.etag)
        assert deleted.resulting_etag is ABSENT
        assert await other.get("key") is None
        await other.close()

    @pytest.mark.parametrize("etag", ["abc", "0", "012", "1:soon", "99999999", "-1", "1.5"])
    async def test_etags_the_store_did_not_make_match_nothing(self, store: NATSStore, etag: str) -> None:
        assert not (await store.put_if("absent", {"v": 1}, etag=etag)).satisfied
        assert not (await store.delete_if("absent", etag=etag)).satisfied
        await store.put("key", {"v": 1})
        assert not (await store.put_if("key", {"v": 2}, etag=etag)).satisfied
        assert not (await store.delete_if("key", etag=etag)).satisfied
        assert await store.get_many(["absent", "key"]) == [None, {"v": 1}]

    async def test_a_listing_cut_short_by_a_timeout_raises(
        self, nats_server: NatsServer, bucket: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """keys() never returns part of a collection: a page that does not come in time is an error."""
        keys = [f"k{number}" for number in range(2500)]  # three pages
        async with NATSStore(url=nats_server.url, bucket=bucket) as writer:
            await writer.put_many(keys, [{"v": 1}] * len(keys))
            assert len(await writer.keys()) == len(keys)
        store = NATSStore(url=nats_server.url, bucket=bucket, timeout=1)
        fetch = store._fetch  # pyright: ignore[reportPrivateUsage]
        calls: list[int] = []

        async def stall_second_page(
            subscription: JetStreamContext.PullSubscription, batch: int, delivered: int
        ) -> list[Msg]:
            calls.append(batch)
            if len(calls) == 2:
                nats_server.pause()
                threading.Timer(1.5, nats_server.resume).start()  # after the fetch gives up, before the clean-up
            return await fetch(subscription, batch, delivered)

        monkeypatch.setattr(store, "_fetch", stall_second_page)
        with pytest.raises(StoreTimeoutError):
            await store.keys()
        monkeypatch.undo()
        deadline = time.monotonic() + 10
        while True:  # the server is back within seconds; the listing is whole again
            try:
                assert len(await store.keys()) == len(keys)
                break
            except StoreTimeoutError:
                assert time.monotonic() < deadline
        await store.close()

    async def test_concurrent_bucket_creation(self, nats_server: NatsServer, bucket: str) -> None:
        stores = [NATSStore(url=nats_server.url, bucket=bucket) for _ in range(4)]
        if True:  # ASYNC
            await asyncio.gather(*(store.setup() for store in stores))
        else:
            threads = [threading.Thread(target=store.setup) for store in stores]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        for number, store in enumerate(stores):
            await store.put(f"k{number}", {"v": number})
        assert sorted(await stores[0].keys()) == ["k0", "k1", "k2", "k3"]
        for store in stores:
            await store.close()

    async def test_value_too_large(self, store: NATSStore) -> None:
        huge = {"blob": "x" * (9 * 1024 * 1024)}
        with pytest.raises(ValueTooLargeError):
            await store.put("huge", huge)
        with pytest.raises(ValueTooLargeError):
            await store.put_many(["small", "huge"], [{"v": 1}, huge])
        assert await store.get_many(["small", "huge"]) == [None, None]

    async def test_names_too_long_for_a_subject(self, store: NATSStore) -> None:
        long_key = "k" * MAX_SUBJECT_BYTES
        with pytest.raises(InvalidKeyError):
            await store.put(long_key, {"v": 1})
        with pytest.raises(InvalidKeyError):
            await store.put_many(["fine", long_key], [{"v": 1}, {"v": 2}])
        assert await store.get("fine") is None
        await store.put("k" * 1500, {"v": 1}, collection="c" * 1500)
        assert await store.keys("c" * 1500) == ["k" * 1500]

    async def test_from_url(self, nats_server: NatsServer, bucket: str) -> None:
        url = f"{nats_server.url}?bucket={bucket}&timeout=3&create_bucket=true&default_collection=n"
        async with NATSStore.from_url(url) as store:
            assert store.bucket == bucket
            await store.put("key", {"v": 1})
        async with NATSStore(url=nats_server.url, bucket=bucket) as store:
            assert await store.get("key", collection="n") == {"v": 1}
        with pytest.raises(InvalidArgumentError, match="unknown URL option"):
            NATSStore.from_url(f"{nats_server.url}?no_echo=true")
        with pytest.raises(InvalidArgumentError, match="create_bucket='sometimes' must be true or false"):
            NATSStore.from_url(f"{nats_server.url}?create_bucket=sometimes")
        with pytest.raises(InvalidArgumentError, match="bucket must be"):
            NATSStore.from_url(f"{nats_server.url}?bucket=has.dot")
        with pytest.raises(InvalidArgumentError, match="schemes: ") as info:
            NATSStore.from_url("redis://user:s3cret@localhost")
        assert "s3cret" not in str(info.value)

    def test_bad_settings(self) -> None:
        for bucket in ["", "has.dot", "has space", "a*"]:
            with pytest.raises(InvalidArgumentError):
                NATSStore(bucket=bucket)
        for timeout in [0, -1.0, float("nan"), float("inf")]:
            with pytest.raises(InvalidArgumentError):
                NATSStore(timeout=timeout)

    def test_used_from_two_event_loops(self, nats_server: NatsServer, bucket: str) -> None:
        check_used_from_two_event_loops(NATSStore(url=nats_server.url, bucket=bucket))

    async def test_connection_refused(self) -> None:
        store = NATSStore(url=f"nats://{LOOPBACK}:{free_port()}", timeout=5)
        started = time.monotonic()
        with pytest.raises(StoreConnectionError):
            await store.get("key")
        assert time.monotonic() - started < 3  # each server is tried twice, half a second apart
        await store.close()

    async def test_stopped_server_then_back(self, private_nats_server: NatsServer) -> None:
        store = NATSStore(url=private_nats_server.url, timeout=2)
        await store.put("key", {"v": 1})
        private_nats_server.stop()
        with pytest.raises(StoreConnectionError):
            await store.get("key")
        private_nats_server.process.start()  # same port and store directory
        assert await store.get("key") == {"v": 1}
        await store.put("key", {"v": 2})
        assert await store.get("key") == {"v": 2}
        await store.close()

    async def test_unanswering_server_times_out(self, private_nats_server: NatsServer) -> None:
        store = NATSStore(url=private_nats_server.url, timeout=0.5)
        await check_unanswered_request_times_out(store, private_nats_server)
        await store.close()

"""`NATSStore`: one JetStream key-value bucket through nats-py; needs nats-server 2.11 or later.

Bucket layout: the stream `KV_<bucket>` on subjects `$KV.<bucket>.>` (a standard NATS KV bucket, so
`nats kv` tools see it), history 1, direct gets and per-message TTL allowed. Every entry is one message
on `$KV.<bucket>.<collection token>.<key token>` (see `tokens.py`); the payload is the value's JSON text.
An entry with a TTL carries two headers: `Nats-TTL` (whole seconds, rounded up: the server removes the
message by then, which needs the per-message TTL of nats-server 2.11+) and `KV-Expires-At` (epoch
seconds), by which readers hide it to the millisecond. A delete writes a purge marker (`KV-Operation:
PURGE` with `Nats-Rollup: sub`) that drops the entry at once and itself expires a second later;
readers and `keys()` never show markers.

Conditional calls use JetStream's optimistic concurrency: a write carries
`Nats-Expected-Last-Subject-Sequence`, so it lands only if the subject's last message is still the one
the decision was made on (0: none), for every client of the server. An entry's ETag is its message's
stream sequence (never reused while the stream lives), followed by `:<KV-Expires-At>` when it expires,
so that `put_if` with an ETag can tell on its own whether the write it names is still live and publish
at once, in one round trip; any other call, or a refused publish, reads the subject and decides on what
it holds (an entry past `KV-Expires-At` but not yet removed by the server is absent, and a write over it
expects its sequence). A TTL refresh (`KEEP_CURRENT`) republishes the value, so its message carries the
entry's ETag and write time in `KV-ETag` and `KV-Written-At`.

Bulk calls send their requests together (one direct get or publish per key, awaited as one batch), so
a bulk call costs one round trip of latency, not one per key. Enumeration reads only headers, through
an ephemeral consumer that delivers the last message per subject.

The async twin keeps a connection per event loop; the sync twin runs nats-py on one background event
loop per process (`_runner.py`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext, JetStreamManager
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RawStreamMsg,
    StorageType,
    StreamConfig,
    StreamInfo,
)
from nats.js.errors import APIError, NoStreamResponseError, NotFoundError, ServiceUnavailableError
from typing_extensions import Self

from key_value.aio.stores._lazy_client import LazyClient
from key_value.aio.stores.base import (
    BaseConditionalStore,
    BaseContextManagerStore,
    BaseDestroyCollectionStore,
    BaseDestroyStore,
    BaseEnumerateCollectionsStore,
    BaseEnumerateKeysStore,
    Entry,
    SeedData,
)
from key_value.aio.stores.nats._runner import run
from key_value.aio.stores.nats.tokens import encode_token, entry_subject, split_subject
from key_value.shared.codec import decode_value
from key_value.shared.conditional import (
    ABSENT,
    NOT_RETRIEVED,
    Absent,
    Atomicity,
    Condition,
    ConditionalResult,
    Joker,
    VersionedEntry,
    holds,
)
from key_value.shared.errors import (
    DeserializationError,
    InvalidArgumentError,
    KeyValueStoreError,
    StoreConnectionError,
    StoreSetupError,
    StoreTimeoutError,
    ValueTooLargeError,
)
from key_value.shared.urls import merge_options, parse_store_url, url_bool
from key_value.shared.validation import check_timeout

T = TypeVar("T")

DEFAULT_BUCKET = "kv_store"
#: The oldest nats-server with per-message TTL (ADR-43).
MIN_SERVER_VERSION = (2, 11)
EXPIRES_HEADER = "KV-Expires-At"
#: Headers of a TTL refresh: the entry's ETag and write time, which the refresh keeps.
ETAG_HEADER = "KV-ETag"
WRITTEN_HEADER = "KV-Written-At"
_MARKER = {"KV-Operation": "PURGE", "Nats-Rollup": "sub", "Nats-TTL": "1s"}
_EXPECTED_LAST_SEQUENCE = "Nats-Expected-Last-Subject-Sequence"
_WRONG_LAST_SEQUENCE = 10071  # JetStream's error code when that expectation fails
_Message = tuple[str, bytes, "dict[str, str] | None"]  # subject, payload, headers
_HEADER_ALLOWANCE = 256  # bytes kept free under the server's max_payload for headers
_PAGE = 1000  # headers fetched per enumeration request
_PUBLISH_WINDOW = 256  # publishes awaiting their acknowledgement at once: each one's timeout covers its window only
_BUCKET_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_STREAM_EXISTS = 10058  # JetStream error code: stream name already in use with a different configuration


@dataclass(frozen=True)
class NATSSettings:
    """How a NATSStore connects: one server URL or several, `timeout` in seconds, options for `nats.connect`."""

    url: str | Sequence[str] = "nats://localhost:4222"
    timeout: float = 5.0
    connect_options: Mapping[str, Any] | None = field(default=None, repr=False)  # may hold credentials

    def __post_init__(self) -> None:
        object.__setattr__(self, "timeout", check_timeout(self.timeout))

    def servers(self) -> list[str]:
        return [self.url] if isinstance(self.url, str) else list(self.url)

    def connect_kwargs(self) -> dict[str, Any]:
        """Keywords for `nats.connect`: the caller's `connect_options` over our defaults.

        Initial connect: each server is tried twice, half a second apart, then the call fails. Later
        outages: nats-py retries the same way, then closes the client; the next call connects afresh.
        """
        return {
            "connect_timeout": self.timeout,
            "reconnect_time_wait": 0.5,
            "max_reconnect_attempts": 1,
            **(self.connect_options or {}),
        }


@dataclass(frozen=True)
class _Connection:
    client: Client
    js: JetStreamContext
    jsm: JetStreamManager


class NATSStore(
    BaseEnumerateKeysStore,
    BaseEnumerateCollectionsStore,
    BaseDestroyStore,
    BaseDestroyCollectionStore,
    BaseConditionalStore,
    BaseContextManagerStore,
):
    """A store in one NATS JetStream key-value bucket (nats-server 2.11+, started with JetStream).

    `url` is one server URL or a list of them; `connect_options` go to `nats.connect` as they are
    (credentials, TLS, ...). The bucket is created on first use unless `create_bucket=False`, for
    buckets provisioned elsewhere: they must allow per-message TTL. `timeout` bounds connecting and
    every request, in seconds.
    """

    def __init__(
        self,
        *,
        url: str | Sequence[str] = "nats://localhost:4222",
        bucket: str = DEFAULT_BUCKET,
        create_bucket: bool = True,
        timeout: float = 5.0,
        connect_options: Mapping[str, Any] | None = None,
        default_collection: str | None = None,
        seed: SeedData | None = None,
    ) -> None:
        if not isinstance(bucket, str) or not bucket or not set(bucket) <= _BUCKET_CHARACTERS:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidArgumentError("bucket must be a non-empty [a-zA-Z0-9_-] name", extra_info={"bucket": bucket})
        super().__init__(default_collection=default_collection, seed=seed)
        self.bucket = bucket
        self._stream = f"KV_{bucket}"
        self._prefix = f"$KV.{bucket}."
        self._create_bucket = create_bucket
        settings = NATSSettings(url=url, timeout=timeout, connect_options=connect_options)
        self._timeout = settings.timeout
        self._direct = True
        servers, options = settings.servers(), settings.connect_kwargs()

        async def connect() -> _Connection:
            try:
                client = await run(lambda: _nats_connect(servers, **options))
            except _CLIENT_ERRORS as exc:
                raise _store_error(exc) from exc
            js = client.jetstream(timeout=settings.timeout)  # pyright: ignore[reportUnknownMemberType] - untyped **opts
            jsm = client.jsm(timeout=settings.timeout)  # pyright: ignore[reportUnknownMemberType] - untyped **opts
            return _Connection(client, js, jsm)

        self._connections = LazyClient(connect, _disconnect)

    # -- connection and setup -------------------------------------------------------------------

    async def _connection(self) -> _Connection:
        connection = await self._connections.get()
        if connection.client.is_closed:  # nats-py gave up reconnecting after an outage
            await self._connections.discard(connection)
            connection = await self._connections.get()
        return connection

    async def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run one NATS operation, with our errors for nats-py's."""
        try:
            return await run(make)
        except _CLIENT_ERRORS as exc:
            raise _store_error(exc) from exc

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        """A store from `nats://[user[:password]@]host[:port]` (also `tls://`, `ws://`, `wss://`).

        The query options are `bucket`, `create_bucket`, `timeout` and `default_collection`; any other is
        refused. `options` are the constructor's other keywords (`connect_options=`, ...).
        """
        parsed = parse_store_url(
            url, schemes=("nats", "tls", "ws", "wss"), shape="nats://[user[:password]@]host[:port]"
        )
        own, rest = parsed.take_options(
            {"bucket": str, "create_bucket": url_bool, "timeout": float, "default_collection": str}
        )
        rest.refuse_other_options()
        return cls(url=rest.text, **merge_options(own, options, parsed))

    async def _close(self) -> None:
        await self._connections.close()

    async def _setup(self) -> None:
        """Check the server version, then find (or create) the bucket and check that it allows per-message TTL."""
        connection = await self._connection()
        version = connection.client.connected_server_version
        if (version.major, version.minor) < MIN_SERVER_VERSION:
            needed = ".".join(map(str, MIN_SERVER_VERSION))
            found = f"{version.major}.{version.minor}.{version.patch}"
            raise StoreSetupError(
                f"NATSStore needs nats-server {needed} or later (per-message TTL); this server is {found}",
                extra_info={"server": found},
            )
        jsm = connection.jsm
        try:
            info = await run(lambda: jsm.stream_info(self._stream))
        except NotFoundError:
            if not self._create_bucket:
                message = f"NATS bucket {self.bucket!r} does not exist; provision it or pass create_bucket=True"
                raise StoreSetupError(message, extra_info={"stream": self._stream}) from None
            info = await self._create(jsm)
        except _CLIENT_ERRORS as exc:
            raise _store_error(exc) from exc
        for setting, purpose in (("allow_msg_ttl", "per-message TTL"), ("allow_rollup_hdrs", "rollup headers")):
            if not getattr(info.config, setting):
                message = f"NATS bucket {self.bucket!r} does not allow {purpose} ({setting}), which the store needs"
                raise StoreSetupError(message, extra_info={"stream": self._stream})
        self._direct = bool(info.config.allow_direct)

    async def _create(self, jsm: JetStreamManager) -> StreamInfo:
        config = StreamConfig(
            name=self._stream,
            subjects=[f"{self._prefix}>"],
            max_msgs_per_subject=1,
            discard=DiscardPolicy.NEW,
            storage=StorageType.FILE,
            num_replicas=1,
            allow_direct=True,
            allow_rollup_hdrs=True,
            allow_msg_ttl=True,
            deny_delete=True,
        )
        try:
            return await run(lambda: jsm.add_stream(config))  # pyright: ignore[reportUnknownMemberType] - untyped **params
        except APIError as exc:
            if exc.err_code != _STREAM_EXISTS:
                raise _store_error(exc) from exc
        except _CLIENT_ERRORS as exc:
            raise _store_error(exc) from exc
        return await self._call(lambda: jsm.stream_info(self._stream))  # created meanwhile by another process

    # -- reads ----------------------------------------------------------------------------------

    async def _messages(self, collection: str, keys: list[str]) -> list[RawStreamMsg | None]:
        """The last message of each key's subject (None where there is none), fetched as one batch."""
        token = encode_token(collection)
        subjects = [entry_subject(self._prefix, token, key) for key in keys]
        js, stream, direct = (await self._connection()).js, self._stream, self._direct
        replies = await self._call(
            lambda: asyncio.gather(
                *(js.get_msg(stream, subject=subject, direct=direct) for subject in subjects), return_exceptions=True
            )
        )
        messages: list[RawStreamMsg | None] = []
        for reply in replies:
            if isinstance(reply, NotFoundError):
                messages.append(None)
            elif isinstance(reply, BaseException):
                raise _store_error(reply) if isinstance(reply, _CLIENT_ERRORS) else reply
            else:
                messages.append(reply)
        return messages

    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        return (await self._get_entries(collection, [key]))[0]

    async def _get_entries(self, collection: str, keys: list[str]) -> list[Entry | None]:
        return [None if message is None else _entry(message) for message in await self._messages(collection, keys)]

    # -- writes ---------------------------------------------------------------------------------

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        await self._put_entries(collection, [key], [value_json], ttl=ttl, expires_at=expires_at)

    async def _put_entries(
        self, collection: str, keys: list[str], values_json: list[str], *, ttl: float | None, expires_at: float | None
    ) -> None:
        token = encode_token(collection)
        subjects = [entry_subject(self._prefix, token, key) for key in keys]
        connection = await self._connection()
        payloads = [value.encode() for value in values_json]
        for key, payload in zip(keys, payloads, strict=True):
            _check_size(connection, key, payload)
        headers = _expiry_headers(ttl, expires_at) or None
        messages = [(subject, payload, headers) for subject, payload in zip(subjects, payloads, strict=True)]
        await self._publish(connection, messages)

    async def _publish(self, connection: _Connection, messages: list[_Message], *, guarded: bool = False) -> None:
        """Publish the messages and wait for every acknowledgement; raise the first failure.

        They go out in windows of `_PUBLISH_WINDOW`, all of a window at once: a large batch on a busy
        server then never times out only because its last acknowledgement queued behind thousands.

        With `guarded`, a message refused because its subject moved past the expected sequence is
        skipped: a newer write landed first, and it stands.
        """
        js = connection.js
        for start in range(0, len(messages), _PUBLISH_WINDOW):
            window = messages[start : start + _PUBLISH_WINDOW]
            acks = await self._call(
                lambda window=window: asyncio.gather(
                    *(js.publish(subject, payload, headers=headers) for subject, payload, headers in window),
                    return_exceptions=True,
                )
            )
            for ack in acks:
                if isinstance(ack, BaseException):
                    if guarded and isinstance(ack, APIError) and ack.err_code == _WRONG_LAST_SEQUENCE:
                        continue
                    raise _store_error(ack) if isinstance(ack, _CLIENT_ERRORS) else ack

    async def _delete_entry(self, collection: str, key: str) -> bool:
        return await self._delete_entries(collection, [key]) == 1

    async def _delete_entries(self, collection: str, keys: list[str]) -> int:
        """Purge markers for the keys that hold an entry (expired ones too); count the live ones.

        Each marker expects its subject's last sequence to be the one read, so a put that lands
        between the read and the marker is never erased: the delete counts as done just before it.
        """
        token = encode_token(collection)
        messages = await self._messages(collection, keys)
        now = self.clock()
        doomed: list[_Message] = []
        live = 0
        for key, message in zip(keys, messages, strict=True):
            entry = None if message is None else _entry(message)
            if message is None or entry is None:
                continue
            headers = {**_MARKER, _EXPECTED_LAST_SEQUENCE: str(message.seq)}
            doomed.append((entry_subject(self._prefix, token, key), b"", headers))
            live += entry.expires_at is None or entry.expires_at > now
        if doomed:
            await self._publish(await self._connection(), doomed, guarded=True)
        return live

    # -- conditional segment --------------------------------------------------------------------
    # Every write below expects the subject's last sequence to be the one the decision was made on: the
    # server applies it only then, for all clients at once. A refused write means the subject moved on,
    # and the call decides again on what it holds now.

    atomicity = Atomicity.ACROSS_PROCESSES

    async def _get_versioned(self, collection: str, key: str) -> VersionedEntry | None:
        current = _current((await self._messages(collection, [key]))[0], self.clock())
        if current.message is None or isinstance(current.etag, Absent):
            return None
        expires_at = current.expires_at
        ttl = None if expires_at is None else expires_at - self.clock()
        return VersionedEntry(decode_value(current.data()), current.etag, ttl, current.written_at())

    async def _put_if(
        self,
        collection: str,
        key: str,
        value: str | Joker,
        *,
        etag: str | Absent,
        condition: Condition,
        ttl: float | None,
        expires_at: float | None,
        retrieve: bool,
    ) -> ConditionalResult:
        subject = entry_subject(self._prefix, encode_token(collection), key)
        connection = await self._connection()
        payload = b"" if isinstance(value, Joker) else value.encode()
        _check_size(connection, key, payload)
        headers = _MARKER if value is Joker.DELETE_CURRENT else _expiry_headers(ttl, expires_at)
        if condition is Condition.SAME and value is not Joker.KEEP_CURRENT:
            # One round trip: an ETag names its message's sequence (and expiry), so the publish itself checks it.
            if isinstance(etag, Absent):
                expected = None if value is Joker.DELETE_CURRENT else 0  # deleting nothing writes nothing
            else:
                expected = _named_sequence(etag, self.clock())
            if expected is not None:
                sequence = await self._publish_expecting(connection, subject, payload, headers, expected)
                if sequence is not None:
                    return _written(etag, value, sequence, headers, retrieve=retrieve)
        while True:
            current = _current((await self._messages(collection, [key]))[0], self.clock())
            actual = current.etag
            if not holds(condition, etag, actual):
                return _unchanged(current, satisfied=False, retrieve=retrieve)
            if value is Joker.KEEP_CURRENT or (value is Joker.DELETE_CURRENT and isinstance(actual, Absent)):
                if isinstance(actual, Absent) or ttl is None:  # nothing to write
                    return _unchanged(current, satisfied=True, retrieve=retrieve)
                payload = current.data()
                headers = {**_expiry_headers(ttl, expires_at), ETAG_HEADER: actual, WRITTEN_HEADER: current.written()}
            sequence = await self._publish_expecting(connection, subject, payload, headers, current.sequence)
            if sequence is not None:
                return _written(actual, value, sequence, headers, retrieve=retrieve, kept=payload)

    async def _publish_expecting(
        self, connection: _Connection, subject: str, payload: bytes, headers: Mapping[str, str], expected: int
    ) -> int | None:
        """Publish if the subject's last sequence is still `expected` (0: it has none): the new sequence, or None."""
        js = connection.js
        guarded = {**headers, _EXPECTED_LAST_SEQUENCE: str(expected)}
        try:
            ack = await run(lambda: js.publish(subject, payload, headers=guarded))
        except APIError as exc:
            if exc.err_code == _WRONG_LAST_SEQUENCE:
                return None
            raise _store_error(exc) from exc
        except _CLIENT_ERRORS as exc:
            raise _store_error(exc) from exc
        return ack.seq

    # -- enumeration and destruction ------------------------------------------------------------

    async def _keys(self, collection: str, *, limit: int | None) -> list[str]:
        keys: list[str] = []

        def take(names: tuple[str, str]) -> bool:
            if names[0] == collection:
                keys.append(names[1])
            return limit is not None and len(keys) >= limit

        await self._scan(f"{self._prefix}{encode_token(collection)}.*", take)
        return keys

    async def _collections(self, *, limit: int | None) -> list[str]:
        names: dict[str, None] = {}

        def take(found: tuple[str, str]) -> bool:
            names[found[0]] = None
            return limit is not None and len(names) >= limit

        await self._scan(f"{self._prefix}*.*", take)
        return list(names)

    async def _destroy_collection(self, collection: str) -> bool:
        subjects = f"{self._prefix}{encode_token(collection)}.*"
        held = await self._scan(subjects, lambda _: True)
        jsm = (await self._connection()).jsm
        await self._call(lambda: jsm.purge_stream(self._stream, subject=subjects))
        return held

    async def _destroy(self) -> bool:
        held = await self._scan(f"{self._prefix}*.*", lambda _: True)
        jsm = (await self._connection()).jsm
        await self._call(lambda: jsm.purge_stream(self._stream))
        return held

    async def _scan(self, subjects: str, take: Callable[[tuple[str, str]], bool]) -> bool:
        """Hand the (collection, key) of each live entry on `subjects` to `take` until it returns True.

        An ephemeral consumer delivers the last message per subject, headers only, a page per request;
        it is deleted afterwards. Returns whether `take` stopped the scan.
        """
        connection = await self._connection()
        jsm, js, stream = connection.jsm, connection.js, self._stream
        config = ConsumerConfig(
            filter_subject=subjects,
            deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
            ack_policy=AckPolicy.NONE,
            headers_only=True,
            mem_storage=True,
            inactive_threshold=max(60.0, self._timeout),  # the server removes it if we never do
        )
        info = await self._call(lambda: jsm.add_consumer(stream, config=config))  # pyright: ignore[reportUnknownMemberType] - untyped **params
        consumer = info.name
        assert consumer is not None  # the server names every consumer it creates
        pending = info.num_pending or 0
        try:
            if pending == 0:
                return False
            subscription = await self._call(lambda: js.pull_subscribe_bind(consumer=consumer, stream=stream))
            try:
                delivered = 0
                while pending > 0:
                    page = await self._fetch(subscription, min(pending, _PAGE), delivered)
                    if not page:
                        return False
                    now = self.clock()
                    for message in page:
                        names = split_subject(self._prefix, message.subject)
                        if names is not None and _is_live(message.headers, now) and take(names):
                            return True
                    pending = page[-1].metadata.num_pending or 0
                    delivered = page[-1].metadata.sequence.consumer
            finally:
                await self._call(subscription.unsubscribe)
        finally:
            await self._call(lambda: jsm.delete_consumer(stream, consumer))
        return False

    async def _fetch(self, subscription: JetStreamContext.PullSubscription, batch: int, delivered: int) -> list[Msg]:
        """Up to `batch` messages; none when the entries counted as pending vanished meanwhile.

        A fetch that times out ends the scan only if the consumer has nothing pending and delivered
        nothing past `delivered` (the last message received); otherwise the listing would be
        incomplete, and the timeout is raised.
        """
        try:
            return await self._call(lambda: subscription.fetch(batch=batch, timeout=self._timeout))
        except StoreTimeoutError:
            info = await self._call(subscription.consumer_info)
            if (info.num_pending or 0) == 0 and (info.delivered is None or info.delivered.consumer_seq == delivered):
                return []
            raise


def _is_live(headers: Mapping[str, str] | None, now: float) -> bool:
    """False for delete markers (ours or the server's) and for entries expired by `KV-Expires-At`."""
    if not headers:
        return True
    if headers.get("KV-Operation") in ("DEL", "PURGE") or "Nats-Marker-Reason" in headers:
        return False
    expires = headers.get(EXPIRES_HEADER)
    try:
        return expires is None or float(expires) > now
    except ValueError:
        return True  # not our header: the entry is shown, and reading it reports the damage


def _entry(message: RawStreamMsg) -> Entry | None:
    """The entry a message holds; None for a delete marker."""
    headers = _headers(message)
    if _is_marker(headers):
        return None
    return Entry(decode_value(message.data or b""), _expires_at(headers))


def _headers(message: RawStreamMsg) -> dict[str, str]:
    return cast("dict[str, str]", message.headers or {})  # nats-py leaves RawStreamMsg.headers untyped


def _is_marker(headers: Mapping[str, str]) -> bool:
    return headers.get("KV-Operation") in ("DEL", "PURGE") or "Nats-Marker-Reason" in headers


def _expires_at(headers: Mapping[str, str]) -> float | None:
    expires = headers.get(EXPIRES_HEADER)
    try:
        return None if expires is None else float(expires)
    except ValueError as exc:
        raise DeserializationError(f"stored {EXPIRES_HEADER} header is not a number: {expires!r}") from exc


def _check_size(connection: _Connection, key: str, payload: bytes) -> None:
    limit = connection.client.max_payload - _HEADER_ALLOWANCE
    if len(payload) > limit:
        raise ValueTooLargeError(
            len(payload), limit, key=key, message="value is larger than the NATS server accepts (its max_payload)"
        )


def _expiry_headers(ttl: float | None, expires_at: float | None) -> dict[str, str]:
    """`Nats-TTL` (whole seconds, rounded up, for the server) and `KV-Expires-At` (for readers); none without TTL."""
    if ttl is None or expires_at is None:
        return {}
    return {"Nats-TTL": f"{math.ceil(ttl)}s", EXPIRES_HEADER: repr(expires_at)}


@dataclass(frozen=True, slots=True)
class _Current:
    """A subject's last message as a conditional call sees it."""

    sequence: int
    """The message's stream sequence; 0 when the subject has none."""
    etag: str | Absent
    message: RawStreamMsg | None = None
    """The live entry's message; None when absent (no message, a marker, or expired)."""
    expires_at: float | None = None

    def data(self) -> bytes:
        return b"" if self.message is None else self.message.data or b""

    def value(self) -> dict[str, Any] | None:
        return None if self.message is None else decode_value(self.data())

    def written(self) -> str:
        """When the entry was written, as the text of `KV-Written-At` (the message's time if not a refresh)."""
        assert self.message is not None
        carried = _headers(self.message).get(WRITTEN_HEADER)
        if carried is not None:
            return carried
        return "" if self.message.time is None else repr(self.message.time.timestamp())

    def written_at(self) -> float | None:
        try:
            return float(self.written())
        except ValueError:
            return None


def _current(message: RawStreamMsg | None, now: float) -> _Current:
    """What `message` (a subject's last, or None) holds at `now`: its ETag if a live entry, else ABSENT."""
    if message is None:
        return _Current(0, ABSENT)
    sequence = message.seq or 0
    headers = _headers(message)
    if _is_marker(headers):
        return _Current(sequence, ABSENT)
    expires_at = _expires_at(headers)
    if expires_at is not None and expires_at <= now:
        return _Current(sequence, ABSENT)
    return _Current(sequence, headers.get(ETAG_HEADER) or _etag(sequence, headers), message, expires_at)


def _etag(sequence: int, headers: Mapping[str, str]) -> str:
    """A written message's ETag: its sequence, and `:<KV-Expires-At>` if it expires."""
    expires = headers.get(EXPIRES_HEADER)
    return str(sequence) if expires is None else f"{sequence}:{expires}"


def _named_sequence(etag: str, now: float) -> int | None:
    """The sequence of the write `etag` names if that write is live by its own expiry, else None.

    None too for anything not shaped like our ETags; then the caller reads the subject and compares.
    """
    sequence, _, expires = etag.partition(":")
    if not (sequence.isascii() and sequence.isdigit()) or sequence.startswith("0"):
        return None
    if expires:
        try:
            if float(expires) <= now:
                return None
        except ValueError:
            return None
    return int(sequence)


def _written(
    actual: str | Absent,
    value: str | Joker,
    sequence: int,
    headers: Mapping[str, str],
    *,
    retrieve: bool,
    kept: bytes = b"",
) -> ConditionalResult:
    """The result of a write that landed as `sequence`: a new value, a deletion, or a TTL refresh."""
    if value is Joker.DELETE_CURRENT:
        resulting, after = ABSENT, None
    elif value is Joker.KEEP_CURRENT:
        resulting, after = actual, kept
    else:
        resulting, after = _etag(sequence, headers), value
    shown = NOT_RETRIEVED if not retrieve else None if after is None else decode_value(after)
    return ConditionalResult(satisfied=True, actual_etag=actual, resulting_etag=resulting, value=shown)


def _unchanged(current: _Current, *, satisfied: bool, retrieve: bool) -> ConditionalResult:
    """The result of a call that wrote nothing: the entry as it stands."""
    return ConditionalResult(satisfied, current.etag, current.etag, current.value() if retrieve else NOT_RETRIEVED)


_CLIENT_ERRORS = (nats.errors.Error, OSError, asyncio.TimeoutError)
_CONNECTION_ERRORS = (
    OSError,
    nats.errors.NoServersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.ConnectionDrainingError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.AuthorizationError,
    nats.errors.SecureConnFailedError,
)


def _store_error(exc: BaseException) -> KeyValueStoreError:
    """Our error for a nats-py one: timeouts, lost connections, an unavailable JetStream, or anything else."""
    if isinstance(exc, asyncio.TimeoutError):  # nats.errors.TimeoutError too
        return StoreTimeoutError(f"NATS did not answer in time: {exc!r}")
    if isinstance(exc, (ServiceUnavailableError, NoStreamResponseError, nats.errors.NoRespondersError)):
        return StoreConnectionError(f"NATS JetStream is unavailable (is the server started with -js?): {exc!r}")
    if isinstance(exc, _CONNECTION_ERRORS):
        return StoreConnectionError(f"NATS is unreachable: {exc!r}")
    return KeyValueStoreError(f"NATS failed: {exc!r}")


#: `nats.connect`, typed: nats-py leaves its **options untyped.
_nats_connect = cast("Callable[..., Awaitable[Client]]", nats.connect)


async def _disconnect(connection: _Connection) -> None:
    await run(connection.client.close)

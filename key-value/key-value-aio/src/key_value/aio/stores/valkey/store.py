"""`ValkeyStore`: Valkey (standalone or cluster) through Valkey GLIDE, one server key per entry.

Key layout (`key_value.shared.layouts.resp`, shared with `RedisStore`; `layout=` to choose another):
`kv:{<collection>}<key>`, the collection in a hash tag with `%` and `}` escaped, so one collection's
keys share a cluster hash slot, no two entries share a key, and `destroy()` finds this store's keys by
their `kv:{` prefix. The value is the entry's JSON text; the expiry is the server's own, in milliseconds.

Every operation is one round trip: `get` is one GET, `get_many` one MGET, `put` one SET (with a
millisecond expiry when there is a TTL; a SET without one clears an old TTL), `put_many` one MSET or,
with a TTL, a batch of SETs, `delete_many` one DEL, and `ttl`/`ttl_many` a batch of GETs and PTTLs.
Enumeration follows SCAN cursors to the end (GLIDE's cluster cursor visits every node). The
conditional calls (`get_entry`, `put_if`, `delete_if`, ...) are one script invocation each
(`_resp.conditional`: the ETag is the SHA-1 of the stored bytes, atomic across processes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, cast

from glide import (
    Batch,
    ClosingError,
    ClusterBatch,
    ClusterScanCursor,
    ExpirySet,
    ExpiryType,
    GlideClient,
    GlideClientConfiguration,
    GlideClusterClient,
    GlideClusterClientConfiguration,
    GlideError,
    NodeAddress,
    Script,
    ServerCredentials,
    TEncodable,
)
from glide import ConnectionError as GlideConnectionError
from glide import TimeoutError as GlideTimeoutError
from typing_extensions import Self

if True:  # ASYNC
    import asyncio

    from glide import glide_client as _glide_internals

from key_value.aio.stores._lazy_client import LazyClient
from key_value.aio.stores._resp import (
    DELETE_BATCH,
    SCAN_COUNT,
    ErrorTranslation,
    entries,
    milliseconds,
    values_with_ttl,
)
from key_value.aio.stores._resp.conditional import GET_ENTRY, PUT_IF, LuaScript, ScriptedConditional, cluster_refused
from key_value.aio.stores._resp.py_key_value import PyKeyValueData, resp_layout
from key_value.aio.stores._server_ttl import ServerTTLStore, ValueTTL
from key_value.aio.stores.base import (
    BaseContextManagerStore,
    BaseDestroyCollectionStore,
    BaseDestroyStore,
    BaseEnumerateCollectionsStore,
    BaseEnumerateKeysStore,
    Entry,
    SeedData,
)
from key_value.shared.errors import InvalidArgumentError
from key_value.shared.layouts import LayoutName
from key_value.shared.layouts.resp import RespLayout
from key_value.shared.urls import merge_options, parse_store_url, url_bool
from key_value.shared.validation import check_optional_timeout

#: A GLIDE client of either kind; the store works the same on both.
ValkeyClient = GlideClient | GlideClusterClient
ValkeyConfiguration = GlideClientConfiguration | GlideClusterClientConfiguration

_URL_SCHEMES = {"valkey": False, "redis": False, "valkeys": True, "rediss": True}  # scheme -> TLS
_URL_SHAPE = "valkey[s]://[user[:password]@]host[:port][/db]"


class ValkeyStore(
    PyKeyValueData,
    ServerTTLStore,
    BaseEnumerateKeysStore,
    BaseEnumerateCollectionsStore,
    BaseDestroyStore,
    BaseDestroyCollectionStore,
    BaseContextManagerStore,
    ScriptedConditional,
):
    """A store on Valkey: pass `url=`, or `host=`/`port=`/`db=`..., a GLIDE `config=`, or your own `client=`.

    `cluster=True` connects to a cluster through the URL's or `host`/`port`'s node; a cluster
    configuration or client works too. URLs: `valkey://`, `redis://`, or `valkeys://`/`rediss://` for TLS,
    as `scheme://[user[:password]@]host[:port][/db]`. A `client=` is yours: the store never closes it.

    Each event loop gets a client of its own. GLIDE reads the replies of all its async clients on
    one loop; before each request the store moves that reading to the running loop when the loop
    doing it is idle or closed, so loops can take turns whether or not the earlier one is closed.
    """

    def __init__(
        self,
        *,
        client: ValkeyClient | None = None,
        config: ValkeyConfiguration | None = None,
        url: str | None = None,
        host: str = "localhost",
        port: int = 6379,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        cluster: bool = False,
        timeout: float | None = None,
        default_collection: str | None = None,
        seed: SeedData | None = None,
        layout: LayoutName | RespLayout = "native",
    ) -> None:
        """`timeout`: seconds GLIDE waits for a reply before the call fails with `StoreTimeoutError` (None:
        GLIDE's own default, 250 ms); for the client this store builds, so not with `client=` or `config=`."""
        super().__init__(default_collection=default_collection, seed=seed)
        self._layout = resp_layout(layout, store="ValkeyStore")
        sources = [option for option in (client, config, url) if option is not None]
        if len(sources) > 1 or ((cluster or timeout is not None) and (client is not None or config is not None)):
            raise InvalidArgumentError(
                "pass one of client=, config= or url= (cluster= and timeout= only with url= or host=)"
            )
        if client is not None:
            self._clients = LazyClient.given(client)
            return
        if config is None:
            config = ValkeySettings(
                url=url,
                host=host,
                port=port,
                db=db,
                username=username,
                password=password,
                cluster=cluster,
                timeout=timeout,
            ).configuration()
        settings = config

        async def connect() -> ValkeyClient:
            with _TRANSLATED:
                if isinstance(settings, GlideClusterClientConfiguration):
                    return await GlideClusterClient.create(settings)
                return await GlideClient.create(settings)

        self._clients = LazyClient(connect, _disconnect)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        """A store from `valkey[s]://[user[:password]@]host[:port][/db]` (also `redis[s]://`).

        The query options are `cluster`, `timeout` (seconds) and `default_collection`; any other is
        refused. `options` are the constructor's other keywords.
        """
        parsed = parse_store_url(url, schemes=_URL_SCHEMES, shape=_URL_SHAPE)
        own, rest = parsed.take_options({"cluster": url_bool, "timeout": float, "default_collection": str})
        rest.refuse_other_options()
        return cls(url=rest.text, **merge_options(own, options, parsed))

    async def _setup(self) -> None:
        await self._look_for_py_key_value_data()

    async def _close(self) -> None:
        await self._clients.close()

    async def _client(self) -> ValkeyClient:
        """The running loop's client, with GLIDE's replies read where they can be (see `_claim_reply_pipe`)."""
        if True:  # ASYNC
            _claim_reply_pipe()
        return await self._clients.get()

    def _translated(self, client: ValkeyClient) -> _Translated:
        """`async with`: GLIDE's errors raised by `client` become ours (see `_Translated`)."""
        return _Translated(self._clients, client)

    # -- reads ----------------------------------------------------------------------------------

    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        client = await self._client()
        async with self._translated(client):
            raw = await client.get(self._layout.server_key(collection, key))
        entry = entries(self._layout, [raw])[0]
        if entry is None and self._legacy:
            return (await self._legacy_entries(collection, [key], [None]))[0]
        return entry

    async def _get_entries(self, collection: str, keys: list[str]) -> list[Entry | None]:
        client = await self._client()
        async with self._translated(client):
            raws = await client.mget(list(self._layout.server_keys(collection, keys)))
        found = entries(self._layout, raws)
        return await self._legacy_entries(collection, keys, found) if self._legacy else found

    async def _get_entries_ttl(self, collection: str, keys: list[str]) -> list[ValueTTL]:
        found = values_with_ttl(self._layout, await self._get_with_pttl(self._layout.server_keys(collection, keys)))
        return await self._legacy_ttl(collection, keys, found) if self._legacy else found

    async def _get_with_pttl(self, names: list[str]) -> list[Any]:
        def fill(batch: Batch | ClusterBatch) -> None:
            for name in names:
                batch.get(name)
                batch.pttl(name)

        return await self._run_batch(fill)

    # -- writes ---------------------------------------------------------------------------------

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        name = self._layout.server_key(collection, key)
        value = self._layout.encode(collection, key, value_json, expires_at)
        expiry = None if ttl is None else _expiry(ttl)  # a SET without expiry drops an old TTL
        if self._legacy:  # one round trip: ours written, py-key-value's copy gone
            legacy = self._legacy_server_keys(collection, [key])

            def fill(batch: Batch | ClusterBatch) -> None:
                batch.set(name, value, expiry=expiry)
                batch.delete([name for name in legacy])  # noqa: C416 - a list[TEncodable], not list[str]

            await self._run_batch(fill)
            return
        client = await self._client()
        async with self._translated(client):
            await client.set(name, value, expiry=expiry)

    async def _put_entries(
        self, collection: str, keys: list[str], values_json: list[str], *, ttl: float | None, expires_at: float | None
    ) -> None:
        names = self._layout.server_keys(collection, keys)
        values = self._layout.encode_many(collection, keys, values_json, expires_at)
        if ttl is None and not self._legacy:
            client = await self._client()
            async with self._translated(client):
                await client.mset(dict(zip(names, values, strict=True)))
            return
        expiry = None if ttl is None else _expiry(ttl)
        legacy = self._legacy_server_keys(collection, keys) if self._legacy else []

        def fill(batch: Batch | ClusterBatch) -> None:
            for name, value in zip(names, values, strict=True):
                batch.set(name, value, expiry=expiry)
            for name in legacy:  # one DEL per name: any hash slot
                batch.delete([name])

        await self._run_batch(fill)

    async def _delete_entry(self, collection: str, key: str) -> bool:
        names = [self._layout.server_key(collection, key)]
        if self._legacy:  # py-key-value's copy goes in the same DEL (GLIDE splits it across cluster slots)
            names += self._legacy_server_keys(collection, [key])
        client = await self._client()
        async with self._translated(client):
            return await client.delete(list(names)) > 0

    async def _delete_entries(self, collection: str, keys: list[str]) -> int:
        names = self._layout.server_keys(collection, keys)
        if self._legacy:
            names = [*names, *self._legacy_server_keys(collection, keys)]
        client = await self._client()
        async with self._translated(client):
            deleted = await client.delete(list(names))
        # a key is in one layout or the other (writes remove py-key-value's copy), so this counts keys
        return min(len(set(keys)), deleted) if self._legacy else deleted

    async def _set_name(self, name: str, value: str) -> None:
        client = await self._client()
        async with self._translated(client):
            await client.set(name, value)

    async def _run_script(self, script: LuaScript, keys: list[str], args: list[str]) -> Any:
        client = await self._client()
        if len(keys) > 1 and isinstance(client, GlideClusterClient):
            raise cluster_refused()
        async with self._translated(client):  # GLIDE sends EVALSHA, and loads the script on NOSCRIPT
            return await cast("Any", client).invoke_script(  # GLIDE types its reply partly Unknown
                _SCRIPTS[script], keys=cast("list[TEncodable]", keys), args=cast("list[TEncodable]", args)
            )

    async def _run_batch(self, fill: Callable[[Batch | ClusterBatch], None]) -> list[Any]:
        """Send the commands `fill` adds as one non-atomic batch (a pipeline: one round trip)."""
        client = await self._client()
        async with self._translated(client):
            if isinstance(client, GlideClusterClient):
                cluster_batch = ClusterBatch(is_atomic=False)
                fill(cluster_batch)
                reply = await client.exec(cluster_batch, raise_on_error=True)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType] - GLIDE's reply type is partly untyped
            else:
                batch = Batch(is_atomic=False)
                fill(batch)
                reply = await client.exec(batch, raise_on_error=True)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType] - as above
        return cast("list[Any] | None", reply) or []

    # -- enumeration and destruction ------------------------------------------------------------

    async def _delete_names(self, names: list[bytes]) -> int:
        client = await self._client()
        deleted = 0
        async with self._translated(client):
            for start in range(0, len(names), DELETE_BATCH):
                deleted += await client.delete(list(names[start : start + DELETE_BATCH]))
        return deleted

    async def _scan(self, pattern: str, take: Callable[[list[bytes]], bool]) -> None:
        """SCAN to the end of the cursor, handing each reply's names to `take` until it says stop."""
        client = await self._client()
        async with self._translated(client):
            if isinstance(client, GlideClusterClient):
                cursor = ClusterScanCursor()
                while not cursor.is_finished():
                    reply = await client.scan(cursor, match=pattern, count=SCAN_COUNT)
                    cursor, names = cast("tuple[ClusterScanCursor, list[bytes]]", reply)
                    if take(names):
                        return
            else:
                position: bytes = b"0"
                while True:
                    reply = await client.scan(position, match=pattern, count=SCAN_COUNT)
                    position, names = cast("tuple[bytes, list[bytes]]", reply)
                    if take(names) or position == b"0":
                        return


if True:  # ASYNC

    def _claim_reply_pipe() -> None:
        """Read GLIDE's replies on the running loop when the loop reading them cannot.

        GLIDE 2.x sends the replies of every async client in the process through one pipe, read by a
        callback on the loop that made the first client, which forwards each reply to its client's
        loop. While that loop is open but not running (a test keeps a loop, then runs another), no
        reply arrives anywhere, and a loop that closed leaves the pipe unread until a new client is
        made. Here the reader moves to the running loop, under GLIDE's own lock, in either case; the
        forwarding keeps serving the other loops. Without those internals (another GLIDE) it does nothing.
        """
        owner: asyncio.AbstractEventLoop | None = getattr(_glide_internals, "_async_pipe_loop", None)
        if owner is None:
            return
        loop = asyncio.get_running_loop()
        if owner is loop or (owner.is_running() and not owner.is_closed()):
            return
        lock = getattr(_glide_internals, "_async_pipe_lock", None)
        on_readable = getattr(_glide_internals, "_on_async_pipe_readable", None)
        if lock is None or on_readable is None:
            return
        with lock:
            owner = getattr(_glide_internals, "_async_pipe_loop", None)
            read_fd: int = getattr(_glide_internals, "_async_pipe_read_fd", -1)
            if owner is None or owner is loop or (owner.is_running() and not owner.is_closed()) or read_fd < 0:
                return
            if not owner.is_closed():
                owner.remove_reader(read_fd)
            loop.add_reader(read_fd, on_readable)
            _glide_internals._async_pipe_loop = loop  # pyright: ignore[reportPrivateUsage]


_TRANSLATED = ErrorTranslation(
    "Valkey", errors=(GlideError,), unreachable=(ClosingError, GlideConnectionError, GlideTimeoutError)
)


class _Translated:
    """`async with`: GLIDE's errors as ours; a client GLIDE has closed is dropped, so the next operation reconnects."""

    __slots__ = ("_client", "_clients")

    def __init__(self, clients: LazyClient[ValkeyClient], client: ValkeyClient) -> None:
        self._clients = clients
        self._client = client

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if isinstance(exc, GlideError):
            if isinstance(exc, ClosingError):
                await self._clients.discard(self._client)
            raise _TRANSLATED.error(exc) from exc


#: GLIDE's handles of the conditional scripts (it keeps each script's text for EVALSHA's NOSCRIPT fallback).
_SCRIPTS = {script: Script(script.text) for script in (GET_ENTRY, PUT_IF)}


def _expiry(ttl: float) -> ExpirySet:
    return ExpirySet(ExpiryType.MILLSEC, milliseconds(ttl))


@dataclass(frozen=True)
class ValkeySettings:
    """How a ValkeyStore connects when not given a GLIDE configuration: a URL or host settings.

    `url` is `scheme://[user[:password]@]host[:port][/db]` and, when given, replaces the host settings.
    """

    url: str | None = field(default=None, repr=False)
    host: str = "localhost"
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cluster: bool = False
    timeout: float | None = None
    """Seconds GLIDE waits for a reply (None: GLIDE's default, 250 ms)."""

    def __post_init__(self) -> None:
        check_optional_timeout(self.timeout)

    def configuration(self) -> ValkeyConfiguration:
        """GLIDE's configuration for these settings (checked here: a cluster has no database number)."""
        host, port, db, username, password, tls = self.host, self.port, self.db, self.username, self.password, False
        if self.url is not None:
            parsed = parse_store_url(self.url, schemes=_URL_SCHEMES, shape=_URL_SHAPE)
            try:
                db = int(parsed.path.strip("/") or 0)
            except ValueError:
                raise parsed.error(f"url must look like {_URL_SHAPE}") from None
            host, port = parsed.host or "localhost", parsed.port or 6379
            username, password, tls = parsed.username, parsed.password, _URL_SCHEMES[parsed.scheme]
        addresses = [NodeAddress(host, port)]
        credentials = None if password is None else ServerCredentials(password=password, username=username)
        wait = None if self.timeout is None else max(1, math.ceil(self.timeout * 1000))  # GLIDE counts milliseconds
        if self.cluster:
            if db != 0:
                raise InvalidArgumentError("a Valkey cluster is addressed without a database", extra_info={"db": db})
            return GlideClusterClientConfiguration(
                addresses, use_tls=tls, credentials=credentials, request_timeout=wait
            )
        return GlideClientConfiguration(
            addresses, use_tls=tls, credentials=credentials, database_id=db, request_timeout=wait
        )


async def _disconnect(client: ValkeyClient) -> None:
    await client.close()

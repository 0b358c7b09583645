"""`RedisStore`: Redis (standalone or cluster) through redis-py, one server key per entry.

Key layout (`key_value.shared.layouts.resp`, shared with `ValkeyStore`; `layout=` to choose another):
`kv:{<collection>}<key>`, the collection in a hash tag with `%` and `}` escaped, so one collection's
keys share a cluster hash slot, no two entries share a key, and `destroy()` finds this store's keys by
their `kv:{` prefix. The value is the entry's JSON text; the expiry is the server's own (SET ... PX,
milliseconds).

Every operation is one round trip: `get` is one GET, `ttl` a GET and PTTL pipelined, `get_many` one
MGET, `ttl_many` pipelined GETs and PTTLs, `put` one SET (with PX when there is a TTL; a SET
without PX clears an old TTL), `put_many` one MSET or, with a TTL, pipelined SETs, `delete_many` one
DEL. Enumeration follows SCAN cursors to the end on every primary. The conditional calls
(`get_entry`, `put_if`, `delete_if`, ...) are one EVALSHA each (`_resp.conditional`: the ETag is
the SHA-1 of the stored bytes, atomic across processes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisClusterException, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from typing_extensions import Self

from key_value.aio.stores._lazy_client import LazyClient
from key_value.aio.stores._resp import (
    DELETE_BATCH,
    SCAN_COUNT,
    ErrorTranslation,
    entries,
    milliseconds,
    values_with_ttl,
)
from key_value.aio.stores._resp.conditional import LuaScript, ScriptedConditional, cluster_refused
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

#: A Redis client of either kind; the store works the same on both.
RedisClient = Redis | RedisCluster


class RedisStore(
    PyKeyValueData,
    ServerTTLStore,
    BaseEnumerateKeysStore,
    BaseEnumerateCollectionsStore,
    BaseDestroyStore,
    BaseDestroyCollectionStore,
    BaseContextManagerStore,
    ScriptedConditional,
):
    """A store on Redis: pass `url=`, or `host=`/`port=`/`db=`..., or your own `client=` (never closed by us).

    `cluster=True` builds a `RedisCluster` from the URL or host and port; a `RedisCluster` passed as
    `client=` works too. TLS: a `rediss://` URL or `ssl=True`, with the `ssl_*` options as in redis-py.
    """

    def __init__(
        self,
        *,
        client: RedisClient | None = None,
        url: str | None = None,
        host: str = "localhost",
        port: int = 6379,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        cluster: bool = False,
        ssl: bool = False,
        ssl_ca_certs: str | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        ssl_check_hostname: bool = True,
        ssl_cert_reqs: Literal["required", "optional", "none"] | None = None,
        default_collection: str | None = None,
        seed: SeedData | None = None,
        layout: LayoutName | RespLayout = "native",
    ) -> None:
        super().__init__(default_collection=default_collection, seed=seed)
        self._layout = resp_layout(layout, store="RedisStore")
        self._given_client = client
        if client is not None:
            if url is not None or cluster:
                raise InvalidArgumentError("pass either client= or the settings to build one (url=, cluster=)")
            self._clients = LazyClient.given(client)
            return
        make = RedisSettings(
            url=url,
            host=host,
            port=port,
            db=db,
            username=username,
            password=password,
            cluster=cluster,
            ssl=ssl,
            ssl_ca_certs=ssl_ca_certs,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            ssl_check_hostname=ssl_check_hostname,
            ssl_cert_reqs=ssl_cert_reqs,
        ).client_factory()

        async def connect() -> RedisClient:
            with _TRANSLATED:
                if True:  # ASYNC
                    client = make()
                    if isinstance(client, RedisCluster):
                        await client.initialize()  # before any command: concurrent lazy set-up breaks redis-py
                    return client
                else:
                    return make()

        self._clients = LazyClient(connect, _disconnect)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        """A store from `redis[s]://[user[:password]@]host[:port][/db]` or `unix://path`, read by redis-py.

        The query options `cluster` and `default_collection` are the store's; the others are redis-py's
        (`?socket_timeout=5`, ...). `options` are the constructor's other keywords (`ssl_ca_certs=`, ...).
        """
        parsed = parse_store_url(url, schemes=_URL_SCHEMES, shape=_URL_SHAPE)
        own, rest = parsed.take_options({"cluster": url_bool, "default_collection": str})
        return cls(url=rest.text, **merge_options(own, options, parsed))

    @property
    def _client(self) -> RedisClient | None:
        """py-key-value's attribute (pydocket reads it): the client passed as `client=`.

        None when the store builds its own clients, which it does on first use, one per event loop.
        """
        return self._given_client

    async def _setup(self) -> None:
        await self._look_for_py_key_value_data()

    async def _close(self) -> None:
        await self._clients.close()

    # -- reads ----------------------------------------------------------------------------------

    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        client = await self._clients.get()
        with _TRANSLATED:
            raw = await client.get(self._layout.server_key(collection, key))
        entry = entries(self._layout, [raw])[0]
        if entry is None and self._legacy:
            return (await self._legacy_entries(collection, [key], [None]))[0]
        return entry

    async def _get_entries(self, collection: str, keys: list[str]) -> list[Entry | None]:
        client = await self._clients.get()
        with _TRANSLATED:
            raws = await client.mget(self._layout.server_keys(collection, keys))
        found = entries(self._layout, raws)
        return await self._legacy_entries(collection, keys, found) if self._legacy else found

    async def _get_entries_ttl(self, collection: str, keys: list[str]) -> list[ValueTTL]:
        found = values_with_ttl(self._layout, await self._get_with_pttl(self._layout.server_keys(collection, keys)))
        return await self._legacy_ttl(collection, keys, found) if self._legacy else found

    async def _get_with_pttl(self, names: list[str]) -> list[Any]:
        client = await self._clients.get()
        pipeline = _pipeline(client)
        # GETs, not MGET: cluster pipelines refuse multi-key commands
        for name in names:
            pipeline.get(name)
            pipeline.pttl(name)
        with _TRANSLATED:
            return await pipeline.execute()

    # -- writes ---------------------------------------------------------------------------------

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        name = self._layout.server_key(collection, key)
        value = self._layout.encode(collection, key, value_json, expires_at)
        px = None if ttl is None else milliseconds(ttl)  # SET without PX drops an old TTL
        client = await self._clients.get()
        with _TRANSLATED:
            if self._legacy:  # one round trip: ours written, py-key-value's copy gone
                pipeline = _pipeline(client)
                pipeline.set(name, value, px=px)
                _queued(pipeline).delete(*self._legacy_server_keys(collection, [key]))
                await pipeline.execute()
            else:
                await client.set(name, value, px=px)

    async def _put_entries(
        self, collection: str, keys: list[str], values_json: list[str], *, ttl: float | None, expires_at: float | None
    ) -> None:
        names = self._layout.server_keys(collection, keys)
        values = self._layout.encode_many(collection, keys, values_json, expires_at)
        client = await self._clients.get()
        with _TRANSLATED:
            if ttl is None and not self._legacy:
                await client.mset(dict(zip(names, values, strict=True)))
                return
            px = None if ttl is None else milliseconds(ttl)
            pipeline = _pipeline(client)
            for name, value in zip(names, values, strict=True):
                pipeline.set(name, value, px=px)
            if self._legacy:  # one DEL per name: cluster pipelines refuse multi-key commands
                for legacy in self._legacy_server_keys(collection, keys):
                    _queued(pipeline).delete(legacy)
            await pipeline.execute()

    async def _delete_entry(self, collection: str, key: str) -> bool:
        names = [self._layout.server_key(collection, key)]
        if self._legacy:  # py-key-value's copy goes in the same DEL (redis-py splits it across cluster slots)
            names += self._legacy_server_keys(collection, [key])
        client = await self._clients.get()
        with _TRANSLATED:
            return bool(await client.delete(*names))

    async def _delete_entries(self, collection: str, keys: list[str]) -> int:
        names = self._layout.server_keys(collection, keys)
        if self._legacy:
            names = [*names, *self._legacy_server_keys(collection, keys)]
        client = await self._clients.get()
        with _TRANSLATED:
            deleted = int(await client.delete(*names))
        # a key is in one layout or the other (writes remove py-key-value's copy), so this counts keys
        return min(len(set(keys)), deleted) if self._legacy else deleted

    async def _set_name(self, name: str, value: str) -> None:
        client = await self._clients.get()
        with _TRANSLATED:
            await client.set(name, value)

    # -- conditional ----------------------------------------------------------------------------

    async def _run_script(self, script: LuaScript, keys: list[str], args: list[str]) -> Any:
        client = await self._clients.get()
        if len(keys) > 1 and isinstance(client, RedisCluster):
            raise cluster_refused()
        scripting = cast("_Scripting", client)
        with _TRANSLATED:
            try:
                return await scripting.evalsha(script.sha, len(keys), *keys, *args)
            except NoScriptError:  # a server that has not seen it (or flushed its scripts) learns it once
                await scripting.script_load(script.text)
                return await scripting.evalsha(script.sha, len(keys), *keys, *args)

    # -- enumeration and destruction ------------------------------------------------------------

    async def _delete_names(self, names: list[Any]) -> int:
        client = await self._clients.get()
        deleted = 0
        with _TRANSLATED:
            for start in range(0, len(names), DELETE_BATCH):
                deleted += int(await client.delete(*names[start : start + DELETE_BATCH]))
        return deleted

    async def _scan(self, pattern: str, take: Callable[[list[Any]], bool]) -> None:
        """SCAN to the end of the cursor, handing each reply's names to `take` until it says stop.

        In a cluster every primary is scanned in turn (redis-py's `scan` takes the node to ask).
        """
        client = await self._clients.get()
        with _TRANSLATED:
            if isinstance(client, RedisCluster):
                for node in client.get_primaries():
                    cursor = 0
                    while True:
                        reply = await client.scan(cursor, match=pattern, count=SCAN_COUNT, target_nodes=node)  # pyright: ignore[reportUnknownMemberType] - untyped **kwargs
                        cursors, names = cast("tuple[dict[str, int], list[Any]]", reply)  # one cursor per node
                        cursor = cursors[node.name]
                        if take(names):
                            return
                        if cursor == 0:
                            break
            else:
                cursor = 0
                while True:
                    cursor, names = await client.scan(cursor, match=pattern, count=SCAN_COUNT)  # pyright: ignore[reportUnknownMemberType] - untyped **kwargs
                    if take(names) or cursor == 0:
                        return


_TRANSLATED = ErrorTranslation(
    "Redis",
    errors=(RedisError, RedisClusterException),
    unreachable=(RedisConnectionError, RedisTimeoutError, RedisClusterException),
)


class _Pipelining(Protocol):
    """`pipeline()` as both kinds of client have it (the sync ones leave `shard_hint` untyped)."""

    def pipeline(self, *, transaction: bool) -> Pipeline | ClusterPipeline: ...


class _Scripting(Protocol):
    """EVALSHA and SCRIPT LOAD as both kinds of client have them (typed loosely by redis-py)."""

    async def evalsha(self, sha: str, numkeys: int, *keys_and_args: str) -> Any: ...

    async def script_load(self, script: str) -> Any: ...


class _Deleting(Protocol):
    """A pipeline's DEL (the sync pipelines leave its reply untyped)."""

    def delete(self, *names: str) -> object: ...


def _queued(pipeline: Pipeline | ClusterPipeline) -> _Deleting:
    return cast("_Deleting", pipeline)


def _pipeline(client: RedisClient) -> Pipeline | ClusterPipeline:
    """A pipeline without MULTI/EXEC: its commands go out together and are answered in one round trip."""
    return cast("_Pipelining", client).pipeline(transaction=False)


_URL_SCHEMES = ("redis", "rediss", "unix")
_URL_SHAPE = "redis[s]://[user[:password]@]host[:port][/db] or unix://path"


@dataclass(frozen=True)
class RedisSettings:
    """How a RedisStore builds its clients: from a URL (read by redis-py) or from host settings, TLS included.

    Checked when made: the `ssl_*` options need `ssl=True` or a `rediss://` URL, and a cluster has only database 0.
    """

    url: str | None = field(default=None, repr=False)  # may hold a password
    host: str = "localhost"
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cluster: bool = False
    ssl: bool = False
    ssl_ca_certs: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_check_hostname: bool = True
    ssl_cert_reqs: Literal["required", "optional", "none"] | None = None

    def __post_init__(self) -> None:
        secure = (
            self.url is not None
            and parse_store_url(self.url, schemes=_URL_SCHEMES, shape=_URL_SHAPE).scheme == "rediss"
        )
        if self._tls_files() and not (self.ssl or secure):
            raise InvalidArgumentError("the ssl_* options need ssl=True or a rediss:// URL")
        if self.url is not None and self.ssl and not secure:
            raise InvalidArgumentError("ssl=True needs a rediss:// URL")
        if self.url is None and self.cluster and self.db != 0:
            raise InvalidArgumentError("a Redis cluster has only database 0", extra_info={"db": self.db})

    def _tls_files(self) -> dict[str, Any]:
        options = {
            "ssl_ca_certs": self.ssl_ca_certs,
            "ssl_certfile": self.ssl_certfile,
            "ssl_keyfile": self.ssl_keyfile,
            "ssl_cert_reqs": self.ssl_cert_reqs,
        }
        return {name: setting for name, setting in options.items() if setting is not None}

    def client_factory(self) -> Callable[[], RedisClient]:
        """A function that makes a new client (without connecting it) from these settings."""
        tls = {**self._tls_files(), "ssl_check_hostname": self.ssl_check_hostname}
        if self.url is not None:
            url = self.url
            options = tls if url.startswith("rediss://") else {}
            if self.cluster:
                return lambda: RedisCluster.from_url(url, **options)
            return lambda: Redis.from_url(url, **options)  # pyright: ignore[reportUnknownMemberType] - untyped **kwargs
        settings: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
        }
        if self.ssl:
            settings.update(tls, ssl=True)
        if self.cluster:
            return lambda: RedisCluster(**settings)
        db = self.db
        return lambda: Redis(db=db, **settings)


async def _disconnect(client: RedisClient) -> None:
    if True:  # ASYNC
        await client.aclose()
    else:
        client.close()
        if isinstance(client, RedisCluster):  # sync redis-py leaves the nodes' pooled connections open
            for node in client.get_nodes():
                connection: Redis | None = getattr(node, "redis_connection", None)  # untyped in redis-py
                if connection is not None:
                    connection.connection_pool.disconnect()

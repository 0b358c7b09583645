"""`PostgreSQLStore`: one table through psycopg 3 and psycopg_pool, expiry decided by the database clock.

Table layout (name and schema configurable; see `statements.py` for the SQL):

    collection  text COLLATE "C"   \\  primary key; names escaped only where they hold NUL (names.py)
    key         text COLLATE "C"   /
    value       json               the value's JSON text, kept byte for byte
    created_at  timestamptz        when this value was written (every write sets it: `Entry.written_at`)
    expires_at  timestamptz        NULL without TTL; partial index for cheap culling
    version     bigint             the ETag: random 63 bits drawn by the client per write (put_many: per
                                   call, XORed with the row's position)

`value` is `json`, not `jsonb`: jsonb refuses the string escape \\u0000 and rewrites numbers (1e300
comes back as a 301-digit integer, 1e16 as an int), so values would not round-trip exactly; json keeps
the text, is still queryable with the JSON operators, and is cheaper to write.

Every operation is one statement and one round trip: `= ANY(%s)` for bulk reads and deletes, one
multi-row upsert from `unnest()` for `put_many`; our own pool prepares each statement on first use.

The conditional segment is atomic across processes: each call is one statement that locks the row
(FOR UPDATE), decides the condition on it by the database clock, and writes, deletes or refreshes it
(see `statements.conditional_statements`). A random version (not a counter) cannot come back after a
delete and re-insert, so an old ETag never matches a new value. Tables made before the conditional
segment have the same columns and need no change (their `version` simply becomes random on the next write).
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import AsyncConnection, AsyncCursor
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.errors import QueryCanceled
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from typing_extensions import Self

from key_value.aio.stores._lazy_client import LazyClient
from key_value.aio.stores._server_ttl import ServerTTLStore, ValueTTL
from key_value.aio.stores.base import (
    BaseConditionalStore,
    BaseContextManagerStore,
    BaseCullStore,
    BaseDestroyCollectionStore,
    BaseDestroyStore,
    BaseEnumerateCollectionsStore,
    BaseEnumerateKeysStore,
    Entry,
    SeedData,
)
from key_value.aio.stores.postgresql.deadline import StatementDeadline
from key_value.aio.stores.postgresql.layout import NATIVE_POSTGRESQL_LAYOUT, PostgreSQLLayout
from key_value.aio.stores.postgresql.py_key_value import PyKeyValuePostgreSQLLayout
from key_value.aio.stores.postgresql.statements import (
    MAX_IDENTIFIER_BYTES,
    MAX_TABLE_NAME_BYTES,
    Statements,
    check_identifier,
    new_token,
)
from key_value.shared.conditional import (
    ABSENT,
    NOT_RETRIEVED,
    Absent,
    Atomicity,
    Condition,
    ConditionalResult,
    Joker,
    VersionedEntry,
)
from key_value.shared.errors import (
    InvalidArgumentError,
    KeyValueStoreError,
    StoreConnectionError,
    StoreSetupError,
    StoreTimeoutError,
)
from key_value.shared.layouts import LayoutName, choose_layout
from key_value.shared.urls import merge_options, parse_store_url, url_bool
from key_value.shared.validation import check_timeout

#: A pool of the caller's; its connections may use any row factory (the store asks for tuples).
Pool = AsyncConnectionPool[AsyncConnection[Any]]

DEFAULT_TABLE = "kv_store"
_PAGE = 2000  # keys or collections per enumeration query
_POOL_MAX_SIZE = 10
# Our connections: no transaction around single statements, every statement prepared on first use.
_CONNECTION_KWARGS: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0}


@dataclass(frozen=True)
class PostgreSQLSettings:
    """How a PostgreSQLStore connects: a URL or libpq `key=value` string, or host settings; `timeout` in seconds.

    Checked when made; the password (in `password` or in `url`) never appears in its repr or in an error.
    """

    url: str | None = field(default=None, repr=False)
    host: str = "localhost"
    port: int = 5432
    database: str = "postgres"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "timeout", check_timeout(self.timeout))
        if self.url is not None:
            try:
                conninfo_to_dict(self.url)
            except psycopg.ProgrammingError as exc:  # the message names the problem, never the password
                raise InvalidArgumentError(
                    "url must be a PostgreSQL URL (postgresql://...) or a libpq string (host=... dbname=...)",
                    extra_info={"reason": str(exc)},
                ) from exc

    def conninfo(self) -> str:
        """The libpq connection string, with a connect timeout of `timeout` (whole seconds, at least 1)."""
        conninfo = self.url or make_conninfo(
            host=self.host, port=self.port, dbname=self.database, user=self.user, password=self.password
        )
        return make_conninfo(conninfo, connect_timeout=max(1, math.ceil(self.timeout)))


class PostgreSQLStore(
    ServerTTLStore,
    BaseEnumerateKeysStore,
    BaseEnumerateCollectionsStore,
    BaseDestroyStore,
    BaseDestroyCollectionStore,
    BaseCullStore,
    BaseConditionalStore,
    BaseContextManagerStore,
):
    """A store in one PostgreSQL table: pass `url=` (a URL or a libpq `key=value` string), or
    `host=`/`port=`/`database=`..., or your own `pool=`.

    A caller's pool is never opened or closed by the store. `auto_create=False` expects the table to
    exist (see the module docstring for its layout) and fails setup with `StoreSetupError` otherwise.
    `timeout` bounds connecting, waiting for a pooled connection and each statement's reply, in seconds:
    a reply that does not come in time breaks that connection and raises `StoreTimeoutError`.
    `layout="py-key-value"` reads and writes py-key-value-aio 0.4.x's table instead of ours (its
    `table_name`, as that library folds it; see `postgresql.py_key_value`), so both can share it.
    """

    def __init__(
        self,
        *,
        pool: Pool | None = None,
        url: str | None = None,
        host: str = "localhost",
        port: int = 5432,
        database: str = "postgres",
        user: str | None = None,
        password: str | None = None,
        table_name: str | None = None,
        schema: str | None = None,
        auto_create: bool = True,
        timeout: float = 10.0,
        default_collection: str | None = None,
        seed: SeedData | None = None,
        layout: LayoutName | PostgreSQLLayout = "native",
    ) -> None:
        chosen: PostgreSQLLayout = choose_layout(
            layout,
            native=lambda: NATIVE_POSTGRESQL_LAYOUT,
            py_key_value=PyKeyValuePostgreSQLLayout,
            store="PostgreSQLStore",
        )
        # py-key-value's table names its index differently (and, when it is long, by a digest).
        max_table_bytes = (
            MAX_IDENTIFIER_BYTES if isinstance(chosen, PyKeyValuePostgreSQLLayout) else MAX_TABLE_NAME_BYTES
        )
        table = check_identifier(
            "table_name", DEFAULT_TABLE if table_name is None else table_name, max_bytes=max_table_bytes
        )
        if schema is not None:
            check_identifier("schema", schema)
        settings = PostgreSQLSettings(
            url=url, host=host, port=port, database=database, user=user, password=password, timeout=timeout
        )
        super().__init__(default_collection=default_collection, seed=seed)
        self._layout = chosen
        self._sql: Statements = chosen.statements(schema=schema, table=table)
        self._auto_create = auto_create
        self._timeout = settings.timeout
        if pool is not None:
            if url is not None:
                raise InvalidArgumentError("pass either pool= or the settings to build one (url=, host=, ...)")
            self._pools = LazyClient.given(pool)
            return
        conninfo = settings.conninfo()

        async def connect() -> Pool:
            return await _open_pool(conninfo, settings.timeout)

        self._pools = LazyClient(connect, _close_pool)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        """A store from `postgresql://[user[:password]@]host[:port][/database][?options]` (or `postgres://`).

        The query options `table_name`, `schema`, `auto_create`, `timeout` and `default_collection` are
        the store's; the others are libpq's (`?sslmode=require`, ...). `options` are the constructor's.
        """
        parsed = parse_store_url(url, schemes=("postgresql", "postgres"), shape="postgresql://user@host:port/database")
        own, rest = parsed.take_options(
            {"table_name": str, "schema": str, "auto_create": url_bool, "timeout": float, "default_collection": str}
        )
        return cls(url=rest.text, **merge_options(own, options, parsed))

    async def _close(self) -> None:
        await self._pools.close()

    # -- statements -----------------------------------------------------------------------------

    async def _run(
        self, statement: bytes, params: Sequence[Any] | Mapping[str, Any], *, fetch: bool = True
    ) -> list[tuple[Any, ...]]:
        """Run one statement on a pooled connection: one round trip; the rows, if `fetch`."""
        async with self._cursor() as cursor:
            await cursor.execute(statement, params)
            return await cursor.fetchall() if fetch else []

    @asynccontextmanager
    async def _cursor(self, *, transaction: bool = False) -> AsyncGenerator[AsyncCursor[tuple[Any, ...]], None]:
        """A cursor on a pooled connection under one statement deadline, in one transaction if asked; our errors.

        Without `transaction`, a connection a caller's pool left in a transaction (no autocommit) is committed.
        """
        pool = await self._pools.get()
        deadline: StatementDeadline | None = None
        try:
            async with (
                pool.connection(timeout=self._timeout) as conn,
                StatementDeadline(conn, self._timeout) as deadline,
            ):
                if transaction:
                    async with conn.transaction():
                        yield conn.cursor(row_factory=tuple_row)
                else:
                    yield conn.cursor(row_factory=tuple_row)
                    if conn.info.transaction_status == TransactionStatus.INTRANS:
                        await conn.commit()
        except psycopg.Error as exc:
            raise self._error(exc, deadline) from exc

    def _error(self, exc: psycopg.Error, deadline: StatementDeadline | None) -> KeyValueStoreError:
        if deadline is not None and deadline.expired:
            return StoreTimeoutError(f"PostgreSQL did not answer within {self._timeout:g} s")
        return _store_error(exc)

    async def _setup(self) -> None:
        """Create the table (and its expiry index) unless it exists; concurrent creators queue on a lock."""
        statements = self._sql
        async with self._cursor(transaction=True) as cursor:
            if self._auto_create:
                await cursor.execute(statements.lock, [statements.lock_key])
            await cursor.execute(statements.exists, [statements.table])
            exists = await cursor.fetchone()
            if exists is None or not exists[0]:
                if not self._auto_create:
                    raise StoreSetupError(
                        f"table {statements.table} does not exist; create it or pass auto_create=True"
                    )
                await cursor.execute(statements.create_table, ())
                await cursor.execute(statements.create_index, ())

    # -- reads ----------------------------------------------------------------------------------

    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        column = self._layout.to_column
        rows = await self._run(self._sql.get, (column(collection), column(key)))
        return Entry(self._layout.decode(rows[0][0]), None) if rows else None  # the query hides expired rows

    async def _get_entries(self, collection: str, keys: list[str]) -> list[Entry | None]:
        return [
            None if value is None else Entry(value, None) for value, _ in await self._get_entries_ttl(collection, keys)
        ]

    async def _get_entries_ttl(self, collection: str, keys: list[str]) -> list[ValueTTL]:
        column, decode = self._layout.to_column, self._layout.decode
        columns = [column(key) for key in keys]
        rows = await self._run(self._sql.get_many, (column(collection), columns))
        found: dict[str, tuple[str, float | None]] = {row[0]: (row[1], row[2]) for row in rows}
        results: list[ValueTTL] = []
        for column in columns:
            row = found.get(column)
            if row is None:
                results.append((None, None))
            else:
                results.append((decode(row[0]), row[1]))
        return results

    # -- writes ---------------------------------------------------------------------------------

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        layout = self._layout
        params = (layout.to_column(collection), layout.to_column(key), layout.encode(value_json), ttl)
        if self._sql.tokens:
            params = (*params, new_token())
        await self._run(self._sql.put, params, fetch=False)

    async def _put_entries(
        self, collection: str, keys: list[str], values_json: list[str], *, ttl: float | None, expires_at: float | None
    ) -> None:
        column, encode = self._layout.to_column, self._layout.encode
        params = (column(collection), ttl, [column(key) for key in keys], [encode(value) for value in values_json])
        if self._sql.tokens:
            params = (*params, new_token())
        await self._run(self._sql.put_many, params, fetch=False)

    async def _delete_entry(self, collection: str, key: str) -> bool:
        column = self._layout.to_column
        rows = await self._run(self._sql.delete, (column(collection), column(key)))
        return bool(rows[0][0])

    async def _delete_entries(self, collection: str, keys: list[str]) -> int:
        column = self._layout.to_column
        rows = await self._run(self._sql.delete_many, (column(collection), [column(key) for key in keys]))
        return int(rows[0][0])

    # -- conditional segment -------------------------------------------------------------------------

    atomicity = Atomicity.ACROSS_PROCESSES

    async def _get_versioned(self, collection: str, key: str) -> VersionedEntry | None:
        column = self._layout.to_column
        rows = await self._run(self._sql.conditional.get_versioned, (column(collection), column(key)))
        if not rows:  # the query hides expired rows
            return None
        value, etag, remaining, written_at = rows[0]
        return VersionedEntry(self._layout.decode(value), etag, remaining, written_at)

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
        layout, statements = self._layout, self._sql.conditional
        params: dict[str, Any] = {
            "collection": layout.to_column(collection),
            "key": layout.to_column(key),
            "expected": None if etag is ABSENT else etag,
            "want": None if condition is Condition.ANY else condition is Condition.SAME,
            "ttl": ttl,
            "retrieve": retrieve,
        }
        if value is Joker.DELETE_CURRENT:
            return self._result(await self._run(statements.delete_if, params), None, retrieve=retrieve)
        if value is Joker.KEEP_CURRENT:
            return self._result(await self._run(statements.keep_if, params), None, retrieve=retrieve, keep=True)
        params["value"] = layout.encode(value)
        while True:
            params["token"] = new_token()
            rows = await self._run(statements.put_if, params)
            ok, new_etag, new_value = rows[0][2], rows[0][4], rows[0][5]
            if not ok or new_etag is not None:
                return self._result(rows, (new_etag, new_value), retrieve=retrieve)
            # A concurrent insert won the race for an absent key: decide again on the row it wrote.

    def _result(
        self,
        rows: list[tuple[Any, ...]],
        written: tuple[str, str | None] | None,
        *,
        retrieve: bool,
        keep: bool = False,
    ) -> ConditionalResult:
        """The result from a conditional statement's row (old ETag, live, verdict, old value, ...).

        `written`: the new ETag and value text of a satisfied write; None for a delete or a refresh.
        """
        old_etag, live, ok, old_value = rows[0][:4]
        actual: str | Absent = old_etag if live else ABSENT
        resulting: str | Absent = actual
        stored: str | None = old_value
        if ok and not keep:
            resulting, stored = (ABSENT, None) if written is None else written
        value = (None if stored is None else self._layout.decode(stored)) if retrieve else NOT_RETRIEVED
        return ConditionalResult(satisfied=bool(ok), actual_etag=actual, resulting_etag=resulting, value=value)

    # -- enumeration, destruction, culling -------------------------------------------------------

    async def _keys(self, collection: str, *, limit: int | None) -> list[str]:
        return await self._pages(self._sql.keys_page, (self._layout.to_column(collection),), limit)

    async def _collections(self, *, limit: int | None) -> list[str]:
        return await self._pages(self._sql.collections_page, (), limit)

    async def _pages(self, statement: bytes, params: tuple[Any, ...], limit: int | None) -> list[str]:
        """Keyset pagination: each page starts after the last name of the one before (no name is '')."""
        names: list[str] = []
        after = ""
        while limit is None or len(names) < limit:
            size = _PAGE if limit is None else min(_PAGE, limit - len(names))
            rows = await self._run(statement, (*params, after, size))
            names.extend(self._layout.from_column(row[0]) for row in rows)
            if len(rows) < size:
                break
            after = rows[-1][0]
        return names

    async def _destroy_collection(self, collection: str) -> bool:
        rows = await self._run(self._sql.delete_collection, (self._layout.to_column(collection),))
        return bool(rows[0][0])

    async def _cull(self) -> None:
        await self._run(self._sql.cull, (), fetch=False)

    async def _destroy(self) -> bool:
        """Drop and recreate our table in one transaction (only empty it when the table is not ours to create)."""
        statements = self._sql
        async with self._cursor(transaction=True) as cursor:
            await cursor.execute(statements.lock, [statements.lock_key])
            await cursor.execute(statements.any_live, ())
            row = await cursor.fetchone()
            if self._auto_create:
                await cursor.execute(statements.drop_table, ())
                await cursor.execute(statements.create_table, ())
                await cursor.execute(statements.create_index, ())
            else:
                await cursor.execute(statements.delete_all, ())
        return row is not None and bool(row[0])


async def _open_pool(conninfo: str, timeout: float) -> Pool:
    """Our pool, open and holding one connection; a first direct connection reports refusals at once.

    Without it, a pool retries in the background and a refused or misconfigured connection would only
    surface as a `PoolTimeout` after `timeout` seconds, without the server's reason.
    """
    try:
        probe = await AsyncConnection.connect(conninfo)
        await probe.close()
        pool: Pool = AsyncConnectionPool(
            conninfo,
            kwargs=_CONNECTION_KWARGS,
            min_size=1,
            max_size=_POOL_MAX_SIZE,
            timeout=timeout,
            open=False,
        )
        await pool.open(wait=True, timeout=timeout)
    except psycopg.Error as exc:
        raise _store_error(exc) from exc
    return pool


async def _close_pool(pool: Pool) -> None:
    await pool.close()


def _store_error(exc: psycopg.Error) -> KeyValueStoreError:
    """Our error for a psycopg one: timeouts, lost or refused connections, or anything else."""
    if isinstance(exc, (PoolTimeout, QueryCanceled)):
        return StoreTimeoutError(f"PostgreSQL did not answer in time: {exc}")
    # No SQLSTATE: the client lost or never got a connection; class 08 is a connection exception and
    # class 57 operator intervention (server shutting down, cancelled, not accepting connections).
    if isinstance(exc, psycopg.OperationalError) and (exc.sqlstate is None or exc.sqlstate[:2] in ("08", "57")):
        return StoreConnectionError(f"PostgreSQL is unreachable: {exc}")
    return KeyValueStoreError(f"PostgreSQL failed: {exc}")

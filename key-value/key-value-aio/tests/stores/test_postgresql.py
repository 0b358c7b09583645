"""PostgreSQLStore against a real server: the contract, the table it writes, and what is PostgreSQL-specific.

Statements and round trips are counted on the wire: libpq's protocol trace of the pooled connection
lists every message the client sends, so an `Execute` is one statement and a `Sync` one round trip.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql
from psycopg.pq import Trace
from psycopg_pool import AsyncConnectionPool

from key_value.aio.conditional import ABSENT, ANY, CHANGED, KEEP_CURRENT, ConditionalResult
from key_value.aio.stores.postgresql import PostgreSQLStore
from key_value.aio.stores.postgresql.layout import NativePostgreSQLLayout
from key_value.aio.stores.postgresql.store import Pool
from key_value.shared.capabilities import Capability
from key_value.shared.codec import encode_value
from key_value.shared.errors import InvalidArgumentError, StoreConnectionError, StoreSetupError
from testing.servers._process import LOOPBACK, free_port
from testing.servers.postgresql_server import PostgresServer

from ..support.contract import ContractTests
from ..support.server_checks import check_unanswered_request_times_out, check_used_from_two_event_loops


@pytest.fixture
def table(postgresql_server: PostgresServer) -> Iterator[str]:
    """A table name of this test's own, dropped afterwards."""
    name = f"kv_{uuid.uuid4().hex[:16]}"
    yield name
    with postgresql_server.connect() as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))


class MarkedPostgreSQLLayout(NativePostgreSQLLayout):
    """The native layout with every stored name prefixed by `m:` and every value wrapped in `{"m": ...}`."""

    def to_column(self, name: str) -> str:
        return "m:" + super().to_column(name)

    def from_column(self, text: str) -> str:
        assert text.startswith("m:"), text
        return super().from_column(text[2:])

    def encode(self, value_json: str) -> str:
        return '{"m":' + super().encode(value_json) + "}"

    def decode(self, stored: str) -> dict[str, Any]:
        wrapped = super().decode(stored)
        assert list(wrapped) == ["m"], wrapped
        return wrapped["m"]


class TestPostgreSQLStoreWithLayout(ContractTests):
    @pytest.fixture
    async def store(self, postgresql_server: PostgresServer, table: str) -> AsyncIterator[PostgreSQLStore]:
        store = PostgreSQLStore(url=postgresql_server.url, table_name=table, layout=MarkedPostgreSQLLayout())
        yield store
        await store.close()


class TestPostgreSQLStore(ContractTests):
    @pytest.fixture
    async def store(self, postgresql_server: PostgresServer, table: str) -> AsyncIterator[PostgreSQLStore]:
        store = PostgreSQLStore(url=postgresql_server.url, table_name=table)
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, postgresql_server: PostgresServer, table: str) -> dict[str, Any]:
        return {"url": postgresql_server.url, "table_name": table}


def rows(server: PostgresServer, query: sql.SQL | sql.Composed, *params: Any) -> list[tuple[Any, ...]]:
    with server.connect() as conn:
        return conn.execute(query, params).fetchall()


async def wire_messages(pool: Pool, operation: Callable[[], Any]) -> Counter[str]:
    """The protocol messages the client sends while `operation` runs on the pool's only connection."""
    descriptor, path = tempfile.mkstemp(prefix="kv-pg-trace-")
    try:
        async with pool.connection() as conn:
            conn.pgconn.trace(descriptor)
            conn.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
        await operation()
        async with pool.connection() as conn:
            conn.pgconn.untrace()
    finally:
        os.close(descriptor)
    return _sent_messages(Path(path))


def _sent_messages(trace: Path) -> Counter[str]:
    """Count the frontend (`F`) messages of a libpq trace by name, and remove the trace."""
    lines = trace.read_text().splitlines()
    trace.unlink()
    return Counter(line.split("\t")[2] for line in lines if line.startswith("F\t"))


class TestPostgreSQLBehaviour:
    @pytest.fixture
    async def store(self, postgresql_server: PostgresServer, table: str) -> AsyncIterator[PostgreSQLStore]:
        store = PostgreSQLStore(
            host=postgresql_server.host, port=postgresql_server.port, user="postgres", table_name=table
        )
        yield store
        await store.close()

    async def test_capabilities(self, store: PostgreSQLStore) -> None:
        expected = (
            Capability.KEYS
            | Capability.COLLECTIONS
            | Capability.DESTROY
            | Capability.DESTROY_COLLECTION
            | Capability.CULL
            | Capability.CONDITIONAL
        )
        assert store.capabilities == expected

    async def test_table_layout(self, store: PostgreSQLStore, postgresql_server: PostgresServer, table: str) -> None:
        await store.put("key", {"b": 1, "a": [1.0, 2**70]}, collection="users", ttl=60)
        await store.put("key", {"b": 2}, collection="users")
        columns = rows(
            postgresql_server,
            sql.SQL(
                " ".join(
                    (
                        "SELECT column_name, data_type, collation_name, is_nullable FROM information_schema.columns",
                        "WHERE table_name = %s ORDER BY ordinal_position",
                    )
                )
            ),
            table,
        )
        assert columns == [
            ("collection", "text", "C", "NO"),
            ("key", "text", "C", "NO"),
            ("value", "json", None, "NO"),
            ("created_at", "timestamp with time zone", None, "NO"),
            ("expires_at", "timestamp with time zone", None, "YES"),
            ("version", "bigint", None, "NO"),
        ]
        indexes = [
            row[0]
            for row in rows(postgresql_server, sql.SQL("SELECT indexdef FROM pg_indexes WHERE tablename = %s"), table)
        ]
        assert any("PRIMARY KEY" in index or "(collection, key)" in index for index in indexes)
        assert any("(expires_at) WHERE (expires_at IS NOT NULL)" in index for index in indexes)
        stored = rows(
            postgresql_server,
            sql.SQL("SELECT collection, key, value::text, expires_at, version FROM {}").format(sql.Identifier(table)),
        )
        assert len(stored) == 1
        assert stored[0][:4] == ("users", "key", '{"b":2}', None)
        assert 0 <= stored[0][4] < 2**63  # a random version: the ETag

    async def test_values_kept_exactly(
        self, store: PostgreSQLStore, postgresql_server: PostgresServer, table: str
    ) -> None:
        value: dict[str, Any] = {"z": 1e300, "y": 1e16, "x": 2**70 + 1, "w": 1.0, "nul": "a\x00b", "v": -0.0, "u": 0.1}
        await store.put("key", value)
        got = await store.get("key")
        assert got == value
        assert got is not None
        assert [type(item) for item in got.values()] == [type(item) for item in value.values()]
        assert list(got) == list(value)  # json keeps the key order; jsonb would sort it
        stored = rows(postgresql_server, sql.SQL("SELECT value::text FROM {}").format(sql.Identifier(table)))
        assert stored == [(encode_value(value),)]

    async def test_collections_page_through(
        self, store: PostgreSQLStore, postgresql_server: PostgresServer, table: str
    ) -> None:
        """More collections than one enumeration page holds all come back, and `limit` cuts across pages."""
        await store.setup()
        names = [f"c{number:05d}" for number in range(4500)]
        with postgresql_server.connect() as conn:  # rows written directly: 4,500 puts would be slow
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (collection, key, value) SELECT c, 'k', '{{}}' FROM unnest(%s::text[]) c"
                ).format(sql.Identifier(table)),
                [names],
            )
        assert await store.collections() == names
        assert await store.collections(limit=2500) == names[:2500]

    async def test_names_are_plain_data(self, store: PostgreSQLStore) -> None:
        names = [
            "100%",
            "a_b",
            "%",
            "_",
            "it's",
            "back\\slash",
            'dou"ble',
            "%s",
            "%(x)s",
            "'); DROP TABLE kv; --",
            "{}",
        ]
        for name in names:
            await store.put_many(names, [{"n": name}] * len(names), collection=name)
        for name in names:
            assert sorted(await store.keys(name)) == sorted(names)
            assert await store.get_many(names, collection=name) == [{"n": name}] * len(names)
            assert await store.keys(name, limit=3) == sorted(names)[:3]
        assert sorted(await store.collections()) == sorted(names)
        assert await store.delete_many(["%", "_"], collection="a_b") == 2
        assert await store.destroy_collection("%") is True
        assert sorted(await store.collections()) == sorted(set(names) - {"%"})
        assert await store.get("a_b", collection="a_b") == {"n": "a_b"}

    async def test_escape_character_in_names(
        self, store: PostgreSQLStore, postgresql_server: PostgresServer, table: str
    ) -> None:
        names = ["a\x00", "a\x01", "a\x01\x02", "a\x01\x01", "\x00\x01\x00", "a"]
        await store.put_many(names, [{"i": i} for i in range(len(names))], collection="\x00")
        assert await store.get_many(names, collection="\x00") == [{"i": i} for i in range(len(names))]
        assert sorted(await store.keys("\x00")) == sorted(names)
        assert await store.collections() == ["\x00"]
        stored = rows(postgresql_server, sql.SQL("SELECT key FROM {} WHERE key = 'a'").format(sql.Identifier(table)))
        assert stored == [("a",)]  # names without NUL or \x01 are stored as they are

    async def test_schema_and_table_quoted(self, postgresql_server: PostgresServer) -> None:
        schema, table = 'sch"ema %s', "ta'ble; DROP TABLE x"
        with postgresql_server.connect() as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            async with PostgreSQLStore(url=postgresql_server.url, schema=schema, table_name=table) as store:
                await store.put("key", {"v": 1})
                assert await store.get("key") == {"v": 1}
                assert await store.destroy() is True
            found = rows(
                postgresql_server,
                sql.SQL("SELECT table_name FROM information_schema.tables WHERE table_schema = %s"),
                schema,
            )
            assert found == [(table,)]
        finally:
            with postgresql_server.connect() as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))

    async def test_expiry_by_database_clock(
        self, store: PostgreSQLStore, postgresql_server: PostgresServer, table: str
    ) -> None:
        store.clock = lambda: time.time() + 3600  # this machine's clock is an hour fast
        await store.put("key", {"v": 1}, ttl=10)
        value, remaining = await store.ttl("key")
        assert value == {"v": 1}
        assert remaining is not None
        assert 9 < remaining <= 10
        store.clock = lambda: time.time() - 3600  # and now an hour slow: the server still decides
        with postgresql_server.connect() as conn:
            query = sql.SQL("UPDATE {} SET expires_at = now() - interval '1 second'").format(sql.Identifier(table))
            conn.execute(query)
        assert await store.get("key") is None
        assert await store.ttl_many(["key"]) == [(None, None)]
        assert await store.keys() == []
        assert await store.delete("key") is False

    async def test_ttl_reads_the_server(
        self, store: PostgreSQLStore, postgresql_server: PostgresServer, table: str
    ) -> None:
        await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}], ttl=100)
        with postgresql_server.connect() as conn:
            name = sql.Identifier(table)
            conn.execute(
                sql.SQL("UPDATE {} SET expires_at = now() + interval '5 seconds' WHERE key = 'a'").format(name)
            )
            conn.execute(sql.SQL("UPDATE {} SET expires_at = NULL WHERE key = 'b'").format(name))
        value, remaining = await store.ttl("a")
        assert value == {"v": 1}
        assert remaining is not None
        assert 4.5 <= remaining <= 5.0
        assert (await store.ttl_many(["b", "a"]))[0] == ({"v": 2}, None)

    async def test_cull_deletes_expired_rows(
        self, store: PostgreSQLStore, postgresql_server: PostgresServer, table: str
    ) -> None:
        await store.put_many(["gone", "also"], [{"v": 1}, {"v": 2}], ttl=0.05)
        await store.put("kept", {"v": 3}, ttl=60)
        await asyncio.sleep(0.1)
        count = sql.SQL("SELECT key FROM {}").format(sql.Identifier(table))
        assert len(rows(postgresql_server, count)) == 3  # expired rows stay until culled, but are never read
        await store.cull()
        assert rows(postgresql_server, count) == [("kept",)]

    async def test_one_statement_per_call(self, postgresql_server: PostgresServer, table: str) -> None:
        kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0}  # as the store's own pool
        pool: Pool = AsyncConnectionPool(postgresql_server.url, kwargs=kwargs, min_size=1, max_size=1, open=False)
        await pool.open(wait=True)
        store = PostgreSQLStore(pool=pool, table_name=table)
        keys = [f"key-{i}" for i in range(100)]
        values = [{"i": i} for i in range(100)]
        calls: list[Callable[[], Any]] = [
            lambda: store.put_many(keys, values),
            lambda: store.put_many(keys, values, ttl=60),
            lambda: store.get_many(keys),
            lambda: store.ttl_many(keys),
            lambda: store.delete_many(keys),
            lambda: store.put("key", {"v": 1}, ttl=60),
            lambda: store.get("key"),
            lambda: store.ttl("key"),
            lambda: store.delete("key"),
            lambda: store.get_entry("key"),
            lambda: store.put_if("key", {"v": 2}, etag=ABSENT, condition=ANY),
            lambda: store.put_if("key", {"v": 3}, etag="stale"),  # refused, with the current value
            lambda: store.put_if("key", KEEP_CURRENT, etag="stale", condition=CHANGED, ttl=60),
            lambda: store.delete_if("key", etag=ABSENT, condition=CHANGED),
        ]
        for call in calls:  # sets the store up and prepares every statement
            await call()
        for call in calls:
            sent = await wire_messages(pool, call)
            assert sent["Execute"] == 1, sent
            assert sent["Sync"] == 1, sent  # one round trip
            assert sent["Parse"] == 0, sent  # prepared once, not per call
            assert sent["Query"] == 0, sent
        await pool.close()

    async def test_etags_of_the_table(
        self, store: PostgreSQLStore, postgresql_server: PostgresServer, table: str
    ) -> None:
        """The ETag is the row's random version; written_at its created_at; a re-created key gets a new one."""
        before = time.time()
        await store.put("key", {"v": 1})
        entry = await store.get_entry("key")
        assert entry is not None
        (version, written) = rows(
            postgresql_server,
            sql.SQL("SELECT version, EXTRACT(EPOCH FROM created_at)::float8 FROM {}").format(sql.Identifier(table)),
        )[0]
        assert entry.etag == str(version)
        assert entry.written_at == written
        assert before - 1 <= written <= time.time() + 1
        seen = {entry.etag}
        for _ in range(20):  # deleted and written again with the same value: never an old ETag (no ABA)
            assert await store.delete("key") is True
            result = await store.put_if("key", {"v": 1}, etag=ABSENT)
            assert isinstance(result.resulting_etag, str)
            assert result.resulting_etag not in seen
            seen.add(result.resulting_etag)

    async def test_rows_written_before_the_conditional_segment(
        self, store: PostgreSQLStore, postgresql_server: PostgresServer, table: str
    ) -> None:
        """Rows with the old counter versions (1, 2, ...) are read and replaced like any other."""
        await store.setup()
        with postgresql_server.connect() as conn:
            conn.execute(
                sql.SQL("INSERT INTO {} (collection, key, value, version) VALUES ('default', 'k', '{{}}', 1)").format(
                    sql.Identifier(table)
                )
            )
        entry = await store.get_entry("k", collection="default")
        assert entry is not None
        assert entry.etag == "1"
        assert not (await store.put_if("k", {"v": 2}, etag="01", collection="default")).satisfied  # text, not number
        result = await store.put_if("k", {"v": 2}, etag="1", collection="default")
        assert result.satisfied
        assert result.resulting_etag != "1"

    async def test_insert_race_decided_again(self, postgresql_server: PostgresServer, table: str) -> None:
        """Many writers put_if(ABSENT) one new key at once (some lose at the INSERT): exactly one wins."""
        stores = [PostgreSQLStore(url=postgresql_server.url, table_name=table) for _ in range(4)]
        for store in stores:
            await store.setup()
        for round_number in range(20):
            key = f"k{round_number}"

            async def claim(number: int, key: str = key) -> ConditionalResult:
                return await stores[number % 4].put_if(key, {"owner": number}, etag=ABSENT)

            if True:  # ASYNC
                results = await asyncio.gather(*(claim(number) for number in range(16)))
            else:
                from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

                with ThreadPoolExecutor(max_workers=16) as pool:
                    results = list(pool.map(claim, range(16)))
            winners = [result for result in results if result.satisfied]
            assert len(winners) == 1
            winner = winners[0]
            for result in results:
                if not result.satisfied:  # each loser saw the winner's row
                    assert result.actual_etag == winner.resulting_etag
                    assert result.value == winner.value
        for store in stores:
            await store.close()

    async def test_concurrent_setup(self, postgresql_server: PostgresServer, table: str) -> None:
        # Half of them name the schema: the same table either way, so they queue on the same lock.
        stores = [
            PostgreSQLStore(url=postgresql_server.url, table_name=table, schema="public" if number % 2 else None)
            for number in range(4)
        ]
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

    async def test_auto_create_off(self, postgresql_server: PostgresServer, table: str) -> None:
        missing = PostgreSQLStore(url=postgresql_server.url, table_name=table, auto_create=False)
        with pytest.raises(StoreSetupError, match=table):
            await missing.get("key")
        await missing.close()
        exists = sql.SQL("SELECT to_regclass(%s)")
        assert rows(postgresql_server, exists, table) == [(None,)]
        async with PostgreSQLStore(url=postgresql_server.url, table_name=table) as creator:
            await creator.put("key", {"v": 1})
        async with PostgreSQLStore(url=postgresql_server.url, table_name=table, auto_create=False) as store:
            assert await store.get("key") == {"v": 1}
            assert await store.destroy() is True  # empties the table it did not create, keeps it
            assert await store.destroy() is False
            await store.put("key", {"v": 2})
            assert await store.get("key") == {"v": 2}
        assert rows(postgresql_server, exists, table) == [(table,)]

    async def test_destroy_drops_only_our_table(
        self, store: PostgreSQLStore, postgresql_server: PostgresServer, table: str
    ) -> None:
        other = f"{table}_other"
        with postgresql_server.connect() as conn:
            conn.execute(sql.SQL("CREATE TABLE {} (id int)").format(sql.Identifier(other)))
            conn.execute(sql.SQL("INSERT INTO {} VALUES (1)").format(sql.Identifier(other)))
        try:
            await store.put("a", {"v": 1})
            assert await store.destroy() is True
            assert await store.destroy() is False
            assert rows(postgresql_server, sql.SQL("SELECT id FROM {}").format(sql.Identifier(other))) == [(1,)]
            await store.put("a", {"v": 2}, ttl=60)
            assert await store.get("a") == {"v": 2}
        finally:
            with postgresql_server.connect() as conn:
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(other)))

    async def test_caller_pool_without_autocommit(self, postgresql_server: PostgresServer, table: str) -> None:
        pool: Pool = AsyncConnectionPool(postgresql_server.url, min_size=1, max_size=2, open=False)
        await pool.open(wait=True)
        async with PostgreSQLStore(pool=pool, table_name=table) as store:
            await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}])
            assert await store.delete("b") is True
        assert not pool.closed  # the caller's pool is never closed by the store
        async with PostgreSQLStore(url=postgresql_server.url, table_name=table) as reader:
            assert await reader.get_many(["a", "b"]) == [{"v": 1}, None]  # committed
        await pool.close()

    async def test_keyword_connection_string(self, postgresql_server: PostgresServer, table: str) -> None:
        dsn = f"host={postgresql_server.host} port={postgresql_server.port} user=postgres dbname=postgres"
        async with PostgreSQLStore(url=dsn, table_name=table) as store:
            await store.put("key", {"v": 1})
            assert await store.get("key") == {"v": 1}

    async def test_layout_is_injected(self, postgresql_server: PostgresServer, table: str) -> None:
        async with PostgreSQLStore(
            url=postgresql_server.url, table_name=table, layout=MarkedPostgreSQLLayout()
        ) as store:
            await store.put("key", {"v": 1}, collection="c", ttl=60)
            await store.put_many(["a", "b"], [{"v": 2}, {"v": 3}], collection="c")
            assert await store.keys("c") == ["a", "b", "key"]
            assert await store.collections() == ["c"]
        stored = rows(
            postgresql_server,
            sql.SQL("SELECT collection, key, value::text FROM {} ORDER BY key").format(sql.Identifier(table)),
        )
        assert stored == [
            ("m:c", "m:a", '{"m":{"v":2}}'),
            ("m:c", "m:b", '{"m":{"v":3}}'),
            ("m:c", "m:key", '{"m":{"v":1}}'),
        ]

    async def test_from_url(self, postgresql_server: PostgresServer, table: str) -> None:
        url = f"{postgresql_server.url}?table_name={table}&auto_create=yes&timeout=4&sslmode=disable"
        async with PostgreSQLStore.from_url(url, default_collection="p") as store:
            await store.put("key", {"v": 1})
        stored = rows(postgresql_server, sql.SQL("SELECT collection, key FROM {}").format(sql.Identifier(table)))
        assert stored == [("p", "key")]
        with pytest.raises(InvalidArgumentError, match="auto_create='perhaps' must be true or false"):
            PostgreSQLStore.from_url(f"{postgresql_server.url}?auto_create=perhaps")
        with pytest.raises(InvalidArgumentError, match="timeout='x' must be a number"):
            PostgreSQLStore.from_url(f"{postgresql_server.url}?timeout=x")
        with pytest.raises(InvalidArgumentError, match="given twice"):
            PostgreSQLStore.from_url(f"{postgresql_server.url}?schema=a&schema=b")
        with pytest.raises(InvalidArgumentError, match="schemes: ") as info:
            PostgreSQLStore.from_url("mysql://root:s3cret@localhost/db")
        assert "s3cret" not in str(info.value)
        assert "root:***@localhost" in str(info.value)

    def test_bad_settings(self, postgresql_server: PostgresServer) -> None:
        pool: Pool = AsyncConnectionPool(postgresql_server.url, open=False)
        with pytest.raises(InvalidArgumentError):
            PostgreSQLStore(pool=pool, url=postgresql_server.url)
        for url in ["mysql://localhost/db", "host=localhost nonsense", "postgresql://[::1"]:
            with pytest.raises(InvalidArgumentError):
                PostgreSQLStore(url=url)
        for table_name in ["", "a\x00b", "t" * 53]:
            with pytest.raises(InvalidArgumentError):
                PostgreSQLStore(table_name=table_name)
        with pytest.raises(InvalidArgumentError):
            PostgreSQLStore(schema="")
        for timeout in [0, -1.0, float("nan"), float("inf")]:
            with pytest.raises(InvalidArgumentError):
                PostgreSQLStore(timeout=timeout)
        PostgreSQLStore(table_name="t" * 52)

    def test_used_from_two_event_loops(self, postgresql_server: PostgresServer, table: str) -> None:
        check_used_from_two_event_loops(PostgreSQLStore(url=postgresql_server.url, table_name=table))

    async def test_connection_refused(self) -> None:
        store = PostgreSQLStore(url=f"postgresql://postgres@{LOOPBACK}:{free_port()}/postgres", timeout=5)
        started = time.monotonic()
        with pytest.raises(StoreConnectionError):
            await store.get("key")
        assert time.monotonic() - started < 2  # reported at once, not after the timeout
        await store.close()

    async def test_unanswering_server_times_out(self, private_postgresql_server: PostgresServer) -> None:
        private_postgresql_server.pause()
        store = PostgreSQLStore(url=private_postgresql_server.url, timeout=1)
        started = time.monotonic()
        with pytest.raises(StoreConnectionError):
            await store.get("key")
        assert time.monotonic() - started < 10
        private_postgresql_server.resume()
        assert await store.get("key") is None
        await store.close()

    async def test_unanswered_request_times_out(self, private_postgresql_server: PostgresServer) -> None:
        """The server stops answering on an open connection: the statement's deadline breaks it in time."""
        store = PostgreSQLStore(url=private_postgresql_server.url, timeout=1)
        await check_unanswered_request_times_out(store, private_postgresql_server)
        await store.put("other", {"v": 2})  # the broken connection was dropped, not reused
        assert await store.get_many(["key", "other"]) == [{"v": 1}, {"v": 2}]
        await store.close()

    async def test_stopped_server_then_back(self, private_postgresql_server: PostgresServer) -> None:
        store = PostgreSQLStore(url=private_postgresql_server.url, timeout=5)
        await store.put("key", {"v": 1})
        private_postgresql_server.stop()
        with pytest.raises(StoreConnectionError):
            await store.get("key")
        private_postgresql_server.process.start()  # same port and data directory
        assert await store.get("key") == {"v": 1}
        await store.put("key", {"v": 2})
        await store.close()

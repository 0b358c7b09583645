"""PostgreSQLStore with `layout="py-key-value"`: the contract on py-key-value-aio 0.4.x's table, and that
table shared with the real py-key-value (run in its own venv), writing with one and reading with the other.

The contract runs unchanged except where py-key-value's table cannot hold what it asks: NUL in names
(text columns) and in value strings (jsonb). Those cases raise our errors instead, checked here.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from psycopg import sql

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.postgresql import PostgreSQLStore
from key_value.aio.stores.postgresql.py_key_value import py_key_value_table
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError, SerializationError
from testing import py_key_value
from testing.servers.postgresql_server import PostgresServer

from ..support import contract
from ..support.contract import ContractTests, sleep
from ..support.doubles import full

#: The contract's cases py-key-value's table cannot hold, and the error our store raises for each instead.
UNREPRESENTABLE_NAMES = [name for name in contract.AWKWARD_NAMES if "\x00" in name]


@pytest.fixture
def table(postgresql_server: PostgresServer) -> Iterator[str]:
    """A table name of this test's own (as py-key-value accepts it), dropped afterwards."""
    name = f"kv_{uuid.uuid4().hex[:16]}"
    yield name
    with postgresql_server.connect() as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))


def rows(server: PostgresServer, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with server.connect() as conn:
        return conn.execute(query.encode(), params).fetchall()


def upstream(server: PostgresServer, table: str, operations: list[dict[str, Any]]) -> list[Any]:
    return py_key_value.run("postgresql", {"url": server.url, "table_name": table}, operations)


class TestPostgreSQLStorePyKeyValueLayout(ContractTests):
    etag_from_content = True  # the table has no version column: the ETag is a digest of the value

    @pytest.fixture
    async def store(self, postgresql_server: PostgresServer, table: str) -> AsyncIterator[PostgreSQLStore]:
        store = PostgreSQLStore(url=postgresql_server.url, table_name=table, layout="py-key-value")
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, postgresql_server: PostgresServer, table: str) -> dict[str, Any]:
        return {"url": postgresql_server.url, "table_name": table, "layout": "py-key-value"}

    # Adapted: jsonb cannot hold NUL in strings, text cannot hold NUL in names.

    @pytest.mark.parametrize("value", [contract.NESTED, contract.UNICODE, {}], ids=["nested", "unicode", "empty"])
    async def test_round_trip(self, store: AsyncKeyValue, value: dict[str, Any]) -> None:
        if any("\x00" in str(item) for item in value.values()):
            with pytest.raises(SerializationError):
                await store.put("key", value, collection="round")
            assert await store.get("key", collection="round") is None
            value = {name: item for name, item in value.items() if "\x00" not in str(item)}
        await store.put("key", value, collection="round")
        assert await store.get("key", collection="round") == value

    @pytest.mark.parametrize("name", contract.AWKWARD_NAMES, ids=range(len(contract.AWKWARD_NAMES)))
    async def test_awkward_names(self, store: AsyncKeyValue, name: str) -> None:
        if name in UNREPRESENTABLE_NAMES:
            for collection, key in ((name, "k"), ("c", name)):
                with pytest.raises(InvalidKeyError):
                    await store.put(key, {"v": 1}, collection=collection)
                with pytest.raises(InvalidKeyError):
                    await store.put_many(["ok", key], [{"v": 1}, {"v": 2}], collection=collection)
                with pytest.raises(InvalidKeyError):
                    await store.get(key, collection=collection)
            assert await store.get("ok", collection="c") is None
            assert await full(store).collections() == []
            return
        await super().test_awkward_names(store, name)


async def test_table_is_py_key_value_s(postgresql_server: PostgresServer, table: str) -> None:
    async with PostgreSQLStore(url=postgresql_server.url, table_name=table, layout="py-key-value") as store:
        await store.put("k", {"b": 1, "a": [1.5]}, collection="c", ttl=100)
        await store.put("k", {"b": 2}, collection="c", ttl=50)
        await store.put("plain", {"v": 1}, collection="c")
    columns = rows(
        postgresql_server,
        " ".join(
            (
                "SELECT column_name, data_type, is_nullable FROM information_schema.columns",
                "WHERE table_name = %s ORDER BY ordinal_position",
            )
        ),
        table,
    )
    assert columns == [
        ("collection", "text", "NO"),
        ("key", "text", "NO"),
        ("value", "jsonb", "NO"),
        ("ttl", "double precision", "YES"),
        ("created_at", "timestamp with time zone", "YES"),
        ("expires_at", "timestamp with time zone", "YES"),
    ]
    assert rows(postgresql_server, "SELECT indexname FROM pg_indexes WHERE tablename = %s ORDER BY 1", table) == [
        (f"idx_{table}_expires_at",),
        (f"{table}_pkey",),
    ]
    (row, plain) = rows(
        postgresql_server,
        f"SELECT value, ttl, created_at < expires_at, expires_at - created_at FROM {table} ORDER BY key",
    )
    assert row[0] == {"b": 2}
    assert row[1] == 50
    assert row[2] is True
    assert (
        timedelta(seconds=50) < row[3] <= timedelta(seconds=100)
    )  # an overwrite keeps created_at, as py-key-value's upsert does
    assert plain == ({"v": 1}, None, None, None)


def test_table_names_as_py_key_value_makes_them() -> None:
    assert py_key_value_table("kv_store") == ("kv_store", "idx_kv_store_expires_at")
    assert py_key_value_table("My_Table") == ("my_table", "idx_my_table_expires_at")
    long = "T" * 60
    assert py_key_value_table(long)[1] == "idx_" + hashlib.sha256(long.encode()).hexdigest()[:16] + "_exp"
    for bad in ("kv-store", "1kv", "a b", "x" * 64):
        with pytest.raises(InvalidArgumentError):
            PostgreSQLStore(table_name=bad, layout="py-key-value")


async def test_a_table_name_is_folded_as_py_key_value_folds_it(postgresql_server: PostgresServer, table: str) -> None:
    upstream(postgresql_server, table.upper().replace("KV_", "Kv_"), [{"op": "put", "key": "k", "value": {"v": 1}}])
    async with PostgreSQLStore(
        url=postgresql_server.url, table_name=table.upper().replace("KV_", "Kv_"), layout="py-key-value"
    ) as store:
        assert await store.get("k") == {"v": 1}


async def test_reads_what_py_key_value_wrote(postgresql_server: PostgresServer, table: str) -> None:
    started = time.monotonic()
    upstream(
        postgresql_server,
        table,
        [
            {"op": "put", "key": "user:1", "value": {"name": "Alice", "n": [1, 2.5, None]}, "collection": "users"},
            {"op": "put", "key": "session", "value": {"t": "x"}, "collection": "users", "ttl": 60},
            {"op": "put_many", "keys": ["a", "b"], "values": [{"v": 1}, {"v": 2}], "ttl": 30},
            {"op": "put", "key": "brief", "value": {"v": 0}, "collection": "users", "ttl": 8},
            {"op": "put", "key": "ünï/co:de", "value": {"é": "🙂"}, "collection": "weird coll/.."},
        ],
    )
    written = time.monotonic()  # every write above came before this
    async with PostgreSQLStore(url=postgresql_server.url, table_name=table, layout="py-key-value") as store:
        assert await store.get("user:1", collection="users") == {"name": "Alice", "n": [1, 2.5, None]}
        value, ttl = await store.ttl("session", collection="users")
        assert value == {"t": "x"}
        assert ttl is not None
        assert 60 - (time.monotonic() - started) - 1 <= ttl <= 60
        results = await store.ttl_many(["a", "b", "missing"])
        assert [value for value, _ in results] == [{"v": 1}, {"v": 2}, None]
        assert all(ttl is not None and 30 - (time.monotonic() - started) - 1 <= ttl <= 30 for _, ttl in results[:2])
        assert await store.get("ünï/co:de", collection="weird coll/..") == {"é": "🙂"}
        assert sorted(await store.keys("users")) == ["brief", "session", "user:1"]
        assert sorted(await store.collections()) == ["default_collection", "users", "weird coll/.."]
        await sleep(max(0.0, written + 8.1 - time.monotonic()))
        assert await store.get("brief", collection="users") is None
        assert sorted(await store.keys("users")) == ["session", "user:1"]
        assert await store.delete("brief", collection="users") is False
        assert await store.delete("user:1", collection="users") is True
        assert await store.destroy_collection("weird coll/..") is True
    assert upstream(
        postgresql_server,
        table,
        [
            {"op": "get", "key": "user:1", "collection": "users"},
            {"op": "get", "key": "ünï/co:de", "collection": "weird coll/.."},
            {"op": "collections"},
        ],
    ) == [None, None, ["default_collection", "users"]]


async def test_py_key_value_reads_what_we_wrote(postgresql_server: PostgresServer, table: str) -> None:
    async with PostgreSQLStore(url=postgresql_server.url, table_name=table, layout="py-key-value") as store:
        await store.put("user:1", {"name": "Alice", "big": 2**70, "f": 1.25}, collection="users")
        await store.put("session", {"t": "x"}, collection="users", ttl=60)
        await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}], ttl=30)
        await store.put("brief", {"v": 0}, collection="users", ttl=0.5)
        await store.put("ünï/co:de", {"é": "🙂"}, collection="weird coll/..")
        await store.put("gone", {"v": 0}, collection="users")
        await store.delete("gone", collection="users")
    await sleep(0.6)
    got = upstream(
        postgresql_server,
        table,
        [
            {"op": "get", "key": "user:1", "collection": "users"},
            {"op": "ttl", "key": "session", "collection": "users"},
            {"op": "get_many", "keys": ["a", "b", "missing"]},
            {"op": "ttl", "key": "a"},
            {"op": "get", "key": "brief", "collection": "users"},
            {"op": "get", "key": "gone", "collection": "users"},
            {"op": "get", "key": "ünï/co:de", "collection": "weird coll/.."},
            {"op": "collections"},
            {"op": "put", "key": "user:1", "value": {"name": "Bob"}, "collection": "users"},
        ],
    )
    assert got[0] == {"name": "Alice", "big": 2**70, "f": 1.25}
    assert got[1][0] == {"t": "x"}
    assert 45 < got[1][1] <= 60
    assert got[2] == [{"v": 1}, {"v": 2}, None]
    assert 15 < got[3][1] <= 30
    assert got[4:7] == [None, None, {"é": "🙂"}]
    assert got[7] == ["default_collection", "users", "weird coll/.."]
    async with PostgreSQLStore(url=postgresql_server.url, table_name=table, layout="py-key-value") as store:
        assert await store.get("user:1", collection="users") == {"name": "Bob"}  # its overwrite of ours


async def test_native_layout_unchanged(postgresql_server: PostgresServer, table: str) -> None:
    async with PostgreSQLStore(url=postgresql_server.url, table_name=table) as store:
        await store.put("k", {"v": 1})
    columns = rows(
        postgresql_server,
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
        table,
    )
    assert [name for (name,) in columns] == ["collection", "key", "value", "created_at", "expires_at", "version"]

"""The stores every mapping test runs on: embedded ones, a wrapper stack, one without the conditional
segment, and real Redis and PostgreSQL servers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from psycopg import sql

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.shared.capabilities import Capability
from testing.servers._resp import RespServer
from testing.servers.postgresql_server import PostgresServer

from ..support.doubles import Limited

#: Stores with the conditional segment, and the one without it ("plain": a MemoryStore seen through
#: a wrapper that offers only key listing).
KINDS = ["memory", "disk", "filetree", "simple", "stack", "validated", "plain", "redis", "postgresql"]


@pytest.fixture(params=KINDS)
async def kv(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncKeyValue]:
    """A fresh, empty store of each kind."""
    kind: str = request.param
    if kind == "memory":
        yield MemoryStore()
    elif kind == "plain":
        yield Limited(MemoryStore(), Capability.KEYS)
    elif kind == "simple":
        from key_value.aio.stores.simple import SimpleStore  # noqa: PLC0415

        yield SimpleStore()
    elif kind == "disk":
        from key_value.aio.stores.disk import DiskStore  # noqa: PLC0415

        store = DiskStore(directory=tmp_path / "disk")
        yield store
        await store.close()
    elif kind == "filetree":
        from key_value.aio.stores.filetree import FileTreeStore  # noqa: PLC0415

        yield FileTreeStore(data_directory=tmp_path / "tree")
    elif kind == "stack":
        from key_value.aio.wrappers.prefix_collections import PrefixCollectionsWrapper  # noqa: PLC0415
        from key_value.aio.wrappers.statistics import StatisticsWrapper  # noqa: PLC0415

        yield StatisticsWrapper(PrefixCollectionsWrapper(MemoryStore(), prefix="app"))
    elif kind == "validated":  # an ETag-validated local cache over a disk store
        from key_value.aio.stores.disk import DiskStore  # noqa: PLC0415
        from key_value.aio.wrappers.validated_cache import ValidatedCacheWrapper  # noqa: PLC0415

        disk = DiskStore(directory=tmp_path / "cached")
        yield ValidatedCacheWrapper(disk, max_entries=64)
        await disk.close()
    elif kind == "redis":
        from key_value.aio.stores.redis import RedisStore  # noqa: PLC0415

        server: RespServer = request.getfixturevalue("redis_server")
        server.flush()
        store = RedisStore(url=server.url)
        yield store
        await store.close()
    else:
        from key_value.aio.stores.postgresql import PostgreSQLStore  # noqa: PLC0415

        postgres: PostgresServer = request.getfixturevalue("postgresql_server")
        table = f"kv_{uuid.uuid4().hex[:16]}"
        store = PostgreSQLStore(url=postgres.url, table_name=table)
        yield store
        await store.close()
        with postgres.connect() as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))

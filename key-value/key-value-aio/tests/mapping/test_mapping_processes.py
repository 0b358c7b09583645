"""Writers that share one nested value lose nothing: separate processes, and two mappings in one process.

Four processes (this file run as a script) each change their own field of one value 50 times and
append to one list shared by all, on every store that several processes can open; at the end every
field holds its full count and the list every append. The async twin's workers use `edit`, the sync
twin's the live views (`m["doc"][field] += 1`, `m["doc"]["log"].append(...)`). The regressions of the
old kv dict: two mappings that read one value and change different fields (both changes survive), and
a view read before another writer's change (its own change lands on top, and it shows both).

Usage as a worker: test_mapping_processes.py KIND LOCATION TABLE COLLECTION INDEX ROUNDS START_DIR
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from key_value.aio.mapping import AsyncKVMapping
from key_value.aio.protocols.key_value import AsyncKeyValue

if TYPE_CHECKING:  # the fixtures' types; a worker process runs without the test tree on its path
    from testing.servers._resp import RespServer
    from testing.servers.postgresql_server import PostgresServer

WORKERS = 4
ROUNDS = 50
#: Seconds a worker may take to start, and all of them to finish.
START_TIMEOUT = 60.0
RUN_TIMEOUT = 240.0


@dataclass(frozen=True)
class Place:
    """Where a store lives, in a form a worker process gets on its command line."""

    kind: str
    location: str = "-"
    table: str = "-"

    def argv(self) -> list[str]:
        return [self.kind, self.location, self.table]


def open_store(place: Place) -> AsyncKeyValue:
    """A new store object over `place` (each process opens its own)."""
    if place.kind == "memory":
        from key_value.aio.stores.memory import MemoryStore  # noqa: PLC0415

        return MemoryStore()
    if place.kind == "filetree":
        from key_value.aio.stores.filetree import FileTreeStore  # noqa: PLC0415

        return FileTreeStore(data_directory=place.location)
    if place.kind == "disk":
        from key_value.aio.stores.disk import DiskStore  # noqa: PLC0415

        return DiskStore(directory=place.location)
    if place.kind == "redis":
        from key_value.aio.stores.redis import RedisStore  # noqa: PLC0415

        return RedisStore(url=place.location)
    from key_value.aio.stores.postgresql import PostgreSQLStore  # noqa: PLC0415

    return PostgreSQLStore(url=place.location, table_name=place.table)


async def close(store: AsyncKeyValue) -> None:
    closer = getattr(store, "close", None)
    if closer is not None:
        await closer()


# --- the worker process ---------------------------------------------------------------------------


async def work(place: Place, collection: str, index: int, rounds: int, start_dir: Path) -> None:
    """Add 1 to `field_<index>` of "doc" and append "<index>:<round>" to its "log", `rounds` times."""
    store = open_store(place)
    mapping = AsyncKVMapping(store, collection)
    field = f"field_{index}"
    await mapping.get("doc")  # connect before the start, so that the writers overlap
    (start_dir / f"ready-{index}").touch()
    deadline = time.monotonic() + START_TIMEOUT
    while not (start_dir / "go").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("no start signal")
        await _pause()
    for round_ in range(1, rounds + 1):
        if True:  # ASYNC
            async with mapping.edit("doc") as doc:
                doc[field] += 1
                doc["log"].append(f"{index}:{round_}")
        else:
            doc = mapping["doc"]
            doc[field] += 1
            mapping["doc"]["log"].append(f"{index}:{round_}")
    await close(store)


if True:  # ASYNC
    import asyncio

    async def _pause() -> None:
        await asyncio.sleep(0.005)

    def _run_worker(place: Place, collection: str, index: int, rounds: int, start_dir: Path) -> None:
        asyncio.run(work(place, collection, index, rounds, start_dir))

else:

    def _pause() -> None:
        time.sleep(0.005)

    def _run_worker(place: Place, collection: str, index: int, rounds: int, start_dir: Path) -> None:
        work(place, collection, index, rounds, start_dir)


# --- the tests ------------------------------------------------------------------------------------


@pytest.fixture
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    """An empty place of each kind (a parametrized test names the kind)."""
    kind: str = request.param
    if kind in ("memory", "filetree", "disk"):
        yield Place(kind, str(tmp_path / kind))
    elif kind == "redis":
        server: RespServer = request.getfixturevalue("redis_server")
        server.flush()
        yield Place(kind, server.url)
    else:
        from psycopg import sql  # noqa: PLC0415

        postgres: PostgresServer = request.getfixturevalue("postgresql_server")
        table = f"kv_{uuid.uuid4().hex[:16]}"
        yield Place(kind, postgres.url, table)
        with postgres.connect() as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))


def run_workers(place: Place, collection: str, start_dir: Path) -> None:
    """Start the workers, let them go together once all are ready, and wait for every one to succeed."""
    commands = [
        [sys.executable, __file__, *place.argv(), collection, str(index), str(ROUNDS), str(start_dir)]
        for index in range(WORKERS)
    ]
    from ..support.processes import run_together  # noqa: PLC0415 - the worker runs this file as a script

    run_together(commands, start_dir, start_timeout=START_TIMEOUT, run_timeout=RUN_TIMEOUT)


@pytest.mark.parametrize("place", ["filetree", "disk", "redis", "postgresql"], indirect=True)
async def test_processes_editing_one_value_lose_nothing(place: Place, tmp_path: Path) -> None:
    collection = f"procs-{uuid.uuid4().hex[:12]}"
    store = open_store(place)
    try:
        mapping = AsyncKVMapping(store, collection)
        await mapping.set("doc", {**{f"field_{index}": 0 for index in range(WORKERS)}, "log": []})
        start_dir = tmp_path / "start"
        start_dir.mkdir()
        run_workers(place, collection, start_dir)
        doc = await mapping.get_item("doc")
    finally:
        await close(store)
    assert {name: doc[name] for name in doc if name != "log"} == {f"field_{index}": ROUNDS for index in range(WORKERS)}
    expected_log = sorted(f"{index}:{round_}" for index in range(WORKERS) for round_ in range(1, ROUNDS + 1))
    assert sorted(doc["log"]) == expected_log  # every append, none twice
    for index in range(WORKERS):  # and each writer's in its own order
        own = [entry for entry in doc["log"] if entry.startswith(f"{index}:")]
        assert own == [f"{index}:{round_}" for round_ in range(1, ROUNDS + 1)]


KINDS = ["memory", "filetree", "disk", "redis", "postgresql"]


@pytest.mark.parametrize("place", KINDS, indirect=True)
async def test_two_mappings_changing_different_fields_keep_both(place: Place) -> None:
    """The lost update: both read "cfg", one sets field a, the other field b."""
    store = open_store(place)
    try:
        first, second = AsyncKVMapping(store, "cfgs"), AsyncKVMapping(store, "cfgs")
        await first.set("cfg", {"a": 0, "b": 0})
        if True:  # ASYNC
            async with first.edit("cfg") as mine:
                async with second.edit("cfg") as theirs:
                    theirs["b"] = 2
                mine["a"] = 1  # written on exit: conflicts with the edit above, replayed on its value
            assert mine == {"a": 1, "b": 2}
        else:
            mine, theirs = first["cfg"], second["cfg"]
            mine["a"] = 1
            theirs["b"] = 2  # a conflict: replayed on the value with a=1
            assert theirs == {"a": 1, "b": 2}
        assert await first.get("cfg") == await second.get("cfg") == {"a": 1, "b": 2}
        assert await store.get("cfg", collection="cfgs") == {"a": 1, "b": 2}
    finally:
        await close(store)


@pytest.mark.parametrize("place", KINDS, indirect=True)
async def test_a_stale_view_writes_on_top_of_newer_changes(place: Place) -> None:
    """The stale child: a view read before another writer's change adds its own on top, and then shows both."""
    store = open_store(place)
    try:
        first, second = AsyncKVMapping(store, "cfgs"), AsyncKVMapping(store, "cfgs")
        await first.set("cfg", {"inner": {}})
        if True:  # ASYNC
            async with first.edit("cfg") as child:
                inner = child["inner"]
                async with second.edit("cfg") as other:
                    other["x"] = 1
                    other["inner"]["x"] = 1
                child["y"] = 2
                inner["y"] = 2
        else:
            child = first["cfg"]
            inner = child["inner"]
            second["cfg"]["x"] = 1
            second["cfg"]["inner"]["x"] = 1
            child["y"] = 2
            inner["y"] = 2
        expected: dict[str, Any] = {"inner": {"x": 1, "y": 2}, "x": 1, "y": 2}
        assert child == expected
        assert inner == expected["inner"]
        assert await second.get("cfg") == expected
        assert await store.get("cfg", collection="cfgs") == expected
    finally:
        await close(store)


if __name__ == "__main__":
    kind, location, table, collection, index, rounds, start_dir = sys.argv[1:]
    _run_worker(Place(kind, location, table), collection, int(index), int(rounds), Path(start_dir))

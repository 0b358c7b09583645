"""A cold key called by 8 processes at once is computed once: on Redis and on a disk store, the first
caller's lock entry makes the others wait for its result.

Usage as a worker: test_cached_processes.py KIND LOCATION CALLS_FILE START_DIR INDEX
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from key_value.aio.cache import cached
from key_value.aio.protocols.key_value import AsyncKeyValue

if TYPE_CHECKING:  # the fixture's type; a worker runs without the test tree on its path
    from testing.servers._resp import RespServer

WORKERS = 8
#: Seconds the computation takes: long enough for every worker to arrive while it runs.
WORK = 0.5
START_TIMEOUT = 60.0
RUN_TIMEOUT = 120.0


def open_store(kind: str, location: str) -> AsyncKeyValue:
    if kind == "redis":
        from key_value.aio.stores.redis import RedisStore  # noqa: PLC0415

        return RedisStore(url=location)
    from key_value.aio.stores.disk import DiskStore  # noqa: PLC0415

    return DiskStore(directory=location)


async def work(kind: str, location: str, calls_file: Path, start_dir: Path, index: int) -> dict[str, Any]:
    store = open_store(kind, location)

    @cached(store, collection="stampede", lock_timeout=60)
    async def report(day: str) -> dict[str, Any]:
        with calls_file.open("a") as calls:  # one line per call, from whichever process made it
            calls.write(f"{os.getpid()}\n")
        await _pause(WORK)
        return {"day": day, "computed_by": os.getpid()}

    await store.get("warm-up", collection="stampede")  # connect before the start, so the calls overlap
    (start_dir / f"ready-{index}").touch()
    deadline = time.monotonic() + START_TIMEOUT
    while not (start_dir / "go").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("no start signal")
        await _pause(0.002)
    result = await report("2026-12-07")
    closer = getattr(store, "close", None)
    if closer is not None:
        await closer()
    return result


if True:  # ASYNC
    import asyncio

    async def _pause(seconds: float) -> None:
        await asyncio.sleep(seconds)

    def _run_worker(kind: str, location: str, calls_file: Path, start_dir: Path, index: int) -> dict[str, Any]:
        return asyncio.run(work(kind, location, calls_file, start_dir, index))

else:

    def _pause(seconds: float) -> None:
        time.sleep(seconds)

    def _run_worker(kind: str, location: str, calls_file: Path, start_dir: Path, index: int) -> dict[str, Any]:
        return work(kind, location, calls_file, start_dir, index)


@pytest.mark.parametrize("kind", ["redis", "disk"])
def test_processes_on_a_cold_key_compute_it_once(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if kind == "redis":
        server: RespServer = request.getfixturevalue("redis_server")
        server.flush()
        location = server.url
    else:
        location = str(tmp_path / "disk")
    calls_file = tmp_path / "calls"
    calls_file.touch()
    start_dir = tmp_path / "start"
    start_dir.mkdir()
    commands = [
        [sys.executable, __file__, kind, location, str(calls_file), str(start_dir), str(index)]
        for index in range(WORKERS)
    ]
    from ..support.processes import run_together  # noqa: PLC0415 - the worker runs this file as a script

    outputs = run_together(commands, start_dir, start_timeout=START_TIMEOUT, run_timeout=RUN_TIMEOUT)
    results: list[dict[str, Any]] = [json.loads(output) for output in outputs]
    callers = calls_file.read_text().split()
    assert len(callers) == 1, f"computed {len(callers)} times, by {callers}"
    assert all(result == {"day": "2026-12-07", "computed_by": int(callers[0])} for result in results)


if __name__ == "__main__":
    kind_, location_, calls_, start_, index_ = sys.argv[1:]
    print(json.dumps(_run_worker(kind_, location_, Path(calls_), Path(start_), int(index_))))

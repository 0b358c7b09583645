"""Measure aiocache's `@cached` on its hit path; `bench.py` runs this with the python of its venv.

It reads `{"redis_port": int | null}` as JSON on stdin (the server already runs) and prints one JSON
document on stdout: results by backend and contender, versions, CPU wait. aiocache is untyped here (not
installed in our environment): it is held as `Any`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from importlib import metadata
from typing import Any, cast

from bench_cache_harness import MEMORY_BUDGET, REDIS_BUDGET, Contender, Work, bench_hits, results_to_json
from bench_harness import WaitMeter

#: The distributions whose versions the report names.
PEERS = ("aiocache", "redis")
LOOPBACK = "127.0.0.1"


def _contender(aiocache: Any, **options: Any) -> tuple[Contender, Any]:
    """A function cached by aiocache's `@cached(**options)`, and the cache it made (to close)."""
    work = Work()

    @aiocache.cached(**options)
    async def load(x: int) -> Any:
        return await work(x)

    return Contender(load, work), load.cache


async def measure(request: dict[str, Any]) -> dict[str, Any]:
    aiocache = importlib.import_module("aiocache")
    serializers = importlib.import_module("aiocache.serializers")
    meter = WaitMeter()
    results: dict[str, Any] = {}
    memory, memory_cache = _contender(aiocache, cache=aiocache.Cache.MEMORY, namespace="bench_aiocache")
    json_memory, json_cache = _contender(
        aiocache, cache=aiocache.Cache.MEMORY, serializer=serializers.JsonSerializer(), namespace="bench_aiocache"
    )
    try:
        found = await bench_hits({"aiocache": memory, "aiocache json": json_memory}, MEMORY_BUDGET)
        results["memory"] = results_to_json(found)
    finally:
        await memory_cache.close()
        await json_cache.close()
    redis_port = cast("int | None", request.get("redis_port"))
    if redis_port is not None:
        redis, redis_cache = _contender(
            aiocache, cache=aiocache.Cache.REDIS, endpoint=LOOPBACK, port=redis_port, namespace="bench_aiocache"
        )
        try:
            results["redis"] = results_to_json(await bench_hits({"aiocache": redis}, REDIS_BUDGET))
        finally:
            await redis_cache.close()
    installed = {dist.metadata["Name"].lower(): dist.version for dist in metadata.distributions()}
    return {
        "results": results,
        "versions": {name: installed[name] for name in PEERS if name in installed},
        "cpu_wait": meter.waiting(),
    }


def main() -> None:
    try:
        metadata.version("aiocache")
    except metadata.PackageNotFoundError:
        sys.exit("bench_cache_peers.py measures aiocache: run it through scripts/bench.py")
    request = cast("dict[str, Any]", json.loads(sys.stdin.read() or "{}"))
    print(json.dumps(asyncio.run(measure(request))))


if __name__ == "__main__":
    main()

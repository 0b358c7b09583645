"""Measure py-key-value-aio's stores; `bench.py` runs this with the python of that package's venv.

It reads what to measure as one JSON document on stdin (`{"memory": bool, "disk": bool, "multidisk": bool, "servers":
{backend: store settings}}`; the servers already run) and prints one JSON document on stdout. The imports name
`key_value.aio`, which in that venv is py-key-value-aio; in ours it is our package, whose API matches,
so this file type-checks here too.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, cast

from bench_harness import (
    DISK_BUDGET,
    MEMORY_BUDGET,
    SERVER_OPERATIONS,
    WaitMeter,
    bench_async,
    make_store,
    opened,
    results_to_json,
    server_budget,
)

from key_value.aio.stores.disk import DiskStore, MultiDiskStore
from key_value.aio.stores.memory import MemoryStore

#: Client libraries whose versions the report names.
CLIENTS = ("diskcache", "redis", "valkey-glide", "aiomcache", "asyncpg", "aioboto3")


async def measure_servers(servers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each backend's results and CPU wait, or the error that stopped it (reported, not raised)."""
    measured: dict[str, Any] = {}
    for name, settings in servers.items():
        meter = WaitMeter()
        try:
            async with opened(make_store(name, settings)) as store:
                results = await bench_async(store, server_budget(name), SERVER_OPERATIONS)
        except Exception as error:  # one failing store must not lose the others' numbers
            measured[name] = {"error": f"{type(error).__name__}: {error}"}
            continue
        measured[name] = {"results": results_to_json(results), "cpu_wait": meter.waiting()}
    return measured


async def measure(request: dict[str, Any]) -> dict[str, Any]:
    installed = {dist.metadata["Name"].lower(): dist.version for dist in metadata.distributions()}
    versions = {"py-key-value-aio": metadata.version("py-key-value-aio")}
    versions |= {client: installed[client] for client in CLIENTS if client in installed}
    document: dict[str, Any] = {"versions": versions}
    meter = WaitMeter()
    if request.get("memory", True):
        document["memory"] = results_to_json(await bench_async(MemoryStore(), MEMORY_BUDGET))
    if request.get("disk", True):
        with tempfile.TemporaryDirectory(prefix="bench-upstream-") as directory:
            async with DiskStore(directory=directory) as store:
                document["disk"] = results_to_json(await bench_async(store, DISK_BUDGET))
    if request.get("multidisk", True):
        with tempfile.TemporaryDirectory(prefix="bench-upstream-") as directory:
            async with MultiDiskStore(base_directory=Path(directory)) as store:
                document["multidisk"] = results_to_json(await bench_async(store, DISK_BUDGET))
    document["cpu_wait"] = meter.waiting()
    document["servers"] = await measure_servers(cast("dict[str, dict[str, Any]]", request.get("servers", {})))
    return document


def main() -> None:
    try:
        metadata.version("py-key-value-aio")
    except metadata.PackageNotFoundError:
        sys.exit("bench_upstream.py measures py-key-value-aio: run it through scripts/bench.py")
    request = cast("dict[str, Any]", json.loads(sys.stdin.read() or "{}"))
    print(json.dumps(asyncio.run(measure(request))))


if __name__ == "__main__":
    main()

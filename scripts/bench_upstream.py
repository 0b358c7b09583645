"""Measure py-key-value-aio's MemoryStore and DiskStore; `bench.py` runs this with the python of that package's venv.

It prints one JSON document on stdout. The imports name `key_value.aio`, which in that venv is
py-key-value-aio; in ours it is our package, whose API matches, so this file type-checks here too.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from importlib import metadata
from typing import Any

from bench_harness import DISK_BUDGET, MEMORY_BUDGET, WaitMeter, bench_async, results_to_json

from key_value.aio.stores.disk import DiskStore
from key_value.aio.stores.memory import MemoryStore


async def measure() -> dict[str, Any]:
    meter = WaitMeter()
    memory = await bench_async(MemoryStore(), MEMORY_BUDGET)
    with tempfile.TemporaryDirectory(prefix="bench-upstream-") as directory:
        async with DiskStore(directory=directory) as store:
            disk = await bench_async(store, DISK_BUDGET)
    return {
        "py-key-value-aio": metadata.version("py-key-value-aio"),
        "diskcache": metadata.version("diskcache"),
        "memory": results_to_json(memory),
        "disk": results_to_json(disk),
        "cpu_wait": meter.waiting(),
    }


def main() -> None:
    try:
        metadata.version("py-key-value-aio")
    except metadata.PackageNotFoundError:
        sys.exit("bench_upstream.py measures py-key-value-aio: run it through scripts/bench.py")
    print(json.dumps(asyncio.run(measure())))


if __name__ == "__main__":
    main()

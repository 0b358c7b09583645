"""Measure py-key-value-aio's FileTreeStore and persidict's `FileDirDict`; `bench_filetree.py` runs this with the
python of their venv.

It reads `{}` as JSON on stdin (nothing to choose yet) and prints one JSON document on stdout: results by
contender, versions, CPU wait. The FileTreeStore import names `key_value.aio`, which in that venv is
py-key-value-aio; in ours it is our package, whose constructor matches, so this file type-checks here too.
persidict is untyped here (not installed in our environment): it is held as `Any`. `BUDGET`, `OPERATIONS` and
the contenders' labels are shared with `bench_filetree.py`, so both processes measure alike.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import tempfile
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, cast

from bench_harness import OPERATIONS, WaitMeter, bench_interleaved_async, budget, opened, results_to_json

from key_value.aio.stores.filetree import FileTreeStore

#: Per operation and process: the slowest contender's timed calls take about `seconds` in all. Writes fsync
#: (a put costs about a millisecond here, a 100-key `put_many` up to a tenth of a second), so the bulk calls
#: are held to 20-50 (2-5 a round) and the warm-up is short.
BUDGET = budget(0.5, 50, 5_000, bulk_calls=(20, 50), warmup=(50, 3))
#: The rows: every contender does them all (persidict's bulk calls are loops over its keys).
ROWS = OPERATIONS
UPSTREAM = "py-key-value-aio"
PERSIDICT = "persidict"
#: The distributions whose versions the report names.
PEERS = ("py-key-value-aio", "aiofile", "persidict", "jsonpickle")


class DictStore:
    """persidict's `FileDirDict` behind the measured store methods, used as a dict: `d[k] = v`, `d[k]` and
    `del d[k]`; the bulk calls loop over their keys (a `MutableMapping` has no bulk read, and its `update`
    is the same loop). Each method runs the dict's blocking file work on the loop, as a sync caller would."""

    def __init__(self, d: Any) -> None:
        self._d = d

    def _get(self, key: str) -> Mapping[str, Any] | None:
        try:
            return cast("Mapping[str, Any]", self._d[key])
        except KeyError:
            return None

    async def get(self, key: str) -> Mapping[str, Any] | None:
        return self._get(key)

    async def put(self, key: str, value: Mapping[str, Any]) -> None:
        self._d[key] = value

    async def get_many(self, keys: Sequence[str]) -> Sequence[Mapping[str, Any] | None]:
        return [self._get(key) for key in keys]

    async def put_many(self, keys: Sequence[str], values: Sequence[Mapping[str, Any]]) -> None:
        d = self._d
        for key, value in zip(keys, values, strict=True):
            d[key] = value

    async def delete(self, key: str) -> bool:
        try:
            del self._d[key]
        except KeyError:
            return False
        return True


async def measure(request: dict[str, Any]) -> dict[str, Any]:
    del request  # nothing to choose yet: both contenders, every row
    persidict = importlib.import_module("persidict")
    meter = WaitMeter()
    with tempfile.TemporaryDirectory(prefix="bench-filetree-peers-") as directory:
        root = Path(directory)
        # py-key-value-aio's defaults: no sanitization (the benchmark's keys are plain file names already),
        # its collection files (`<collection>-info.json`) in the data directory.
        async with opened(FileTreeStore(data_directory=root / "upstream")) as upstream:
            # `json`: persidict's text format (jsonpickle), the counterpart of the JSON files of the others.
            d = persidict.FileDirDict(base_dir=str(root / "filedirdict"), serialization_format="json")
            results = await bench_interleaved_async({UPSTREAM: upstream, PERSIDICT: DictStore(d)}, BUDGET, ROWS)
    installed = {dist.metadata["Name"].lower(): dist.version for dist in metadata.distributions()}
    return {
        "results": {label: results_to_json(stats) for label, stats in results.items()},
        "versions": {name: installed[name] for name in PEERS if name in installed},
        "cpu_wait": meter.waiting(),
    }


def main() -> None:
    try:
        metadata.version("py-key-value-aio")
        metadata.version("persidict")
    except metadata.PackageNotFoundError:
        sys.exit("bench_filetree_peers.py measures py-key-value-aio and persidict: run it through bench_filetree.py")
    request = cast("dict[str, Any]", json.loads(sys.stdin.read() or "{}"))
    print(json.dumps(asyncio.run(measure(request))))


if __name__ == "__main__":
    main()

"""Measure the other persistent dicts (kv-dict, persidict); `bench.py` runs this with the python of their venv.

It reads `{"redis_port": int | null}` as JSON on stdin (the server already runs) and prints one JSON
document on stdout: results and round trips by contender, versions, CPU wait. kv-dict and persidict are
untyped here (not installed in our environment): they are held as `Any`.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
import typing
from collections.abc import Callable, Generator
from contextlib import ExitStack, contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, cast

from bench_dict_harness import (
    Contender,
    Dict,
    bench_dicts,
    count_round_trips,
    counting,
    read_modify_write,
    results_to_json,
    write_through,
)
from bench_harness import WaitMeter

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # `testing` lives at the repository root, next to `scripts`

#: The distributions whose versions the report names.
PEERS = ("kv-dict", "persidict", "redis")
#: kv-dict's backend methods, counted as its calls (its sync API runs each on a loop thread).
KV_DICT_CALLS = ("get", "set", "delete", "list_keys")


def _import_kv_dict() -> Any:
    """kv-dict 0.1.7 imports `typing.override` (Python 3.12) while declaring Python >= 3.11: on 3.11 give
    `typing` the decorator from typing_extensions first (it only marks the method)."""
    if not hasattr(typing, "override"):
        import typing_extensions  # noqa: PLC0415

        typing.override = typing_extensions.override  # pyright: ignore[reportAttributeAccessIssue]
    return importlib.import_module("kv_dict")


@contextmanager
def kv_dict_mapping(kv_dict: Any, backend: Any) -> Generator[Dict]:
    mapping = kv_dict.RemoteKVMapping(backend, entry_point="bench")
    try:
        yield cast("Dict", mapping)
    finally:
        mapping.close()


def measure(request: dict[str, Any]) -> dict[str, Any]:
    kv_dict = _import_kv_dict()
    persidict = importlib.import_module("persidict")
    meter = WaitMeter()
    redis_port = cast("int | None", request.get("redis_port"))
    with ExitStack() as stack:
        directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-peers-"))
        memory_backend = kv_dict.InMemoryAsyncBackend()

        def counted_memory() -> tuple[Dict, Callable[[], int]]:
            count = counting(memory_backend, KV_DICT_CALLS)
            return stack.enter_context(kv_dict_mapping(kv_dict, memory_backend)), count

        contenders = {
            "kv-dict memory": Contender(
                stack.enter_context(kv_dict_mapping(kv_dict, memory_backend)), write_through, counted_memory
            ),
            "persidict LocalDict": Contender(persidict.LocalDict(serialization_format="json"), read_modify_write),
            "persidict FileDirDict": Contender(
                persidict.FileDirDict(base_dir=str(Path(directory) / "filedirdict"), serialization_format="json"),
                read_modify_write,
            ),
        }
        if redis_port is not None:
            from testing.servers._round_trips import RoundTripCounter  # noqa: PLC0415

            def counted_redis() -> tuple[Dict, Callable[[], int]]:
                proxy = stack.enter_context(RoundTripCounter(redis_port))
                backend = kv_dict.RedisBackend(f"redis://127.0.0.1:{proxy.port}/0")
                return stack.enter_context(kv_dict_mapping(kv_dict, backend)), lambda: proxy.requests

            backend = kv_dict.RedisBackend(f"redis://127.0.0.1:{redis_port}/0")
            contenders["kv-dict Redis"] = Contender(
                stack.enter_context(kv_dict_mapping(kv_dict, backend)), write_through, counted_redis
            )
        results = bench_dicts(contenders)
        round_trips = {label: count_round_trips(contender) for label, contender in contenders.items()}
    # kv-dict's keys stay on the Redis server: `bench.py` empties it before measuring ours (kv-dict's
    # `clear()` lists the whole keyspace once per key).
    installed = {dist.metadata["Name"].lower(): dist.version for dist in metadata.distributions()}
    return {
        "results": {label: results_to_json(stats) for label, stats in results.items()},
        "round_trips": round_trips,
        "versions": {name: installed[name] for name in PEERS if name in installed},
        "cpu_wait": meter.waiting(),
    }


def main() -> None:
    try:
        metadata.version("persidict")
    except metadata.PackageNotFoundError:
        sys.exit("bench_dict_peers.py measures kv-dict and persidict: run it through scripts/bench.py")
    request = cast("dict[str, Any]", json.loads(sys.stdin.read() or "{}"))
    print(json.dumps(measure(request)))


if __name__ == "__main__":
    main()

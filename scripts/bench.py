"""`make bench`: our MemoryStore and DiskStore against py-key-value-aio's and against the raw floor.

py-key-value-aio is installed in its own venv (`.bench/upstream-venv`, same interpreter) and measured
there by `bench_upstream.py`; every store goes through the same loops in `bench_harness.py`. The
markdown report goes to stdout and to `--output`; progress goes to stderr. Numbers are shown, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple, Protocol, cast

import diskcache
from bench_harness import (
    BATCH,
    BULK,
    DISK_BUDGET,
    MEMORY_BUDGET,
    OPERATIONS,
    VALUE_BYTES,
    Results,
    WaitMeter,
    bench_async,
    bench_sync,
    results_from_json,
)

from key_value.aio.stores.disk import DiskStore
from key_value.aio.stores.memory import MemoryStore
from key_value.sync.stores.memory import MemoryStore as SyncMemoryStore

ROOT = Path(__file__).resolve().parents[1]
UPSTREAM_VENV = ROOT / ".bench" / "upstream-venv"
#: The newest py-key-value-aio release when this was written; `memory` and `disk` are its extras for these stores.
UPSTREAM_REQUIREMENT = "py-key-value-aio[memory,disk]==0.5.0"
#: The issue's targets for MemoryStore with a ~100-byte value.
TARGET_P50_US = 5.0
TARGET_SPEEDUP = 15.0
#: Above this share of wall time spent waiting for a CPU while measuring, other processes disturbed the run.
QUIET_CPU_WAIT = 0.1


class JsonDict:
    """The memory floor: a dict of JSON strings, `json.dumps` on put and `json.loads` on get, nothing else."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}

    async def get(self, key: str) -> dict[str, Any] | None:
        text = self._data.get(key)
        return None if text is None else json.loads(text)

    async def put(self, key: str, value: Mapping[str, Any]) -> None:
        self._data[key] = json.dumps(value)

    async def get_many(self, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        texts = map(self._data.get, keys)
        return [None if text is None else json.loads(text) for text in texts]

    async def put_many(self, keys: Sequence[str], values: Sequence[Mapping[str, Any]]) -> None:
        self._data.update(zip(keys, map(json.dumps, values), strict=True))

    async def delete(self, key: str) -> bool:
        return self._data.pop(key, None) is not None


class DiskCacheAPI(Protocol):
    """The typed part of `diskcache.Cache` used here (diskcache ships no annotations)."""

    def get(self, key: str) -> object: ...
    def set(self, key: str, value: str) -> bool: ...
    def delete(self, key: str) -> bool: ...
    def transact(self) -> AbstractContextManager[object]: ...


class JsonDiskCache:
    """The disk floor: `diskcache.Cache` holding JSON strings, called directly; bulk calls in one transaction."""

    def __init__(self, cache: DiskCacheAPI) -> None:
        self._cache = cache

    def _load(self, key: str) -> dict[str, Any] | None:
        text = cast("str | None", self._cache.get(key))
        return None if text is None else json.loads(text)

    async def get(self, key: str) -> dict[str, Any] | None:
        return self._load(key)

    async def put(self, key: str, value: Mapping[str, Any]) -> None:
        self._cache.set(key, json.dumps(value))

    async def get_many(self, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        with self._cache.transact():
            return [self._load(key) for key in keys]

    async def put_many(self, keys: Sequence[str], values: Sequence[Mapping[str, Any]]) -> None:
        with self._cache.transact():
            for key, value in zip(keys, values, strict=True):
                self._cache.set(key, json.dumps(value))

    async def delete(self, key: str) -> bool:
        return self._cache.delete(key)


class Measured(NamedTuple):
    memory: dict[str, Results]  # by contender: ours, upstream, raw, sync
    disk: dict[str, Results]  # ours, upstream, raw
    versions: dict[str, str]
    cpu_wait: dict[str, float]  # by measuring process: the share of its wall time spent waiting for a CPU


# -- measuring --------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_upstream() -> dict[str, Any]:
    """Install py-key-value-aio in its own venv (once) and run the worker there; return its JSON."""
    uv = os.environ.get("UV", "uv")
    python = UPSTREAM_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(UPSTREAM_VENV)], check=True)
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), UPSTREAM_REQUIREMENT], check=True)
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    worker = Path(__file__).with_name("bench_upstream.py")
    done = subprocess.run([str(python), str(worker)], check=True, stdout=subprocess.PIPE, text=True, env=env)
    return cast("dict[str, Any]", json.loads(done.stdout.splitlines()[-1]))


async def measure_ours() -> tuple[dict[str, Results], dict[str, Results]]:
    log("memory: ours")
    memory = {"ours": await bench_async(MemoryStore(), MEMORY_BUDGET)}
    log("memory: raw floor")
    memory["raw"] = await bench_async(JsonDict(), MEMORY_BUDGET)
    log("memory: sync twin")
    memory["sync"] = bench_sync(SyncMemoryStore(), MEMORY_BUDGET)
    with tempfile.TemporaryDirectory(prefix="bench-ours-") as directory:
        log("disk: ours")
        async with DiskStore(directory=directory) as store:
            disk = {"ours": await bench_async(store, DISK_BUDGET)}
    with tempfile.TemporaryDirectory(prefix="bench-raw-") as directory:
        log("disk: raw floor")
        cache = diskcache.Cache(directory, eviction_policy="none")  # no culling work on writes: the floor
        try:
            disk["raw"] = await bench_async(JsonDiskCache(cache), DISK_BUDGET)
        finally:
            cache.close()
    return memory, disk


def measure() -> Measured:
    log(f"upstream: {UPSTREAM_REQUIREMENT} in {UPSTREAM_VENV.relative_to(ROOT)}")
    upstream = run_upstream()
    meter = WaitMeter()
    memory, disk = asyncio.run(measure_ours())
    cpu_wait = {"ours": meter.waiting(), "py-key-value-aio worker": cast("float", upstream["cpu_wait"])}
    memory["upstream"] = results_from_json(upstream["memory"])
    disk["upstream"] = results_from_json(upstream["disk"])
    versions = {
        "key-value-aio": metadata.version("key-value-aio"),
        "py-key-value-aio": upstream["py-key-value-aio"],
        "diskcache": metadata.version("diskcache"),
        "diskcache (upstream venv)": upstream["diskcache"],
    }
    return Measured(memory, disk, versions, cpu_wait)


# -- the report -------------------------------------------------------------------------------------


def rate(value: float) -> str:
    return f"{value:,.0f}"


def micros(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def ratio(value: float) -> str:
    return f"{value:.1f}x" if value >= 1 else f"{value:.2f}x"


def label(operation: str) -> str:
    return f"{operation} ({BATCH} keys)" if operation in BULK else operation


def comparison_table(contenders: Mapping[str, Results]) -> list[str]:
    """One row per operation: ours, upstream and raw (throughput, p50, p99), then the two throughput ratios."""
    names = ("ours", "upstream", "raw")
    header = ["operation"]
    for name in names:
        header += [f"{name} ops/s", f"{name} p50 µs", f"{name} p99 µs"]
    header += ["ours/upstream throughput", "ours/raw throughput"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" + "--:|" * (len(header) - 1)]
    for operation in OPERATIONS:
        stats = [contenders[name][operation] for name in names]
        cells = [label(operation)]
        for one in stats:
            cells += [rate(one.per_s), micros(one.p50_us), micros(one.p99_us)]
        ours, upstream, raw = stats
        cells += [ratio(ours.per_s / upstream.per_s), ratio(ours.per_s / raw.per_s)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def sync_table(results: Results) -> list[str]:
    lines = ["| operation | ops/s | p50 µs | p99 µs |", "|---|--:|--:|--:|"]
    for operation in OPERATIONS:
        one = results[operation]
        lines.append(f"| {label(operation)} | {rate(one.per_s)} | {micros(one.p50_us)} | {micros(one.p99_us)} |")
    return lines


def targets_line(ours: Results, upstream: Results, *, quiet: bool) -> str:
    """The issue's MemoryStore targets, stated as met or not met with the numbers; not judged on a busy machine."""
    checks: list[tuple[str, bool, str]] = []
    for operation in ("get", "put"):
        p50 = ours[operation].p50_us
        checks.append((f"p50 {operation} ≤ {TARGET_P50_US:g} µs", p50 <= TARGET_P50_US, f"{p50:.2f} µs"))
    for operation in ("get", "put"):
        speedup = ours[operation].per_s / upstream[operation].per_s
        text = f"{operation} throughput ≥ {TARGET_SPEEDUP:g}x py-key-value-aio"
        checks.append((text, speedup >= TARGET_SPEEDUP, f"{speedup:.1f}x"))
    if not quiet:
        parts = [f"{text} ({number})" for text, _, number in checks]
        return "**Targets** (MemoryStore, ~100-byte value), not judged on a busy machine: " + "; ".join(parts) + "."
    parts = [f"{text}: {'met' if ok else 'NOT met'} ({number})" for text, ok, number in checks]
    return "**Targets** (MemoryStore, ~100-byte value): " + "; ".join(parts) + "."


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def is_quiet(cpu_wait: Mapping[str, float]) -> bool:
    """True when no measuring process lost much of its time to other processes."""
    return max(cpu_wait.values()) <= QUIET_CPU_WAIT


def busy_warning(cpu_wait: Mapping[str, float]) -> list[str]:
    """A line saying the numbers are suspect when other processes took the CPU from a measuring process."""
    if is_quiet(cpu_wait):
        return []
    return [
        "",
        f"**The machine was busy**: a measuring process waited for a CPU more than {QUIET_CPU_WAIT:.0%} of its"
        " time, so the numbers, and above all the ratios, are unreliable; rerun `make bench` on a quiet machine.",
    ]


def render(measured: Measured) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    python = f"{platform.python_implementation()} {platform.python_version()}"
    versions = ", ".join(f"{name} {version}" for name, version in measured.versions.items())
    waits = ", ".join(f"{name} {wait:.0%}" for name, wait in measured.cpu_wait.items())
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (`scripts/bench.py`) on {now}.",
        "",
        f"- Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu_model()}), {python};"
        f" share of time spent waiting for a CPU while measuring: {waits}.",
        f"- Versions: {versions}. py-key-value-aio runs in its own venv on the same interpreter.",
        f"- Method: one task, sequential awaits, the same {VALUE_BYTES}-byte JSON value everywhere. Each"
        " operation is warmed up, then every call is timed on its own with `time.perf_counter_ns` (p50, p99),"
        " and throughput is the best of three loops timed as a whole (the one least disturbed by other"
        f" processes). Bulk rows move {BATCH} keys a call: throughput is keys/s, latency is per call. Disk"
        " stores start in fresh temporary directories, removed afterwards.",
        "- Raw floor: the same work and nothing else, behind the same async methods. Memory: a dict of JSON"
        " strings (`json.dumps` on put, `json.loads` on get). Disk: `diskcache.Cache` (no eviction) with JSON strings,"
        " called directly on the event loop (bulk calls in one `transact()`).",
        *busy_warning(measured.cpu_wait),
        "",
        "## Memory",
        "",
        *comparison_table(measured.memory),
        "",
        targets_line(measured.memory["ours"], measured.memory["upstream"], quiet=is_quiet(measured.cpu_wait)),
        "",
        "Our sync twin's MemoryStore (`key_value.sync.stores.memory`), for reference:",
        "",
        *sync_table(measured.memory["sync"]),
        "",
        "## Disk",
        "",
        *comparison_table(measured.disk),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, help="also write the markdown report to this file")
    args = parser.parse_args()
    report = render(measure())
    print(report)
    output = cast("Path | None", args.output)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report, encoding="utf-8")
        log(f"wrote {output}")


if __name__ == "__main__":
    main()

"""`make bench`: our stores against py-key-value-aio's and against the raw floor (`--only NAME[,NAME]` for a subset).

MemoryStore and DiskStore, then the server-backed stores (Redis, Valkey, Memcached, PostgreSQL, NATS,
S3 and DynamoDB on moto), each server started once on a free loopback port by `bench_servers.py`; then the
"Persistent dict" section (`--only mapping`, `bench_persistent_dict.py`): our KVMapping against kv-dict and persidict;
then the "Caching function results" section (`--only cache`, `bench_cache.py`): the hit path of our `@cached`
against a hand-written wrapper and aiocache's `@cached`.
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
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple, Protocol, cast

import diskcache
from bench_cache import CacheSection
from bench_cache import measure as measure_cache
from bench_cache import section_lines as cache_section_lines
from bench_conditional import ConditionalStats, measure_conditional
from bench_conditional import table as conditional_table
from bench_disk_lag import Lag, lag_lines, measure_lag
from bench_filetree import FileTreeSection
from bench_filetree import measure as measure_filetree
from bench_filetree import section_lines as filetree_section_lines
from bench_harness import (
    BATCH,
    DISK_BUDGET,
    MEMORY_BUDGET,
    OPERATIONS,
    SERVER_OPERATIONS,
    SMOKE,
    VALUE,
    VALUE_BYTES,
    Results,
    WaitMeter,
    bench_async,
    bench_interleaved_async,
    bench_sync,
    label,
    make_store,
    micros,
    opened,
    rate,
    ratio,
    results_from_json,
    server_budget,
)
from bench_persistent_dict import DictSection
from bench_persistent_dict import measure as measure_dict
from bench_persistent_dict import section_lines as dict_section_lines
from bench_servers import (
    RAW_WORK,
    SERVER_BACKENDS,
    UPSTREAM_HAS,
    Endpoints,
    RawRedis,
    empty_databases,
    raw_client,
    start_servers,
    store_settings,
)
from bench_servers import (
    TITLES as SERVER_TITLES,
)

from key_value.aio.stores.disk import DiskStore, MultiDiskStore
from key_value.aio.stores.memory import MemoryStore
from key_value.sync.stores.memory import MemoryStore as SyncMemoryStore

ROOT = Path(__file__).resolve().parents[1]
UPSTREAM_VENV = ROOT / ".bench" / "upstream-venv"
#: The newest py-key-value-aio release when this was written; `memory` and `disk` are its extras for these stores.
UPSTREAM_REQUIREMENT = "py-key-value-aio[memory,disk,redis,valkey,memcached,postgresql,s3,dynamodb]==0.5.0"
#: What `--only` accepts, in the report's order.
CONDITIONAL_METHOD = (
    "Our stores only (py-key-value-aio has no conditional operations), on the same store and server as the"
    " tables above. `get_entry` vs `get` and `put_if` vs `put`: p50 of single calls on one key, the two taking"
    " turns in ten rounds; each `put_if` is a satisfied compare-and-swap expecting the ETag the previous one"
    " returned. `transform`: 8 tasks of one process incrementing one counter at once, increments/s and"
    " `put_if` attempts per increment (1.00 = no conflict). Raw floor (Redis): the same compare-and-set as one"
    " Lua script through redis-py (EVALSHA)."
)
#: `mapping` is the "Persistent dict" section (`bench_persistent_dict.py`), `cache` the "Caching function results"
#: section (`bench_cache.py`), both on the Redis server too.
SECTIONS = ("memory", "disk", "multidisk", "filetree", *SERVER_BACKENDS, "mapping", "cache")
#: The embedded stores' sections: measured in one process, py-key-value-aio's by `bench_upstream.py` too.
EMBEDDED = ("memory", "disk", "multidisk")
TITLES = {**SERVER_TITLES, "multidisk": "MultiDiskStore"}
#: The issue's targets for the disk stores' single operations: ours / py-key-value-aio and ours / raw diskcache.
TARGET_DISK_UPSTREAM = 1.5
TARGET_DISK_RAW = 0.7
DISK_SINGLE = ("put", "get", "delete")
#: The sections that are not a store's own table (both also measure on the Redis server).
PEER_SECTIONS = ("mapping", "cache")
#: Sections with a measuring module of their own (`bench_filetree.py`), not run through `measure_ours`.
OWN_SECTIONS = ("filetree",)
#: Client libraries of ours whose versions the report names, by backend.
CLIENTS = {
    "disk": ("diskcache",),
    "multidisk": ("diskcache",),
    "redis": ("redis",),
    "valkey": ("valkey-glide",),
    "memcached": ("aiomcache",),
    "postgresql": ("psycopg",),
    "nats": ("nats-py",),
    "s3": ("aioboto3", "moto"),
    "dynamodb": ("aioboto3", "moto"),
}
#: The same for py-key-value-aio's venv (its stores' clients).
UPSTREAM_CLIENTS = {
    "disk": ("diskcache",),
    "redis": ("redis",),
    "valkey": ("valkey-glide",),
    "memcached": ("aiomcache",),
    "postgresql": ("asyncpg",),
    "s3": ("aioboto3",),
    "dynamodb": ("aioboto3",),
}
#: The issue's targets for MemoryStore with a ~100-byte value.
TARGET_P50_US = 5.0
TARGET_SPEEDUP = 15.0
#: The issues' targets for the server-backed stores.
TARGET_RAW_P50_RATIO = 1.2  # Redis, Valkey, Memcached single-key ops: ours p50 / raw p50
TARGET_RAW_BULK_SHARE = 0.9  # their *_many of 100 keys: ours throughput / raw pipelined throughput
TARGET_UPSTREAM_SPEEDUP = {"postgresql": (10.0, ("get_many", "put_many")), "s3": (5.0, ("get_many", "delete_many"))}
TARGET_UPSTREAM_SPEEDUP["dynamodb"] = TARGET_UPSTREAM_SPEEDUP["s3"]
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


class Section(NamedTuple):
    """One backend's numbers by contender (ours, upstream, raw; memory also sync), and how busy the machine was."""

    results: dict[str, Results]
    cpu_wait: dict[str, float]  # by measuring process: the share of its wall time spent waiting for a CPU
    notes: list[str]  # e.g. a contender that failed
    conditional: ConditionalStats | None = None  # our store's conditional rows (`bench_conditional`)
    lag: dict[str, dict[str, Lag]] | None = None  # the disk section's loop lag (`bench_disk_lag`)


class Measured(NamedTuple):
    sections: dict[str, Section]  # by backend, in `SECTIONS` order
    skipped: dict[str, str]  # backend: why it has no table
    versions: dict[str, str]
    persistent_dict: DictSection | None = None
    cache: CacheSection | None = None
    filetree: FileTreeSection | None = None


# -- measuring --------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_upstream(selected: Sequence[str], servers: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Install py-key-value-aio in its own venv (once) and run the worker there; return its JSON."""
    uv = os.environ.get("UV", "uv")
    python = UPSTREAM_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(UPSTREAM_VENV)], check=True)
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), UPSTREAM_REQUIREMENT], check=True)
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    worker = Path(__file__).with_name("bench_upstream.py")
    request = json.dumps({**{name: name in selected for name in EMBEDDED}, "servers": servers})
    done = subprocess.run(
        [str(python), str(worker)], check=True, input=request, stdout=subprocess.PIPE, text=True, env=env
    )
    return cast("dict[str, Any]", json.loads(done.stdout.splitlines()[-1]))


async def measure_memory() -> Section:
    meter = WaitMeter()
    log("memory: ours")
    memory = {"ours": await bench_async(MemoryStore(), MEMORY_BUDGET)}
    log("memory: raw floor")
    memory["raw"] = await bench_async(JsonDict(), MEMORY_BUDGET)
    log("memory: sync twin")
    memory["sync"] = bench_sync(SyncMemoryStore(), MEMORY_BUDGET)
    log("memory: conditional operations")
    conditional = None if SMOKE else await measure_conditional(MemoryStore(), calls=20_000)
    return Section(memory, {"ours": meter.waiting()}, [], conditional)


async def measure_disk() -> Section:
    meter = WaitMeter()
    with (
        tempfile.TemporaryDirectory(prefix="bench-ours-") as ours,
        tempfile.TemporaryDirectory(prefix="bench-raw-") as floor,
    ):
        log("disk: ours and the raw floor, taking turns")
        async with DiskStore(directory=ours) as store, RawDisk(Path(floor)) as raw:
            disk = await bench_interleaved_async({"ours": store, "raw": raw}, DISK_BUDGET, OPERATIONS)
            log("disk: conditional operations")
            conditional = None if SMOKE else await measure_conditional(store, calls=2_000)
    contenders: dict[str, Callable[[Path], Any]] = {
        "ours DiskStore": lambda directory: DiskStore(directory=directory),
        "ours MultiDiskStore": lambda directory: MultiDiskStore(base_directory=directory),
        "raw diskcache on the loop": RawDisk,
    }
    lag = None if SMOKE else await measure_lag(contenders, log)
    return Section(disk, {"ours": meter.waiting()}, [], conditional, lag)


async def measure_multidisk() -> Section:
    """MultiDiskStore on one collection (one diskcache `Cache`), against the same raw floor as the disk section."""
    meter = WaitMeter()
    with (
        tempfile.TemporaryDirectory(prefix="bench-ours-") as ours,
        tempfile.TemporaryDirectory(prefix="bench-raw-") as floor,
    ):
        log("multidisk: ours and the raw floor, taking turns")
        async with MultiDiskStore(base_directory=ours) as store, RawDisk(Path(floor)) as raw:
            results = await bench_interleaved_async({"ours": store, "raw": raw}, DISK_BUDGET, OPERATIONS)
    return Section(results, {"ours": meter.waiting()}, [])


class RawDisk:
    """The raw floor (`JsonDiskCache` on a fresh `diskcache.Cache`, no eviction) as an async context manager."""

    def __init__(self, directory: Path) -> None:
        self._cache = diskcache.Cache(str(directory), eviction_policy="none")

    async def __aenter__(self) -> JsonDiskCache:
        return JsonDiskCache(self._cache)

    async def __aexit__(self, *exc_info: object) -> None:
        self._cache.close()


async def measure_server(name: str, endpoints: Endpoints) -> Section:
    """Ours and the raw client taking turns against the running server; a failure is noted, not fatal."""
    meter = WaitMeter()
    notes: list[str] = []
    results: dict[str, Results] = {}
    conditional: ConditionalStats | None = None
    log(f"{name}: ours and the raw client, taking turns")
    try:
        async with (
            opened(make_store(name, store_settings(name, endpoints, "ours"))) as store,
            raw_client(name, endpoints) as raw,
        ):
            results = await bench_interleaved_async({"ours": store, "raw": raw}, server_budget(name), SERVER_OPERATIONS)
            if not SMOKE:
                log(f"{name}: conditional operations")
                floor = await raw.put_if_floor(VALUE) if isinstance(raw, RawRedis) else None
                calls = 60 if name in ("s3", "dynamodb") else 2_000
                conditional = await measure_conditional(store, calls=calls, raw_put_if=floor)
    except Exception as error:  # reported in the table's place
        notes.append(f"measuring failed: {type(error).__name__}: {error}")
    return Section(results, {"ours": meter.waiting()}, notes, conditional)


async def measure_ours(selected: Sequence[str], endpoints: Endpoints) -> dict[str, Section]:
    sections: dict[str, Section] = {}
    for name in selected:
        if name == "memory":
            sections[name] = await measure_memory()
        elif name == "disk":
            sections[name] = await measure_disk()
        elif name == "multidisk":
            sections[name] = await measure_multidisk()
        else:
            sections[name] = await measure_server(name, endpoints)
    return sections


def add_upstream(sections: Mapping[str, Section], upstream: Mapping[str, Any]) -> None:
    """Merge the worker's numbers into `sections` (in place): results, CPU wait, or why they are missing."""
    for name in EMBEDDED:
        if name in sections:
            sections[name].results["upstream"] = results_from_json(upstream[name])
            sections[name].cpu_wait["py-key-value-aio worker"] = cast("float", upstream["cpu_wait"])
    servers = cast("dict[str, dict[str, Any]]", upstream.get("servers", {}))
    for name, section in sections.items():
        if name in EMBEDDED:
            continue
        if name not in UPSTREAM_HAS:
            section.notes.append("py-key-value-aio 0.5.0 has no store for this backend.")
        elif "error" in servers.get(name, {}):
            section.notes.append(f"py-key-value-aio's store failed: {servers[name]['error']}")
        elif name in servers:
            section.results["upstream"] = results_from_json(servers[name]["results"])
            section.cpu_wait["py-key-value-aio worker"] = cast("float", servers[name]["cpu_wait"])


def measure(selected: Sequence[str]) -> Measured:
    servers = [name for name in selected if name in SERVER_BACKENDS]
    if any(name in selected for name in PEER_SECTIONS) and "redis" not in servers:
        servers.append("redis")  # the persistent dicts' and the cached functions' Redis rows
    memory_disk = any(name in EMBEDDED for name in selected)
    with ExitStack() as stack:  # stops every started server, by pid, on the way out
        endpoints, skipped = start_servers(servers, stack, log)
        for name, why in skipped.items():
            log(f"{name}: skipped: {why}")
        running = [name for name in selected if name not in skipped and name not in (*PEER_SECTIONS, *OWN_SECTIONS)]
        for_upstream = {name: store_settings(name, endpoints, "upstream") for name in running if name in UPSTREAM_HAS}
        upstream: dict[str, Any] = {}
        if memory_disk or for_upstream:
            log(f"upstream: {UPSTREAM_REQUIREMENT} in {UPSTREAM_VENV.relative_to(ROOT)}")
            upstream = run_upstream(running, for_upstream)
            empty_databases(endpoints)
        sections = asyncio.run(measure_ours(running, endpoints))
        filetree = measure_filetree(log) if "filetree" in selected else None
        persistent_dict = None
        if "mapping" in selected:
            persistent_dict = measure_dict(endpoints.redis_port, lambda: empty_databases(endpoints), log)
        cache = None
        if "cache" in selected:
            cache = measure_cache(endpoints.redis_port, lambda: empty_databases(endpoints), log)
    add_upstream(sections, upstream)
    versions = {"key-value-aio": metadata.version("key-value-aio")}
    for name in running:
        for client in CLIENTS.get(name, ()):
            versions[client] = metadata.version(client)
    wanted = {"py-key-value-aio", *(client for name in running for client in UPSTREAM_CLIENTS.get(name, ()))}
    for client, version in cast("dict[str, str]", upstream.get("versions", {})).items():
        if client in wanted:
            versions[client if client == "py-key-value-aio" else f"{client} (upstream venv)"] = version
    return Measured(sections, skipped, versions, persistent_dict, cache, filetree)


# -- the report -------------------------------------------------------------------------------------


def comparison_table(
    contenders: Mapping[str, Results], operations: Sequence[str] = OPERATIONS, *, p50_ratio: bool = False
) -> list[str]:
    """One row per operation: ours, upstream and raw (throughput, p50, p99) where measured, then the ratios."""
    names = [name for name in ("ours", "upstream", "raw") if name in contenders]
    header = ["operation"]
    for name in names:
        header += [f"{name} ops/s", f"{name} p50 µs", f"{name} p99 µs"]
    others = [name for name in ("upstream", "raw") if name in contenders and "ours" in contenders]
    header += [f"ours/{name} throughput" for name in others]
    if p50_ratio and "raw" in others:
        header.append("ours/raw p50")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" + "--:|" * (len(header) - 1)]
    for operation in operations:
        cells = [label(operation)]
        for name in names:
            one = contenders[name][operation]
            cells += [rate(one.per_s), micros(one.p50_us), micros(one.p99_us)]
        if others:
            ours = contenders["ours"][operation]
            cells += [ratio(ours.per_s / contenders[name][operation].per_s) for name in others]
            if p50_ratio and "raw" in others:
                cells.append(f"{ours.p50_us / contenders['raw'][operation].p50_us:.2f}x")
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


def server_targets_line(name: str, section: Section) -> str:
    """The issues' targets for one server-backed store, met or not with the numbers; not judged on a busy machine."""
    results = section.results
    ours, raw, upstream = results.get("ours"), results.get("raw"), results.get("upstream")
    checks: list[tuple[str, bool, str]] = []
    missing = ""
    if name in ("redis", "valkey", "memcached"):
        if ours is None or raw is None:
            missing = "ours or the raw client was not measured"
        else:
            for operation in ("put", "get", "delete"):
                share = ours[operation].p50_us / raw[operation].p50_us
                text = f"{operation} p50 ≤ {TARGET_RAW_P50_RATIO:g}x raw"
                checks.append((text, share <= TARGET_RAW_P50_RATIO, f"{share:.2f}x"))
            for operation in ("get_many", "put_many"):
                share = ours[operation].per_s / raw[operation].per_s
                text = f"{operation} throughput ≥ {TARGET_RAW_BULK_SHARE:g}x raw"
                checks.append((text, share >= TARGET_RAW_BULK_SHARE, f"{share:.2f}x"))
    elif name in TARGET_UPSTREAM_SPEEDUP:
        speedup_target, operations = TARGET_UPSTREAM_SPEEDUP[name]
        if ours is None or upstream is None:
            missing = "ours or py-key-value-aio's store was not measured"
        else:
            for operation in operations:
                speedup = ours[operation].per_s / upstream[operation].per_s
                text = f"{operation} throughput ≥ {speedup_target:g}x py-key-value-aio"
                checks.append((text, speedup >= speedup_target, f"{speedup:.1f}x"))
    else:
        return f"**Targets** ({TITLES[name]}): none stated in the issues."
    if missing:
        return f"**Targets** ({TITLES[name]}): not judged, {missing}."
    if not is_quiet(section.cpu_wait):
        parts = [f"{text} ({number})" for text, _, number in checks]
        return (
            f"**Targets** ({TITLES[name]}, 100-key bulk calls), not judged on a busy machine: " + "; ".join(parts) + "."
        )
    parts = [f"{text}: {'met' if ok else 'NOT met'} ({number})" for text, ok, number in checks]
    return f"**Targets** ({TITLES[name]}, 100-key bulk calls): " + "; ".join(parts) + "."


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def is_quiet(cpu_wait: Mapping[str, float]) -> bool:
    """True when no measuring process lost much of its time to other processes (or none was measured)."""
    return not cpu_wait or max(cpu_wait.values()) <= QUIET_CPU_WAIT


def busy_warning(cpu_wait: Mapping[str, float], *, what: str = "`make bench`") -> list[str]:
    """A line saying the numbers are suspect when other processes took the CPU from a measuring process."""
    if is_quiet(cpu_wait):
        return []
    return [
        "",
        f"**The machine was busy**: a measuring process waited for a CPU more than {QUIET_CPU_WAIT:.0%} of its"
        f" time, so the numbers, and above all the ratios, are unreliable; rerun {what} on a quiet machine.",
    ]


def waits_text(section: Section) -> str:
    return ", ".join(f"{name} {wait:.0%}" for name, wait in section.cpu_wait.items())


def section_lines(name: str, section: Section) -> list[str]:
    """One backend's heading, busy warning, table and targets line."""
    lines = ["", f"## {TITLES.get(name, name.capitalize())}", ""]
    if name in SERVER_BACKENDS:
        lines += [f"Raw client: {RAW_WORK[name]}. CPU wait while measuring: {waits_text(section)}."]
    rerun = f"`make bench` (or `python scripts/bench.py --only {name}`)"
    lines += busy_warning(section.cpu_wait, what=rerun)
    lines += [f"- {note}" for note in section.notes]
    if section.results:
        operations = OPERATIONS if name in EMBEDDED else SERVER_OPERATIONS
        lines += ["", *comparison_table(section.results, operations, p50_ratio=name in SERVER_BACKENDS)]
    if name == "memory" and {"ours", "upstream"} <= section.results.keys():
        ours, upstream = section.results["ours"], section.results["upstream"]
        lines += ["", targets_line(ours, upstream, quiet=is_quiet(section.cpu_wait))]
    if name == "memory" and "sync" in section.results:
        lines += ["", "Our sync twin's MemoryStore (`key_value.sync.stores.memory`), for reference:", ""]
        lines += sync_table(section.results["sync"])
    if name in ("disk", "multidisk") and {"ours", "upstream", "raw"} <= section.results.keys():
        lines += ["", disk_targets_line(name, section.results, quiet=is_quiet(section.cpu_wait))]
    if section.lag is not None:
        lines += lag_lines(section.lag, quiet=is_quiet(section.cpu_wait))
    if name in SERVER_BACKENDS:
        lines += ["", server_targets_line(name, section)]
    return lines


def disk_targets_line(name: str, results: Mapping[str, Results], *, quiet: bool) -> str:
    """The issue's targets for the disk stores' single operations, met or not with the numbers."""
    parts: list[str] = []
    for operation in DISK_SINGLE:
        ours = results["ours"][operation].per_s
        upstream, raw = ours / results["upstream"][operation].per_s, ours / results["raw"][operation].per_s
        met = upstream >= TARGET_DISK_UPSTREAM and raw >= TARGET_DISK_RAW
        verdict = f"{'met' if met else 'NOT met'} " if quiet else ""
        parts.append(f"{operation} {verdict}({ratio(upstream)} py-key-value-aio, {ratio(raw)} raw)")
    goal = f"single ops ≥ {TARGET_DISK_UPSTREAM:g}x py-key-value-aio and ≥ {TARGET_DISK_RAW:g}x raw diskcache"
    busy = "" if quiet else ", not judged on a busy machine"
    return f"**Targets** ({TITLES.get(name, name.capitalize())}, {goal}{busy}): " + "; ".join(parts) + "."


def conditional_lines(sections: Mapping[str, Section]) -> list[str]:
    """The conditional segment's section: one row per store measured on it."""
    rows = {TITLES.get(name, name.capitalize()): s.conditional for name, s in sections.items() if s.conditional}
    if not rows:
        return []
    lines = ["", "## Conditional operations", "", *(CONDITIONAL_METHOD.splitlines()), ""]
    lines += conditional_table(rows)
    worst = max(rows.items(), key=lambda item: item[1].put_if_p50 / item[1].put_p50)
    ratio_text = f"{worst[1].put_if_p50 / worst[1].put_p50:.2f}x"
    met = "met" if worst[1].put_if_p50 <= 1.3 * worst[1].put_p50 else "not met"
    lines += [
        "",
        f"**Target**: a conditional write costs at most 1.3x a plain put: {met} (worst: {worst[0]}, {ratio_text}).",
    ]
    return lines


def render(measured: Measured) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    python = f"{platform.python_implementation()} {platform.python_version()}"
    versions = ", ".join(f"{name} {version}" for name, version in measured.versions.items())
    dict_waits = measured.persistent_dict.cpu_wait if measured.persistent_dict is not None else {}
    all_waits = [f"{name}: {waits_text(section)}" for name, section in measured.sections.items()]
    if dict_waits:
        all_waits.append("persistent dict: " + ", ".join(f"{who} {wait:.0%}" for who, wait in dict_waits.items()))
    filetree_waits = measured.filetree.cpu_wait if measured.filetree is not None else {}
    if filetree_waits:
        all_waits.append("filetree: " + ", ".join(f"{who} {wait:.0%}" for who, wait in filetree_waits.items()))
    cache_waits = measured.cache.cpu_wait if measured.cache is not None else {}
    if cache_waits:
        all_waits.append("cached functions: " + ", ".join(f"{who} {wait:.0%}" for who, wait in cache_waits.items()))
    waits = "; ".join(all_waits)
    every_wait = {f"{name} {who}": wait for name, s in measured.sections.items() for who, wait in s.cpu_wait.items()}
    every_wait |= {f"persistent dict {who}": wait for who, wait in dict_waits.items()}
    every_wait |= {f"cached functions {who}": wait for who, wait in cache_waits.items()}
    every_wait |= {f"filetree {who}": wait for who, wait in filetree_waits.items()}
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (`scripts/bench.py`) on {now}.",
        "",
        f"- Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu_model()}), {python};"
        f" share of time spent waiting for a CPU while measuring: {waits or 'nothing measured'}.",
        f"- Versions: {versions}. py-key-value-aio runs in its own venv on the same interpreter.",
        f"- Method: one task, sequential awaits, the same {VALUE_BYTES}-byte JSON value everywhere. Each"
        " operation is warmed up, then every call is timed on its own with `time.perf_counter_ns` (p50, p99),"
        " and throughput is the best of three loops timed as a whole (the one least disturbed by other"
        f" processes). Bulk rows move {BATCH} keys a call: throughput is keys/s, latency is per call. Disk"
        " stores start in fresh temporary directories, removed afterwards.",
        "- Raw floor: the same work and nothing else, behind the same async methods. Memory: a dict of JSON"
        " strings (`json.dumps` on put, `json.loads` on get). Disk: `diskcache.Cache` (no eviction) with JSON strings,"
        " called directly on the event loop (bulk calls in one `transact()`); ours and it take turns in ten rounds"
        " per operation, as ours and the raw client do on the servers (below).",
        "- Server-backed stores: each server is started once for the run on a free 127.0.0.1 port in a temporary"
        " directory (the test session's helpers in `testing/servers`), and stopped by pid at the end; ours,"
        " py-key-value-aio's and the raw client each use keys, a collection, table or bucket of their own. Ours"
        " and the raw client take turns in ten rounds per operation (who goes first alternates), so a drift of"
        " the machine or the server falls on both alike; p50/p99 pool all rounds, throughput is the best round."
        " py-key-value-aio runs in its own process, before them, and the Redis, Valkey and memcached servers"
        " are emptied between (so our native layout measures its steady state, not reading py-key-value's entries)."
        " Calls per operation: up to 2,000 single and"
        " 40-200 bulk ones on loopback servers, 10-60 single and 10 bulk ones on moto (S3, DynamoDB); servers"
        " are also measured on `delete_many`. Each section names its raw client.",
        *[f"- Skipped {TITLES.get(name, name)}: {why}." for name, why in measured.skipped.items()],
        *busy_warning(every_wait),
    ]
    for name, section in measured.sections.items():
        lines += section_lines(name, section)
    if measured.filetree is not None:
        lines += ["", *filetree_section_lines(measured.filetree)]
    lines += conditional_lines(measured.sections)
    if measured.persistent_dict is not None:
        quiet = is_quiet(dict_waits)
        rerun = "`make bench` (or `python scripts/bench.py --only mapping`)"
        lines += dict_section_lines(measured.persistent_dict, quiet=quiet, busy=busy_warning(dict_waits, what=rerun))
    if measured.cache is not None:
        rerun = "`make bench` (or `python scripts/bench.py --only cache`)"
        quiet = is_quiet(cache_waits)
        lines += cache_section_lines(measured.cache, quiet=quiet, busy=busy_warning(cache_waits, what=rerun))
    lines.append("")
    return "\n".join(lines)


def selection(text: str | None) -> list[str]:
    """`--only`'s comma-separated names, checked, in the report's order; all of them without `--only`."""
    if text is None:
        return list(SECTIONS)
    names = {name.strip().lower() for name in text.split(",") if name.strip()}
    unknown = sorted(names - set(SECTIONS))
    if unknown or not names:
        raise SystemExit(f"--only: unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(SECTIONS)}")
    return [name for name in SECTIONS if name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, help="also write the markdown report to this file")
    parser.add_argument("--only", metavar="NAME[,NAME]", help=f"measure only these: {', '.join(SECTIONS)}")
    args = parser.parse_args()
    report = render(measure(selection(cast("str | None", args.only))))
    print(report)
    output = cast("Path | None", args.output)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report, encoding="utf-8")
        log(f"wrote {output}")


if __name__ == "__main__":
    main()

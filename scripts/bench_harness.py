"""Timing loops shared by `bench.py` and `bench_upstream.py`, so every store is measured by the same code.

It imports nothing from `key_value`: the upstream worker runs it in py-key-value-aio's own venv. Each
operation is warmed up and sized to a time budget; then every call is timed on its own with
`perf_counter_ns` (p50, p99), and throughput is the best of three loops timed as a whole. Bulk
operations move `BATCH` keys a call.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, cast

#: The value every store writes: a small user record, about 100 bytes as JSON.
VALUE: dict[str, Any] = {
    "id": 1234567,
    "name": "Ada Lovelace",
    "email": "ada@example.org",
    "roles": ["admin", "dev"],
    "active": True,
}
VALUE_BYTES = len(json.dumps(VALUE, separators=(",", ":")))
BATCH = 100
OPERATIONS = ("put", "get", "get_many", "put_many", "delete")
#: Server-backed stores are also measured on `delete_many`, which some of the issues' targets name.
SERVER_OPERATIONS = (*OPERATIONS, "delete_many")
BULK = frozenset({"get_many", "put_many", "delete_many"})
_POOL = [f"key-{i:05d}" for i in range(1000)]  # keys that put/get cycle over, so a store does not grow
_BATCHES = [_POOL[i : i + BATCH] for i in range(0, len(_POOL), BATCH)]
_VALUES = [VALUE] * BATCH
_ROUNDS = 3
_INTERLEAVED_ROUNDS = 10


class AsyncStore(Protocol):
    """The part of the key-value protocol measured here (server stores also have `delete_many`, found by name)."""

    async def get(self, key: str) -> Mapping[str, Any] | None: ...
    async def put(self, key: str, value: Mapping[str, Any]) -> None: ...
    async def get_many(self, keys: Sequence[str]) -> Sequence[Mapping[str, Any] | None]: ...
    async def put_many(self, keys: Sequence[str], values: Sequence[Mapping[str, Any]]) -> None: ...
    async def delete(self, key: str) -> bool: ...


class SyncStore(Protocol):
    """The same, for the sync twin."""

    def get(self, key: str) -> Mapping[str, Any] | None: ...
    def put(self, key: str, value: Mapping[str, Any]) -> None: ...
    def get_many(self, keys: Sequence[str]) -> Sequence[Mapping[str, Any] | None]: ...
    def put_many(self, keys: Sequence[str], values: Sequence[Mapping[str, Any]]) -> None: ...
    def delete(self, key: str) -> bool: ...


@dataclass(frozen=True)
class Budget:
    """How long each timed phase of one operation should take, and bounds on its number of calls."""

    seconds: float
    min_calls: int
    max_calls: int
    #: Bounds for bulk operations, when they differ (slow servers); None: `min_calls`, `max_calls`.
    bulk_calls: tuple[int, int] | None = None
    #: Warm-up calls (single, bulk) before sizing an operation.
    warmup: tuple[int, int] = (500, 20)

    def calls(self, mean_ns: float, *, bulk: bool = False) -> int:
        low, high = self.bulk_calls if bulk and self.bulk_calls is not None else (self.min_calls, self.max_calls)
        return max(low, min(high, int(self.seconds * 1e9 / max(mean_ns, 1.0))))

    def warmup_calls(self, name: str) -> int:
        return self.warmup[1 if name in BULK else 0]


@dataclass(frozen=True)
class Stats:
    """One operation's numbers: throughput (operations/s, or keys/s for bulk ones) and per-call latency."""

    per_s: float
    p50_us: float
    p99_us: float


Results = dict[str, Stats]


class WaitMeter:
    """The share of wall-clock time since it was made that this process spent waiting for a CPU others held.

    On Linux that is the main thread's run-queue wait (`/proc/self/schedstat`); elsewhere all time off
    the CPU counts, I/O waits included. More than a little means the numbers are disturbed.
    """

    def __init__(self) -> None:
        self._start = _wall_and_wait()

    def waiting(self) -> float:
        (wall0, wait0), (wall1, wait1) = self._start, _wall_and_wait()
        return (wait1 - wait0) / (wall1 - wall0)


def _wall_and_wait() -> tuple[float, float]:
    wall = time.perf_counter()
    try:
        return wall, int(Path("/proc/self/schedstat").read_text().split()[1]) / 1e9
    except OSError:
        return wall, wall - time.process_time()


#: `make bench-smoke` sets KV_BENCH_SMOKE=1: every timed phase a tenth as long, for a quick look at the
#: ratios before a submission (noisier; never the report in docs/benchmarks.md).
SMOKE = os.environ.get("KV_BENCH_SMOKE") == "1"


def budget(seconds: float, min_calls: int, max_calls: int, **options: Any) -> Budget:
    """A `Budget`, its phases shortened under `make bench-smoke`."""
    if not SMOKE:
        return Budget(seconds=seconds, min_calls=min_calls, max_calls=max_calls, **options)
    warmup: tuple[int, int] = options.pop("warmup", (500, 20))
    smaller = (max(1, warmup[0] // 5), max(1, warmup[1] // 5))
    return Budget(
        seconds=seconds / 10, min_calls=max(1, min_calls // 5), max_calls=max_calls, warmup=smaller, **options
    )


#: Per timed phase of one operation; disk calls are slower, so they get fewer.
MEMORY_BUDGET = budget(1.0, 100, 200_000)
DISK_BUDGET = budget(0.5, 100, 20_000)
#: Servers on loopback (Redis, Valkey, Memcached, PostgreSQL, NATS): up to 2,000 single calls, 40-200 bulk ones.
SERVER_BUDGET = budget(1.0, 200, 2000, bulk_calls=(40, 200), warmup=(100, 10))
#: moto (S3, DynamoDB over HTTP) is slower still.
MOTO_BUDGET = budget(0.4, 15, 60, bulk_calls=(2, 4), warmup=(10, 1))


def results_to_json(results: Results) -> dict[str, dict[str, float]]:
    return {name: asdict(stats) for name, stats in results.items()}


def results_from_json(data: Mapping[str, Mapping[str, float]]) -> Results:
    return {name: Stats(**fields) for name, fields in data.items()}


def _arguments(name: str, calls: int) -> list[tuple[Any, ...]]:
    """The arguments of each call; delete gets distinct keys, which `_preload` writes first."""
    if name == "put":
        return [(_POOL[i % len(_POOL)], VALUE) for i in range(calls)]
    if name == "get":
        return [(_POOL[i % len(_POOL)],) for i in range(calls)]
    if name == "get_many":
        return [(_BATCHES[i % len(_BATCHES)],) for i in range(calls)]
    if name == "put_many":
        return [(_BATCHES[i % len(_BATCHES)], _VALUES) for i in range(calls)]
    if name == "delete_many":
        return [([f"dlm-{i:05d}-{j:03d}" for j in range(BATCH)],) for i in range(calls)]
    return [(f"del-{i:07d}",) for i in range(calls)]


def _preload(name: str, calls: int) -> list[list[str]]:
    """Keys that must exist before `calls` calls of `name`, in batches of `BATCH` (only those the calls read)."""
    if name == "get":
        return _BATCHES[: -(-min(calls, len(_POOL)) // BATCH)]
    if name == "get_many":
        return _BATCHES[: min(calls, len(_BATCHES))]
    if name == "delete":
        keys = [args[0] for args in _arguments(name, calls)]
        return [keys[i : i + BATCH] for i in range(0, len(keys), BATCH)]
    if name == "delete_many":
        return [args[0] for args in _arguments(name, calls)]
    return []


#: Operations that leave their preloaded keys in place, so they are written once per operation.
_READS = frozenset({"get", "get_many"})


def _stats(name: str, samples_ns: list[int], elapsed_ns: int, calls: int) -> Stats:
    keys = BATCH if name in BULK else 1
    cuts = statistics.quantiles(samples_ns, n=100)
    return Stats(per_s=calls * keys * 1e9 / elapsed_ns, p50_us=cuts[49] / 1e3, p99_us=cuts[98] / 1e3)


def _round_calls(calls: int) -> int:
    """Throughput is the best of `_ROUNDS` loops sharing one budget: the least disturbed by other processes."""
    return max(1, calls // _ROUNDS)


# -- server-backed stores, built by name (ours here, py-key-value-aio's in its venv) -----------------

#: The store class of each backend: the same module and name in our package and in py-key-value-aio.
STORE_CLASSES = {
    "redis": ("key_value.aio.stores.redis", "RedisStore"),
    "valkey": ("key_value.aio.stores.valkey", "ValkeyStore"),
    "memcached": ("key_value.aio.stores.memcached", "MemcachedStore"),
    "postgresql": ("key_value.aio.stores.postgresql", "PostgreSQLStore"),
    "nats": ("key_value.aio.stores.nats", "NATSStore"),
    "s3": ("key_value.aio.stores.s3", "S3Store"),
    "dynamodb": ("key_value.aio.stores.dynamodb", "DynamoDBStore"),
}


def server_budget(name: str) -> Budget:
    return MOTO_BUDGET if name in ("s3", "dynamodb") else SERVER_BUDGET


def make_store(name: str, settings: Mapping[str, Any]) -> Any:
    """`name`'s store class from whichever `key_value.aio` is installed (ours, or py-key-value-aio's in its venv)."""
    module, cls = STORE_CLASSES[name]
    return getattr(importlib.import_module(module), cls)(**settings)


@contextlib.asynccontextmanager
async def opened(store: Any) -> AsyncGenerator[AsyncStore]:
    """The store entered as an async context manager when it is one, else closed afterwards if it can be."""
    if hasattr(store, "__aenter__"):
        async with store as entered:
            yield entered
        return
    try:
        yield store
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            await close()


# -- async stores -----------------------------------------------------------------------------------


async def check_async(store: AsyncStore) -> None:
    """Fail loudly if the store does not round-trip the value (a benchmark of a broken store means nothing)."""
    await store.put("check", VALUE)
    if await store.get("check") != VALUE or not await store.delete("check") or await store.get("check") is not None:
        raise RuntimeError(f"{type(store).__name__} does not round-trip the benchmark value")


async def bench_async(store: AsyncStore, budget: Budget, operations: Sequence[str] = OPERATIONS) -> Results:
    await check_async(store)
    return {name: await _bench_one_async(store, name, budget) for name in operations}


async def _bench_one_async(store: AsyncStore, name: str, budget: Budget) -> Stats:
    method = cast("Callable[..., Awaitable[object]]", getattr(store, name))
    warmup = budget.warmup_calls(name)
    kept: set[str] = set()
    await _preload_async(store, name, warmup, kept)
    calls = budget.calls(await _loop_async(method, _arguments(name, warmup)) / warmup, bulk=name in BULK)
    await _preload_async(store, name, calls, kept)
    samples = await _latencies_async(method, _arguments(name, calls))
    arguments = _arguments(name, _round_calls(calls))
    elapsed: list[int] = []
    for _ in range(_ROUNDS):
        await _preload_async(store, name, len(arguments), kept)
        elapsed.append(await _loop_async(method, arguments))
    return _stats(name, samples, min(elapsed), len(arguments))


async def bench_interleaved_async(
    stores: Mapping[str, AsyncStore], budget: Budget, operations: Sequence[str] = OPERATIONS
) -> dict[str, Results]:
    """Several contenders against one server, taking turns in short rounds: a drift of the machine or the
    server (another process waking up, the server growing) then falls on all of them alike, which
    measuring one after the other cannot promise. Latencies pool every round's calls; throughput is the
    best round, each timed as a whole."""
    for store in stores.values():
        await check_async(store)
    results: dict[str, Results] = {label: {} for label in stores}
    for name in operations:
        methods = {
            label: cast("Callable[..., Awaitable[object]]", getattr(store, name)) for label, store in stores.items()
        }
        kept: dict[str, set[str]] = {label: set() for label in stores}
        warmup = budget.warmup_calls(name)
        slowest = 1.0
        for label, store in stores.items():
            await _preload_async(store, name, warmup, kept[label])
            slowest = max(slowest, await _loop_async(methods[label], _arguments(name, warmup)) / warmup)
        per_round = max(1, budget.calls(slowest, bulk=name in BULK) // _INTERLEAVED_ROUNDS)
        arguments = _arguments(name, per_round)
        samples: dict[str, list[int]] = {label: [] for label in stores}
        elapsed: dict[str, list[int]] = {label: [] for label in stores}
        order = list(stores)
        for _ in range(_INTERLEAVED_ROUNDS):
            for label in order:
                await _preload_async(stores[label], name, per_round, kept[label])
                started = time.perf_counter_ns()
                samples[label].extend(await _latencies_async(methods[label], arguments))
                elapsed[label].append(time.perf_counter_ns() - started)
            order.reverse()  # who goes first alternates
        for label in stores:
            results[label][name] = _stats(name, samples[label], min(elapsed[label]), per_round)
    return results


async def _preload_async(store: AsyncStore, name: str, calls: int, kept: set[str]) -> None:
    """Write the keys `calls` calls of `name` need; those a read already found written (`kept`) are not rewritten."""
    for keys in _preload(name, calls):
        if keys[0] not in kept:
            await store.put_many(keys, [VALUE] * len(keys))
            if name in _READS:
                kept.add(keys[0])
    gc.collect()


async def _latencies_async(method: Callable[..., Awaitable[object]], arguments: list[tuple[Any, ...]]) -> list[int]:
    clock = time.perf_counter_ns
    samples: list[int] = []
    for args in arguments:
        start = clock()
        await method(*args)
        samples.append(clock() - start)
    return samples


async def _loop_async(method: Callable[..., Awaitable[object]], arguments: list[tuple[Any, ...]]) -> int:
    start = time.perf_counter_ns()
    for args in arguments:
        await method(*args)
    return time.perf_counter_ns() - start


# -- sync stores (the same steps without await) -----------------------------------------------------


def bench_sync(store: SyncStore, budget: Budget) -> Results:
    store.put("check", VALUE)
    if store.get("check") != VALUE or not store.delete("check") or store.get("check") is not None:
        raise RuntimeError(f"{type(store).__name__} does not round-trip the benchmark value")
    return {name: _bench_one_sync(store, name, budget) for name in OPERATIONS}


def _bench_one_sync(store: SyncStore, name: str, budget: Budget) -> Stats:
    method = cast("Callable[..., object]", getattr(store, name))
    warmup = budget.warmup_calls(name)
    _preload_sync(store, name, warmup)
    calls = budget.calls(_loop_sync(method, _arguments(name, warmup)) / warmup, bulk=name in BULK)
    _preload_sync(store, name, calls)
    samples = _latencies_sync(method, _arguments(name, calls))
    arguments = _arguments(name, _round_calls(calls))
    elapsed: list[int] = []
    for _ in range(_ROUNDS):
        _preload_sync(store, name, len(arguments))
        elapsed.append(_loop_sync(method, arguments))
    return _stats(name, samples, min(elapsed), len(arguments))


def _preload_sync(store: SyncStore, name: str, calls: int) -> None:
    for keys in _preload(name, calls):
        store.put_many(keys, [VALUE] * len(keys))
    gc.collect()


def _latencies_sync(method: Callable[..., object], arguments: list[tuple[Any, ...]]) -> list[int]:
    clock = time.perf_counter_ns
    samples: list[int] = []
    for args in arguments:
        start = clock()
        method(*args)
        samples.append(clock() - start)
    return samples


def _loop_sync(method: Callable[..., object], arguments: list[tuple[Any, ...]]) -> int:
    start = time.perf_counter_ns()
    for args in arguments:
        method(*args)
    return time.perf_counter_ns() - start


def run_peer_worker(
    venv: Path, requirements: Sequence[str], worker: Path, request: Mapping[str, Any]
) -> dict[str, Any]:
    """Install `requirements` in their own venv (created once) and run `worker` with its python: the
    worker reads `request` as JSON on stdin and prints one JSON document as its last line."""
    uv = os.environ.get("UV", "uv")
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), *requirements], check=True)
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(python), str(worker)], check=True, input=json.dumps(request), stdout=subprocess.PIPE, text=True, env=env
    )
    return cast("dict[str, Any]", json.loads(done.stdout.splitlines()[-1]))


# -- numbers in the reports -------------------------------------------------------------------------


def label(operation: str) -> str:
    """An operation's row name: bulk ones say how many keys a call moves."""
    return f"{operation} ({BATCH} keys)" if operation in BULK else operation


def rate(value: float) -> str:
    """Calls (or keys) per second, as the reports print them."""
    return f"{value:,.0f}"


def micros(value: float) -> str:
    """A latency in µs: two decimals under 10, one under 1,000, none above."""
    return f"{value:.2f}" if value < 10 else f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def ratio(value: float) -> str:
    """A speed ratio: one decimal from 1x up, two below."""
    return f"{value:.1f}x" if value >= 1 else f"{value:.2f}x"

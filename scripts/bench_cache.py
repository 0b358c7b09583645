"""The "Caching function results" section of `make bench`: the hit path of our `@cached` against a hand-written
wrapper doing the same job on the same store, and against aiocache's `@cached`.

Ours is `key_value.aio.cache.cached` over MemoryStore and (when the bench's Redis server runs) RedisStore, plain
and with `model=` a small pydantic model; the hand-written wrappers (`hand_written`, `hand_written_typed`) do
the same job by hand on the same store: one `get`, the result under `"r"`, validated with a `TypeAdapter` in the
typed one. aiocache is installed in its own venv (`.bench/cache-peers-venv`, same interpreter) and measured there
by `bench_cache_peers.py`, before ours, with its memory backend and its Redis backend on the same server. All of
them go through the loop of `bench_cache_harness.py`.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, cast

from bench_cache_harness import (
    ARGUMENTS,
    MEMORY_BUDGET,
    REDIS_BUDGET,
    ROUNDS,
    Contender,
    Work,
    bench_hits,
    result_of,
    results_from_json,
)
from bench_harness import VALUE_BYTES, Stats, WaitMeter, micros, rate, run_peer_worker
from pydantic import BaseModel, TypeAdapter

from key_value.aio.cache import cached
from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.redis import RedisStore

ROOT = Path(__file__).resolve().parents[1]
PEERS_VENV = ROOT / ".bench" / "cache-peers-venv"
#: The newest aiocache release when this was written, with its Redis extra; redis-py at our own version.
PEERS_REQUIREMENTS = ("aiocache[redis]==0.12.3", f"redis=={metadata.version('redis')}")
LOOPBACK = "127.0.0.1"
COLLECTION = "bench_cache"
#: The goals: our hit path's p50 at most this many times the hand-written wrapper's, and at least this many
#: times aiocache's throughput.
TARGET_HAND_WRITTEN = 1.2
TARGET_AIOCACHE = 1.5
#: The rows of each backend's table: (label, the hand-written row it is judged against, compared with aiocache).
ROWS = (
    ("ours", "hand-written", True),
    ("ours typed", "hand-written typed", False),
    ("hand-written", None, False),
    ("hand-written typed", None, False),
    ("aiocache", None, False),
    ("aiocache json", None, False),
)
DESCRIPTIONS = {
    "ours": "`@cached(store, collection=...)`",
    "ours typed": "`@cached(store, collection=..., model=User)`",
    "hand-written": '`store.get` by hand, result under `"r"`',
    "hand-written typed": "the same, `TypeAdapter(User).validate_python`",
    "aiocache": "aiocache `@cached`, its default serializer",
    "aiocache json": "aiocache `@cached`, `JsonSerializer`",
}
BACKENDS = {"memory": "MemoryStore", "redis": "Redis"}
METHOD = (
    f"The hit path only: the result is already stored and the call returns it. Each cached function takes one"
    f" `int` and returns the ~{VALUE_BYTES}-byte user record (a dict; a pydantic `User` model in the typed rows);"
    f" every function is called once for each of {ARGUMENTS} arguments first (the misses, untimed), then the timed"
    " calls cycle over them, and a call that ran the function would fail the run. Ours: `@cached` over our"
    " MemoryStore or RedisStore (an entry `{__result__, __fresh_until__}`, keys from the bound arguments' canonical"
    " JSON). Hand-written: `v = await store.get(key_of(x), collection=...); if v is not None: return v['r']`, then"
    " compute and `put` on a miss, on the same store, `key_of` an f-string. aiocache: its `@cached` with"
    " `Cache.MEMORY` (its default `NullSerializer` keeps the object itself: no copy, no encoding; the `json` row"
    " encodes as ours does) or `Cache.REDIS` (`JsonSerializer`) on the same Redis server. Per backend the"
    f" contenders of one process take turns in {ROUNDS} rounds (who goes first alternates); ops/s is the best"
    " round, p50/p99 pool every call. aiocache runs in its own venv on the same interpreter, in a process of its"
    " own before ours. Time vs hand-written: ours p50 / the hand-written p50 (the typed row against the typed"
    " wrapper); speed vs aiocache: ours ops/s / aiocache's (default serializer)."
)


class User(BaseModel):
    """The typed rows' result: the harness's user record as a model."""

    id: int
    name: str
    email: str
    roles: list[str]
    active: bool


_USER = TypeAdapter(User)


@dataclass
class CacheSection:
    results: dict[str, dict[str, Stats]] = field(default_factory=dict)  # by backend, then contender
    cpu_wait: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def run_peers(redis_port: int | None) -> dict[str, Any]:
    """Install aiocache in its own venv (once) and run the worker there; return its JSON."""
    worker = Path(__file__).with_name("bench_cache_peers.py")
    return run_peer_worker(PEERS_VENV, PEERS_REQUIREMENTS, worker, {"redis_port": redis_port})


# -- the contenders of our process ------------------------------------------------------------------


def ours(store: AsyncKeyValue, *, typed: bool) -> Contender:
    """Our `@cached` over `store` (with `model=User` when `typed`)."""
    if typed:
        work = Work(make=lambda record: User(**record))

        @cached(store, collection=COLLECTION, model=User)
        async def load_user(x: int) -> User:
            return cast("User", await work(x))

        return Contender(load_user, work, lambda x: User(**result_of(x)))
    work = Work()

    @cached(store, collection=COLLECTION)
    async def load(x: int) -> dict[str, Any]:
        return cast("dict[str, Any]", await work(x))

    return Contender(load, work)


def hand_written(store: AsyncKeyValue) -> Contender:
    """The same job by hand: one `get`, the result under `"r"`; compute and `put` on a miss."""
    work = Work()

    def key_of(x: int) -> str:
        return f"hand:{x}"

    async def load(x: int) -> dict[str, Any]:
        v = await store.get(key_of(x), collection=COLLECTION)
        if v is not None:
            return cast("dict[str, Any]", v["r"])
        r = cast("dict[str, Any]", await work(x))
        await store.put(key_of(x), {"r": r}, collection=COLLECTION)
        return r

    return Contender(load, work)


def hand_written_typed(store: AsyncKeyValue) -> Contender:
    """The typed wrapper: the same, the result validated with a `TypeAdapter` on the way out."""
    work = Work(make=lambda record: User(**record))

    def key_of(x: int) -> str:
        return f"hand-typed:{x}"

    async def load_user(x: int) -> User:
        v = await store.get(key_of(x), collection=COLLECTION)
        if v is not None:
            return _USER.validate_python(v["r"])
        r = cast("User", await work(x))
        await store.put(key_of(x), {"r": _USER.dump_python(r, mode="json")}, collection=COLLECTION)
        return r

    return Contender(load_user, work, lambda x: User(**result_of(x)))


def contenders_on(store: AsyncKeyValue) -> dict[str, Contender]:
    return {
        "ours": ours(store, typed=False),
        "ours typed": ours(store, typed=True),
        "hand-written": hand_written(store),
        "hand-written typed": hand_written_typed(store),
    }


async def measure_ours(redis_port: int | None) -> tuple[dict[str, dict[str, Stats]], float]:
    meter = WaitMeter()
    results = {"memory": await bench_hits(contenders_on(MemoryStore()), MEMORY_BUDGET)}
    if redis_port is not None:
        async with AsyncExitStack() as stack:
            store = await stack.enter_async_context(RedisStore(host=LOOPBACK, port=redis_port))
            results["redis"] = await bench_hits(contenders_on(store), REDIS_BUDGET)
    return results, meter.waiting()


def measure(redis_port: int | None, empty_redis: Callable[[], None], log: Callable[[str], None]) -> CacheSection:
    """aiocache in its venv, then ours, each on an emptied Redis server; an aiocache failure is noted, not fatal."""
    section = CacheSection()
    empty_redis()
    log(f"caching function results: {PEERS_REQUIREMENTS[0]} in {PEERS_VENV.relative_to(ROOT)}")
    try:
        peers = run_peers(redis_port)
    except (subprocess.CalledProcessError, OSError, ValueError) as error:
        section.notes.append(f"aiocache was not measured: {type(error).__name__}: {error}")
        peers = {}
    empty_redis()
    log("caching function results: ours and the hand-written wrappers, taking turns")
    results, wait = asyncio.run(measure_ours(redis_port))
    section.results = results
    section.cpu_wait["ours"] = wait
    if peers:
        theirs = cast("dict[str, dict[str, dict[str, float]]]", peers["results"])
        for backend, stats in theirs.items():
            section.results.setdefault(backend, {}).update(results_from_json(stats))
        section.cpu_wait["aiocache worker"] = cast("float", peers["cpu_wait"])
        section.versions = {
            f"{name} (aiocache venv)" if name == "redis" else name: version
            for name, version in cast("dict[str, str]", peers["versions"]).items()
        }
    if redis_port is None:
        section.notes.append("No Redis server: the Redis table is left out.")
    return section


# -- the report -------------------------------------------------------------------------------------


def _ratio(value: float) -> str:
    return f"{value:.2f}x"


def backend_table(results: Mapping[str, Stats]) -> list[str]:
    """One row per contender: ops/s, p50, p99, then ours' time vs hand-written and speed vs aiocache."""
    lines = [
        "| contender | what it does | ops/s | p50 µs | p99 µs | time vs hand-written (p50) | speed vs aiocache |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for label, hand, vs_aiocache in ROWS:
        if label not in results:
            continue
        one = results[label]
        versus_hand = _ratio(one.p50_us / results[hand].p50_us) if hand is not None and hand in results else ""
        versus_aiocache = _ratio(one.per_s / results["aiocache"].per_s) if vs_aiocache and "aiocache" in results else ""
        cells = [label, DESCRIPTIONS[label], rate(one.per_s), micros(one.p50_us), micros(one.p99_us)]
        lines.append("| " + " | ".join([*cells, versus_hand, versus_aiocache]) + " |")
    return lines


def goal_checks(backend: str, results: Mapping[str, Stats]) -> list[tuple[str, bool | None, str]]:
    """(goal, met or not (None: not measured), the number) for one backend."""
    checks: list[tuple[str, bool | None, str]] = []
    for label, hand, vs_aiocache in ROWS:
        if hand is not None:
            goal = f"{BACKENDS[backend]} {label} p50 ≤ {TARGET_HAND_WRITTEN:g}x {hand}"
            if label in results and hand in results:
                share = results[label].p50_us / results[hand].p50_us
                checks.append((goal, share <= TARGET_HAND_WRITTEN, _ratio(share)))
            else:
                checks.append((goal, None, "not measured"))
        if vs_aiocache:
            goal = f"{BACKENDS[backend]} {label} ≥ {TARGET_AIOCACHE:g}x aiocache's throughput"
            if label in results and "aiocache" in results:
                speedup = results[label].per_s / results["aiocache"].per_s
                checks.append((goal, speedup >= TARGET_AIOCACHE, _ratio(speedup)))
            else:
                checks.append((goal, None, "not measured"))
    return checks


def targets_line(section: CacheSection, *, quiet: bool) -> str:
    """The goals, met or not with the numbers; not judged on a busy machine."""
    checks = [
        check
        for backend in BACKENDS
        if backend in section.results
        for check in goal_checks(backend, section.results[backend])
    ]
    if not checks:
        return "**Goals**: not judged, nothing measured."
    if not quiet:
        return (
            "**Goals**, not judged on a busy machine: "
            + "; ".join(f"{goal} ({number})" for goal, _, number in checks)
            + "."
        )
    verdicts = {True: "met", False: "NOT met", None: "not judged"}
    parts = [f"{goal}: {verdicts[ok]} ({number})" for goal, ok, number in checks]
    return "**Goals**: " + "; ".join(parts) + "."


def section_lines(section: CacheSection, *, quiet: bool, busy: list[str]) -> list[str]:
    waits = ", ".join(f"{name} {wait:.0%}" for name, wait in section.cpu_wait.items())
    versions = ", ".join(f"{name} {version}" for name, version in section.versions.items())
    lines = [
        "",
        "## Caching function results",
        "",
        METHOD,
        "",
        f"Versions: {versions or 'aiocache not measured'}. CPU wait while measuring: {waits}.",
    ]
    lines += busy
    lines += [f"- {note}" for note in section.notes]
    for backend, title in BACKENDS.items():
        if backend in section.results:
            lines += ["", f"### {title}", "", *backend_table(section.results[backend])]
    lines += ["", targets_line(section, quiet=quiet)]
    return lines

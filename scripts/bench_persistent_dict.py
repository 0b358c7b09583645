"""The "Persistent dict" section of `make bench`: our `KVMapping` against kv-dict and persidict.

Ours is `key_value.sync.mapping.KVMapping` over MemoryStore, DiskStore, FileTreeStore and (when the bench's
Redis server runs) RedisStore, measured here; kv-dict's `RemoteKVMapping` (in-memory and Redis backends) and
persidict's `LocalDict` and `FileDirDict` are installed in their own venv (`.bench/dict-peers-venv`, same
interpreter) and measured there by `bench_dict_peers.py`, before ours. Both go through the loops of
`bench_dict_harness.py`; each table pairs dicts on the same kind of backend.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable, Generator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, cast

from bench_dict_harness import (
    LABELS,
    ROUNDS,
    ROWS,
    Contender,
    Dict,
    bench_dicts,
    count_round_trips,
    counting,
    results_from_json,
    write_through,
)
from bench_harness import Stats, WaitMeter, run_peer_worker

from key_value.sync.mapping import KVMapping
from key_value.sync.stores.disk import DiskStore
from key_value.sync.stores.filetree import FileTreeStore
from key_value.sync.stores.memory import MemoryStore
from key_value.sync.stores.redis import RedisStore

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # `testing` lives at the repository root, next to `scripts`

from testing.servers._process import LOOPBACK  # noqa: E402
from testing.servers._round_trips import RoundTripCounter  # noqa: E402

PEERS_VENV = ROOT / ".bench" / "dict-peers-venv"
#: The newest releases when this was written; redis-py at our own version, so both Redis rows use the same
#: client; typing_extensions for kv-dict on Python 3.11 (see `bench_dict_peers.py`); pytest because the
#: worker counts Redis round trips with the test session's proxy, whose module imports it.
PEERS_REQUIREMENTS = (
    "kv-dict==0.1.7",
    "persidict==0.309.0",
    f"redis=={metadata.version('redis')}",
    "typing_extensions",
    f"pytest=={metadata.version('pytest')}",
)
#: Our store methods counted as calls (the protocol and its segments).
STORE_CALLS = (
    "get",
    "get_many",
    "put",
    "put_many",
    "delete",
    "delete_many",
    "ttl",
    "ttl_many",
    "keys",
    "get_entry",
    "put_if",
    "delete_if",
)
#: The tables: (title, ours, theirs), by the kind of backend.
PAIRS = (
    ("Memory", ("ours MemoryStore",), ("kv-dict memory", "persidict LocalDict")),
    ("Files", ("ours DiskStore", "ours FileTreeStore"), ("persidict FileDirDict",)),
    ("Redis", ("ours RedisStore",), ("kv-dict Redis",)),
)
TARGET_SPEEDUP = 3.0
METHOD = (
    "Each dict holds the same 1,000 keys, each the ~100-byte value above, for all rows (writes overwrite them):"
    " `d[k]`, `d[k] = v` and `k in d` cycle over the keys, `update` writes 100 of them a call, and the nested"
    ' edit sets one field of a stored value: `d[k]["name"] = v` for ours and kv-dict (both return live views'
    " that write a change back; ours guards the write with the ETag it read, a conditional put), for"
    ' persidict, whose `d[k]` is a detached copy, the read-modify-write `v = d[k]; v["name"] = ...;'
    f" d[k] = v`. Per row the dicts of one process take turns in {ROUNDS} rounds (who goes first"
    " alternates); ops/s (calls/s, whatever a call moves) is the best round, p50/p99 pool every call. kv-dict"
    " and persidict run in their own venv on the same interpreter, in a process of their own before ours,"
    " against the same Redis server (emptied before each). Calls per op, counted in an untimed pass: store"
    " calls for ours over MemoryStore, DiskStore and FileTreeStore, backend calls for kv-dict's in-memory"
    " backend, TCP requests through a counting proxy (`testing/servers/_round_trips.py`) for both Redis"
    " dicts (a pipeline is one); persidict works on its dict tree or files directly (n/a)."
)


@dataclass
class DictSection:
    results: dict[str, dict[str, Stats]] = field(default_factory=dict)
    round_trips: dict[str, dict[str, float]] = field(default_factory=dict)
    cpu_wait: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def run_peers(redis_port: int | None) -> dict[str, Any]:
    """Install kv-dict and persidict in their own venv (once) and run the worker there; return its JSON."""
    worker = Path(__file__).with_name("bench_dict_peers.py")
    return run_peer_worker(PEERS_VENV, PEERS_REQUIREMENTS, worker, {"redis_port": redis_port})


def _counted_store(store: Any) -> Callable[[], tuple[Dict, Callable[[], int]]]:
    """A factory of a mapping over `store` whose store calls are counted (from then on)."""

    def counted() -> tuple[Dict, Callable[[], int]]:
        count = counting(store, STORE_CALLS)
        return KVMapping(store, "bench"), count

    return counted


@contextmanager
def our_contenders(directory: Path, redis_port: int | None) -> Generator[dict[str, Contender]]:
    with ExitStack() as stack:
        memory = MemoryStore()
        disk = stack.enter_context(DiskStore(directory=str(directory / "disk")))
        tree = FileTreeStore(data_directory=directory / "tree")
        contenders = {
            "ours MemoryStore": Contender(KVMapping(memory, "bench"), write_through, _counted_store(memory)),
            "ours DiskStore": Contender(KVMapping(disk, "bench"), write_through, _counted_store(disk)),
            "ours FileTreeStore": Contender(KVMapping(tree, "bench"), write_through, _counted_store(tree)),
        }
        if redis_port is not None:
            redis = stack.enter_context(RedisStore(host=LOOPBACK, port=redis_port))

            def counted_redis() -> tuple[Dict, Callable[[], int]]:
                proxy = stack.enter_context(RoundTripCounter(redis_port))
                store = stack.enter_context(RedisStore(host=LOOPBACK, port=proxy.port))
                return KVMapping(store, "bench"), lambda: proxy.requests

            contenders["ours RedisStore"] = Contender(KVMapping(redis, "bench"), write_through, counted_redis)
        yield contenders


def measure_ours(redis_port: int | None) -> DictSection:
    meter = WaitMeter()
    with (
        tempfile.TemporaryDirectory(prefix="bench-dict-") as directory,
        our_contenders(Path(directory), redis_port) as contenders,
    ):
        results = bench_dicts(contenders)
        round_trips = {label: count_round_trips(contender) for label, contender in contenders.items()}
    return DictSection(results, round_trips, {"ours": meter.waiting()})


def measure(redis_port: int | None, empty_redis: Callable[[], None], log: Callable[[str], None]) -> DictSection:
    """The peers in their venv, then ours, each on an emptied Redis server; a peer failure is noted, not fatal."""
    section = DictSection()
    empty_redis()  # kv-dict lists the whole keyspace on most calls: start it on the same empty server as ours
    log(f"persistent dict: {', '.join(PEERS_REQUIREMENTS[:2])} in {PEERS_VENV.relative_to(ROOT)}")
    try:
        peers = run_peers(redis_port)
    except (subprocess.CalledProcessError, OSError, ValueError) as error:
        section.notes.append(f"kv-dict and persidict were not measured: {type(error).__name__}: {error}")
        peers = {}
    empty_redis()
    log("persistent dict: ours")
    ours = measure_ours(redis_port)
    section.results = ours.results
    section.round_trips = ours.round_trips
    section.cpu_wait = ours.cpu_wait
    if peers:
        raw_results = cast("dict[str, dict[str, dict[str, float]]]", peers["results"])
        section.results |= {label: results_from_json(stats) for label, stats in raw_results.items()}
        section.round_trips |= cast("dict[str, dict[str, float]]", peers["round_trips"])
        section.cpu_wait["kv-dict/persidict worker"] = cast("float", peers["cpu_wait"])
        section.versions = {
            f"{name} (peers venv)" if name == "redis" else name: version
            for name, version in cast("dict[str, str]", peers["versions"]).items()
        }
    if redis_port is None:
        section.notes.append("No Redis server: the Redis table is left out.")
    return section


# -- the report -------------------------------------------------------------------------------------


def _rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _micros(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def _ratio(value: float) -> str:
    return f"{value:.1f}x" if value >= 1 else f"{value:.2g}x"


def _calls(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 10 else f"{value:.2g}"


def _short(label: str) -> str:
    return label.removeprefix("ours ").removeprefix("persidict ")


def pair_table(section: DictSection, ours: Sequence[str], theirs: Sequence[str]) -> list[str]:
    """One row per operation: each dict's ops/s, p50, p99, then ours/theirs throughput, then calls per op."""
    results = section.results
    names = [name for name in (*ours, *theirs) if name in results]
    pairs = [(mine, other) for mine in ours for other in theirs if mine in results and other in results]
    header = ["operation"]
    for name in names:
        header += [f"{name} ops/s", "p50 µs", "p99 µs"]
    header += [f"{_short(mine)}/{_short(other)}" for mine, other in pairs]
    header += [f"calls/op {_short(name)}" for name in names]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "--:|" * (len(header) - 1)]
    for row in ROWS:
        cells = [LABELS[row]]
        for name in names:
            one = results[name][row]
            cells += [_rate(one.per_s), _micros(one.p50_us), _micros(one.p99_us)]
        cells += [_ratio(results[mine][row].per_s / results[other][row].per_s) for mine, other in pairs]
        cells += [_calls(section.round_trips.get(name, {}).get(row)) for name in names]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def targets_line(section: DictSection, *, quiet: bool) -> str:
    """The issue's target (≥ 3x both competitors on every row), met or not per pair, with the worst ratio."""
    parts: list[str] = []
    misses: list[str] = []
    for _, ours, theirs in PAIRS:
        for mine in ours:
            for other in theirs:
                if mine not in section.results or other not in section.results:
                    continue
                ratios = {row: section.results[mine][row].per_s / section.results[other][row].per_s for row in ROWS}
                worst = min(ratios, key=ratios.__getitem__)
                under = [row for row in ROWS if ratios[row] < TARGET_SPEEDUP]
                parts.append(f"{_short(mine)} vs {_short(other)}: worst {LABELS[worst]} {_ratio(ratios[worst])}")
                misses += [f"{LABELS[row]} ({_short(mine)}/{_short(other)} {_ratio(ratios[row])})" for row in under]
    if not parts:
        return "**Target** (≥ 3x both competitors on every row): not judged, nothing to compare."
    if not quiet:
        return (
            "**Target** (≥ 3x both competitors on every row), not judged on a busy machine: " + "; ".join(parts) + "."
        )
    verdict = "met" if not misses else "NOT met on " + ", ".join(misses)
    return f"**Target** (≥ {TARGET_SPEEDUP:g}x both competitors on every row): {verdict}. " + "; ".join(parts) + "."


def section_lines(section: DictSection, *, quiet: bool, busy: list[str]) -> list[str]:
    waits = ", ".join(f"{name} {wait:.0%}" for name, wait in section.cpu_wait.items())
    versions = ", ".join(f"{name} {version}" for name, version in section.versions.items())
    lines = [
        "",
        "## Persistent dict",
        "",
        METHOD,
        "",
        f"Versions: {versions or 'peers not measured'}. CPU wait while measuring: {waits}.",
    ]
    lines += busy
    lines += [f"- {note}" for note in section.notes]
    for title, ours, theirs in PAIRS:
        if not any(name in section.results for name in ours):
            continue
        lines += ["", f"### {title}", "", *pair_table(section, ours, theirs)]
    lines += ["", targets_line(section, quiet=quiet)]
    return lines

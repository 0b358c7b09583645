"""The disk section's loop-lag table: how long the event loop went without running while disk calls ran.

A heartbeat task sleeps 1 ms at a time on the loop that makes the calls; each time it wakes, the gap
since it last woke, less the 1 ms it asked for, is lag. One task makes the calls (put, get and delete
in turn, sequential awaits), so whatever a call does on the loop thread shows as lag. Three scenarios:
100-byte values; the same while another process takes the database's write lock for 200 ms in every
250 ms (diskcache's own connection waits for it, on whatever thread calls it); and 1 MB values (which
diskcache keeps in files). The idle column is the heartbeat alone for as long, which is what the
machine itself adds. Numbers are shown, never asserted.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

#: The issue's bound on how long a store call may keep the event loop from running.
TARGET_LAG_MS = 5.0
#: (label, calls, value) per scenario; the lock scenario runs next to a process taking the write lock.
SMALL = {"text": "x" * 80}
LARGE = {"text": "y" * 1_000_000}
LOCKED = "another process holds the write lock"
SCENARIOS = (("100-byte values", 3_000, SMALL), (LOCKED, 600, SMALL), ("1 MB values", 60, LARGE))

_HOLDER = "\n".join(
    (
        "import sqlite3, sys, time",
        "con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)",
        "first = True",
        "while True:",
        "    con.execute('BEGIN IMMEDIATE')",
        "    if first:",
        "        print('locked', flush=True)",
        "        first = False",
        "    time.sleep(0.2)",
        "    con.execute('ROLLBACK')",
        "    time.sleep(0.05)",
    )
)


class DiskLike(Protocol):
    """What the scenarios call: the async store API's put, get and delete."""

    async def put(self, key: str, value: Mapping[str, Any]) -> None: ...

    async def get(self, key: str) -> Mapping[str, Any] | None: ...

    async def delete(self, key: str) -> bool: ...


@dataclass
class Lag:
    """Worst and 99th-percentile lag of one run, in milliseconds."""

    worst_ms: float
    p99_ms: float


async def lag_while(work: Callable[[], Awaitable[None]]) -> tuple[Lag, float]:
    """The heartbeat's lag while `work()` runs, and how long it ran (seconds)."""
    gaps: list[float] = []
    done = False

    async def heartbeat() -> None:
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(max(0.0, now - last - 0.001))
            last = now

    beating = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - started
    done = True
    await beating
    gaps.sort()
    return Lag(gaps[-1] * 1000, gaps[int(len(gaps) * 0.99)] * 1000), elapsed


async def calls(store: DiskLike, count: int, value: Mapping[str, Any]) -> None:
    for number in range(count // 3):
        key = f"lag-{number % 50}"
        await store.put(key, value)
        await store.get(key)
        await store.delete(key)


async def measure_lag(
    contenders: Mapping[str, Callable[[Path], Any]], log: Callable[[str], None]
) -> dict[str, dict[str, Lag]]:
    """Lag per scenario and contender (and `idle`); each contender gets an async context-managed store."""
    table: dict[str, dict[str, Lag]] = {}
    for scenario, count, value in SCENARIOS:
        row: dict[str, Lag] = {}
        longest = 0.0
        for name, make in contenders.items():
            log(f"disk loop lag: {scenario}: {name}")
            with tempfile.TemporaryDirectory(prefix="bench-lag-") as directory:
                async with make(Path(directory)) as store:
                    await store.put("warm", SMALL)  # opens the database (and a MultiDiskStore's collection)
                    holder = _hold_lock(Path(directory)) if scenario == LOCKED else None
                    try:
                        row[name], elapsed = await lag_while(partial(calls, store, count, value))
                    finally:
                        if holder is not None:
                            holder.kill()
                            holder.communicate()
                longest = max(longest, elapsed)
        row["idle"] = (await lag_while(partial(asyncio.sleep, longest)))[0]
        table[scenario] = row
    return table


def _hold_lock(directory: Path) -> subprocess.Popen[str]:
    """A process taking the write lock of the database under `directory` 200 ms in every 250 ms."""
    database = next(directory.rglob("cache.db"))
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(database)], stdout=subprocess.PIPE, text=True)
    if holder.stdout is None or holder.stdout.readline().strip() != "locked":
        holder.kill()
        raise RuntimeError("the lock-holding process did not start")
    return holder


def lag_lines(table: Mapping[str, Mapping[str, Lag]], *, quiet: bool) -> list[str]:
    """The loop-lag table and the target line."""
    if not table:
        return []
    names = list(next(iter(table.values())))
    lines = ["", "Event-loop lag while disk calls run (worst / p99, ms; see `scripts/bench_disk_lag.py`):", ""]
    lines += ["| scenario | " + " | ".join(names) + " |", "|---|" + "--:|" * len(names)]
    for scenario, row in table.items():
        cells = [f"{row[name].worst_ms:.1f} / {row[name].p99_ms:.2f}" for name in names]
        lines.append(f"| {scenario} | " + " | ".join(cells) + " |")
    ours = [name for name in names if name.startswith("ours")]
    worst = max((row[name].worst_ms, scenario, name) for scenario, row in table.items() for name in ours)
    idle = max(row["idle"].worst_ms for row in table.values())
    text = f"a store call never keeps the event loop from running for more than {TARGET_LAG_MS:g} ms"
    numbers = f"worst {worst[0]:.1f} ms: {worst[2]}, {worst[1]}; idle loop worst {idle:.1f} ms"
    if not quiet or idle >= TARGET_LAG_MS:
        lines += ["", f"**Target**: {text}: not judged, the machine was busy ({numbers})."]
    else:
        met = "met" if worst[0] < TARGET_LAG_MS else "NOT met"
        lines += ["", f"**Target**: {text}: {met} ({numbers})."]
    return lines

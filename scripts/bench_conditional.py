"""The conditional segment's rows of `make bench`: `put_if` / `get_entry` against plain `put` / `get`, and `transform`.

Per store, in the same run and against the same server as the main table:
- `get_entry` vs `get` and `put_if` vs `put` on one key, p50 of single calls, the two taking turns in ten
  rounds (who goes first alternates). Each `put_if` is a satisfied compare-and-swap: it expects the ETag
  the previous one returned, which is what a read-modify-write loop does.
- `transform` with 8 tasks incrementing one counter at once: increments/s, and `put_if` attempts per
  increment (1.0 = no conflict).
- Where a raw-client equivalent exists (Redis: the same compare-and-set as one Lua script through
  redis-py), its p50 as the floor.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bench_harness import VALUE

from key_value.aio.conditional import ABSENT, ANY, ETag
from key_value.aio.protocols.key_value import AsyncConditionalProtocol, AsyncKeyValue

ROUNDS = 10
WRITERS = 8


@dataclass(frozen=True)
class ConditionalStats:
    """p50s in µs, and the transform race's figures."""

    get_p50: float
    get_entry_p50: float
    put_p50: float
    put_if_p50: float
    transform_per_s: float
    attempts_per_increment: float
    raw_put_if_p50: float | None = None


def _p50(samples: list[int]) -> float:
    return statistics.median(samples) / 1000


async def _timed(call: Callable[[], Awaitable[object]], calls: int, into: list[int]) -> None:
    clock = time.perf_counter_ns
    for _ in range(calls):
        start = clock()
        await call()
        into.append(clock() - start)


async def measure_conditional(
    store: object, *, calls: int, raw_put_if: Callable[[], Awaitable[object]] | None = None
) -> ConditionalStats | None:
    """The rows above for `store`, `calls` timed calls per row; None for a store without the segment."""
    if not isinstance(store, AsyncConditionalProtocol) or not isinstance(store, AsyncKeyValue):
        return None
    kv = store
    await store.put("cond-plain", VALUE)
    first = await kv.put_if("cond-cas", VALUE, etag=ABSENT, condition=ANY)
    etag: list[ETag] = [first.resulting_etag]

    async def cas() -> None:
        result = await kv.put_if("cond-cas", VALUE, etag=etag[0], retrieve=False)
        if not result.satisfied:
            raise RuntimeError(f"{type(store).__name__}: an uncontended put_if was refused")
        etag[0] = result.resulting_etag

    rows: dict[str, Callable[[], Awaitable[object]]] = {
        "get": lambda: store.get("cond-plain"),
        "get_entry": lambda: kv.get_entry("cond-cas"),
        "put": lambda: store.put("cond-plain", VALUE),
        "put_if": cas,
    }
    if raw_put_if is not None:
        rows["raw_put_if"] = raw_put_if
    samples: dict[str, list[int]] = {name: [] for name in rows}
    per_round = max(1, calls // ROUNDS)
    for call in rows.values():  # warm up
        await _timed(call, min(per_round, 50), [])
    order = list(rows)
    for _ in range(ROUNDS):
        for name in order:
            await _timed(rows[name], per_round, samples[name])
        order.reverse()
    per_s, attempts = await _transform_race(kv, increments=max(WRITERS, calls // 2))
    return ConditionalStats(
        get_p50=_p50(samples["get"]),
        get_entry_p50=_p50(samples["get_entry"]),
        put_p50=_p50(samples["put"]),
        put_if_p50=_p50(samples["put_if"]),
        transform_per_s=per_s,
        attempts_per_increment=attempts,
        raw_put_if_p50=_p50(samples["raw_put_if"]) if "raw_put_if" in samples else None,
    )


async def _transform_race(kv: AsyncConditionalProtocol, *, increments: int) -> tuple[float, float]:
    """8 tasks share `increments` transforms of one counter; (increments/s, put_if attempts per increment)."""
    await kv.put_if("cond-counter", {"n": 0}, etag=ABSENT, condition=ANY)
    attempts = [0]
    each = max(1, increments // WRITERS)

    def increment(value: Mapping[str, Any] | None) -> dict[str, Any]:
        attempts[0] += 1
        return {"n": (0 if value is None else int(value["n"])) + 1}

    async def writer() -> None:
        for _ in range(each):
            await kv.transform("cond-counter", increment, retries=10_000)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    elapsed = time.perf_counter() - started
    entry = await kv.get_entry("cond-counter")
    if entry is None or entry.value != {"n": each * WRITERS}:
        raise RuntimeError("the transform race lost an increment")
    return each * WRITERS / elapsed, attempts[0] / (each * WRITERS)


def table(stats: Mapping[str, ConditionalStats]) -> list[str]:
    """The report's conditional table: one row per store."""
    lines = [
        "| store | get p50 µs | get_entry p50 µs | get_entry/get | put p50 µs | put_if p50 µs | put_if/put"
        " | raw put_if p50 µs | transform, 8 writers: increments/s | put_if attempts per increment |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, row in stats.items():
        raw = "n/a" if row.raw_put_if_p50 is None else f"{row.raw_put_if_p50:,.1f}"
        lines.append(
            f"| {name} | {row.get_p50:,.1f} | {row.get_entry_p50:,.1f} | {row.get_entry_p50 / row.get_p50:.2f}x"
            f" | {row.put_p50:,.1f} | {row.put_if_p50:,.1f} | {row.put_if_p50 / row.put_p50:.2f}x | {raw}"
            f" | {row.transform_per_s:,.0f} | {row.attempts_per_increment:.2f} |"
        )
    return lines


__all__ = ["ConditionalStats", "measure_conditional", "table"]

"""The timing loop of the "Caching function results" rows, shared by ours (`bench_cache.py`) and aiocache's
worker (`bench_cache_peers.py`), so every cached function is measured by the same code.

It imports nothing from `key_value` (nor pydantic): the worker runs it in aiocache's own venv. Only the hit
path is timed: every contender's function is called once for each of `ARGUMENTS` arguments first (each result
computed and stored), then the timed calls cycle over those arguments, and the function itself must not run
again (checked: a call that computed would not be a hit). Per backend the contenders of one process take turns
in `ROUNDS` rounds (who goes first alternates); p50/p99 pool every timed call, throughput is the best round.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench_harness import VALUE, Budget, Stats

#: Distinct arguments the timed calls cycle over; each one's result is stored before timing.
ARGUMENTS = 100
ROUNDS = 10
#: Per contender: about this long in all (every round together), at least 2 calls a round.
MEMORY_BUDGET = Budget(seconds=1.0, min_calls=2 * ROUNDS, max_calls=200_000, warmup=(500, 0))
REDIS_BUDGET = Budget(seconds=1.0, min_calls=2 * ROUNDS, max_calls=20_000, warmup=(200, 0))


def result_of(x: int) -> dict[str, Any]:
    """What the cached function computes for `x`: the harness's ~100-byte user record, with `x` as its id."""
    return {**VALUE, "id": x}


@dataclass
class Work:
    """The function being cached: returns `result_of(x)` (or what `make` builds from it) and counts its runs."""

    make: Callable[[dict[str, Any]], Any] = dict
    runs: int = 0

    async def __call__(self, x: int) -> Any:
        self.runs += 1
        return self.make(result_of(x))


@dataclass
class Contender:
    """A cached function of one argument, the `Work` it caches, and the result expected for `x`."""

    call: Callable[[int], Awaitable[Any]]
    work: Work
    expected: Callable[[int], Any] = field(default=result_of)


async def _fill(label: str, contender: Contender) -> None:
    """Store every argument's result (the misses), then check that a second call returns it without computing."""
    for x in range(ARGUMENTS):
        if await contender.call(x) != contender.expected(x):
            raise RuntimeError(f"{label} does not return the function's result")
    runs = contender.work.runs
    for x in range(ARGUMENTS):
        if await contender.call(x) != contender.expected(x):
            raise RuntimeError(f"{label} does not return the stored result")
    if contender.work.runs != runs:
        raise RuntimeError(f"{label} computed a result it had stored: not the hit path")


async def _timed(call: Callable[[int], Awaitable[Any]], calls: int, start: int, into: list[int]) -> int:
    """Run `calls` calls, each timed into `into`; return the whole loop's time."""
    clock = time.perf_counter_ns
    began = clock()
    for i in range(start, start + calls):
        before = clock()
        await call(i % ARGUMENTS)
        into.append(clock() - before)
    return clock() - began


async def bench_hits(contenders: Mapping[str, Contender], budget: Budget) -> dict[str, Stats]:
    """The hit path of every contender, the contenders taking turns in `ROUNDS` rounds."""
    for label, contender in contenders.items():
        await _fill(label, contender)
    runs = {label: contender.work.runs for label, contender in contenders.items()}
    per_round: dict[str, int] = {}
    for label, contender in contenders.items():
        warmup = budget.warmup_calls("get")
        mean = await _timed(contender.call, warmup, 0, []) / warmup
        per_round[label] = max(2, budget.calls(mean) // ROUNDS)
    samples: dict[str, list[int]] = {label: [] for label in contenders}
    elapsed: dict[str, list[int]] = {label: [] for label in contenders}
    order = list(contenders)
    for round_number in range(ROUNDS):
        for label in order:
            gc.collect()
            calls = per_round[label]
            elapsed[label].append(await _timed(contenders[label].call, calls, round_number * calls, samples[label]))
        order.reverse()  # who goes first alternates
    results: dict[str, Stats] = {}
    for label, contender in contenders.items():
        if contender.work.runs != runs[label]:
            raise RuntimeError(f"{label} computed results while timed: not the hit path")
        cuts = statistics.quantiles(samples[label], n=100)
        best = min(elapsed[label])
        results[label] = Stats(per_s=per_round[label] * 1e9 / best, p50_us=cuts[49] / 1e3, p99_us=cuts[98] / 1e3)
    return results


def results_to_json(results: Mapping[str, Stats]) -> dict[str, dict[str, float]]:
    return {label: {"per_s": s.per_s, "p50_us": s.p50_us, "p99_us": s.p99_us} for label, s in results.items()}


def results_from_json(data: Mapping[str, Mapping[str, float]]) -> dict[str, Stats]:
    return {label: Stats(**fields) for label, fields in data.items()}

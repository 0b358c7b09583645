"""The timing loops of the "Persistent dict" rows, shared by ours (`bench_persistent_dict.py`) and the other
libraries' worker (`bench_dict_peers.py`), so every dict is measured by the same code.

It imports nothing from `key_value`: the worker runs it in the peers' own venv. Every dict holds the same
1,000 keys, each the harness's ~100-byte value, for all rows (writes overwrite them). Per row the dicts of one
process take turns in `ROUNDS` rounds (who goes first alternates); p50/p99 pool every timed call, throughput is
the best round. Round trips are counted in a separate, untimed pass.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench_harness import VALUE, Budget, Stats

KEYS = [f"key-{i:05d}" for i in range(1000)]
#: `update` writes 100 pairs a call, cycling over the 1,000 keys.
PAIRS = 100
_UPDATES = [dict.fromkeys(KEYS[i : i + PAIRS], VALUE) for i in range(0, len(KEYS), PAIRS)]
#: The field the nested edit sets, and the values it alternates between (so every edit changes the value).
FIELD = "name"
_NAMES = ("Ada Lovelace", "Ada King")
ROWS = ("get", "set", "contains", "len", "iterate", "update", "nested")
LABELS = {
    "get": "`d[k]`",
    "set": "`d[k] = v`",
    "contains": "`k in d`",
    "len": "`len(d)`",
    "iterate": "iteration over 1,000 keys",
    "update": f"`update` of {PAIRS} pairs",
    "nested": '`d[k]["name"] = v`',
}
ROUNDS = 5
#: Per dict and row: about this long in all, at least `min_calls` calls (2 a round for a slow dict).
BUDGET = Budget(seconds=0.6, min_calls=2 * ROUNDS, max_calls=100_000)
_WARMUP_CALLS = 5
_COUNTED_CALLS = 4

Dict = MutableMapping[Any, Any]
#: A nested edit on the dict: set the value's `FIELD` under the key to a new name.
Nested = Callable[[Dict, str, str], None]


def write_through(d: Dict, key: str, name: str) -> None:
    """The nested edit where `d[k]` returns a live view that writes a change back (ours, kv-dict)."""
    d[key][FIELD] = name


def read_modify_write(d: Dict, key: str, name: str) -> None:
    """The nested edit where `d[k]` returns a detached copy (persidict): read it, change it, write it back."""
    value = d[key]
    value[FIELD] = name
    d[key] = value


@dataclass
class Contender:
    """A dict to measure, how it does the nested edit, and (optionally) how to count its calls.

    `counted`, called after timing, gives a dict over the same data whose calls are counted, and the count
    so far (store calls for in-process stores, TCP requests through `RoundTripCounter` for servers).
    """

    d: Dict
    nested: Nested
    counted: Callable[[], tuple[Dict, Callable[[], int]]] | None = None


def _call(row: str, d: Dict, nested: Nested, i: int) -> None:
    key = KEYS[i % len(KEYS)]
    if row == "get":
        d[key]
    elif row == "set":
        d[key] = VALUE
    elif row == "contains":
        if key not in d:
            raise RuntimeError(f"{key} went missing")
    elif row == "len":
        len(d)
    elif row == "iterate":
        for _ in d:
            pass
    elif row == "update":
        d.update(_UPDATES[i % len(_UPDATES)])
    else:
        nested(d, key, _NAMES[i % 2])


def _timed(row: str, contender: Contender, calls: int, start: int, into: list[int]) -> int:
    """Run `calls` calls, each timed into `into`; return the whole loop's time."""
    clock = time.perf_counter_ns
    d, nested = contender.d, contender.nested
    began = clock()
    for i in range(start, start + calls):
        before = clock()
        _call(row, d, nested, i)
        into.append(clock() - before)
    return clock() - began


def preload(d: Dict) -> None:
    """Write the 1,000 keys every row reads."""
    for pairs in _UPDATES:
        d.update(pairs)


def check(contender: Contender) -> None:
    """Fail loudly if a dict does not keep the value, the nested edit, or the 1,000 keys."""
    d = contender.d
    preload(d)
    contender.nested(d, KEYS[0], "check")
    if dict(d[KEYS[0]]) != {**VALUE, FIELD: "check"} or len(d) != len(KEYS) or KEYS[1] not in d:
        raise RuntimeError(f"{type(d).__name__} does not keep the benchmark's keys and value")
    d[KEYS[0]] = VALUE


def bench_dicts(contenders: Mapping[str, Contender], rows: Sequence[str] = ROWS) -> dict[str, dict[str, Stats]]:
    """Every row for every dict, the dicts taking turns in `ROUNDS` rounds per row."""
    for contender in contenders.values():
        check(contender)
    results: dict[str, dict[str, Stats]] = {label: {} for label in contenders}
    for row in rows:
        per_round: dict[str, int] = {}
        for label, contender in contenders.items():
            mean = _timed(row, contender, _WARMUP_CALLS, 0, []) / _WARMUP_CALLS
            per_round[label] = max(2, BUDGET.calls(mean) // ROUNDS)
        samples: dict[str, list[int]] = {label: [] for label in contenders}
        elapsed: dict[str, list[int]] = {label: [] for label in contenders}
        order = list(contenders)
        for round_number in range(ROUNDS):
            for label in order:
                gc.collect()
                calls = per_round[label]
                elapsed[label].append(_timed(row, contenders[label], calls, round_number * calls, samples[label]))
            order.reverse()  # who goes first alternates
        for label in contenders:
            cuts = statistics.quantiles(samples[label], n=100)
            best = min(elapsed[label])
            results[label][row] = Stats(
                per_s=per_round[label] * 1e9 / best, p50_us=cuts[49] / 1e3, p99_us=cuts[98] / 1e3
            )
    return results


def count_round_trips(contender: Contender, rows: Sequence[str] = ROWS) -> dict[str, float]:
    """Calls (or round trips) per operation of each row, from an untimed pass; empty if they cannot be counted."""
    if contender.counted is None:
        return {}
    d, count = contender.counted()
    _call(rows[0], d, contender.nested, 0)  # uncounted: a new connection's handshake is not the row's
    counts: dict[str, float] = {}
    for row in rows:
        before = count()
        for i in range(_COUNTED_CALLS):
            _call(row, d, contender.nested, i)
        counts[row] = (count() - before) / _COUNTED_CALLS
    return counts


def counting(target: object, names: Sequence[str]) -> Callable[[], int]:
    """Count calls of `target`'s methods `names` (those it has), by wrapping them on the instance."""
    calls = [0]

    def wrapped(method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            return method(*args, **kwargs)

        return call

    for name in names:
        method = getattr(target, name, None)
        if callable(method):
            setattr(target, name, wrapped(method))
    return lambda: calls[0]


def results_to_json(results: Mapping[str, Stats]) -> dict[str, dict[str, float]]:
    return {row: {"per_s": s.per_s, "p50_us": s.p50_us, "p99_us": s.p99_us} for row, s in results.items()}


def results_from_json(data: Mapping[str, Mapping[str, float]]) -> dict[str, Stats]:
    return {row: Stats(**fields) for row, fields in data.items()}

"""The "FileTreeStore" section of `make bench`: our FileTreeStore against py-key-value-aio 0.5.0's, persidict's
`FileDirDict` and the raw floor.

Ours (`key_value.aio.stores.filetree.FileTreeStore`) and the raw floor (`RawFileTree`: one JSON file per key,
temp file + fsync + `os.replace`, as durable as ours) are measured here, taking turns; py-key-value-aio's
FileTreeStore and persidict's `FileDirDict` are installed in their own venv (`.bench/filetree-peers-venv`, same
interpreter) and measured there by `bench_filetree_peers.py`, before ours, taking turns too. Every contender
goes through `bench_interleaved_async` of `bench_harness.py` with the worker's `BUDGET`, in a temp directory.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, cast

from bench_filetree_peers import BUDGET, PERSIDICT, ROWS, UPSTREAM
from bench_harness import (
    BATCH,
    VALUE_BYTES,
    Results,
    WaitMeter,
    bench_interleaved_async,
    label,
    micros,
    opened,
    rate,
    ratio,
    run_peer_worker,
)
from bench_harness import results_from_json as stats_from_json

from key_value.aio.stores.filetree import FileTreeStore

ROOT = Path(__file__).resolve().parents[1]
PEERS_VENV = ROOT / ".bench" / "filetree-peers-venv"
#: py-key-value-aio at the release we replace (`UPSTREAM_REQUIREMENT` in `bench.py`) with the extra its
#: FileTreeStore needs (aiofile, anyio); persidict's newest release when this was written.
PEERS_REQUIREMENTS = ("py-key-value-aio[filetree]==0.5.0", "persidict==0.309.0")
OURS = "ours"
RAW = "raw"
#: The table's contenders, in its order; the ratios are ours against each of the others.
CONTENDERS = (OURS, UPSTREAM, PERSIDICT, RAW)
#: The issue's goals: ours' throughput at least these multiples of theirs, on every row.
TARGETS = {UPSTREAM: 2.0, PERSIDICT: 1.0}
#: Above this share of wall time spent waiting for a CPU while measuring, other processes disturbed the run
#: (`QUIET_CPU_WAIT` in `bench.py`).
QUIET_CPU_WAIT = 0.1
METHOD = (
    f"Each contender writes the same ~{VALUE_BYTES}-byte JSON value under the same 1,000 keys in a temp directory"
    f" on the same disk; bulk rows move {BATCH} keys a call (keys/s). Ours: `FileTreeStore(data_directory=...)`,"
    " its file work in one worker-thread hop per call; a write is a temp file, fsync, rename, then one fsync of"
    " the directory per call (a delete fsyncs the directory too), and 100-key batches write their temp files from"
    " a few threads. py-key-value-aio 0.5.0: its FileTreeStore with its defaults (aiofile; temp file, fsync,"
    " rename, no fsync of the directory; its bulk calls are loops). persidict: `FileDirDict(base_dir=...,"
    ' serialization_format="json")` (jsonpickle text) used as a dict, `d[k] = v`, `d[k]`, `del d[k]`, on the'
    " event loop, its bulk rows a loop (each write: temp file, fsync, rename, fsync of the directory; a delete"
    " does not fsync). Raw floor: one `<key>.json` file per key in one directory, `json.dumps` into a temp"
    " file, fsync, `os.replace`, fsync of the directory (once per `put_many`, whose files are written one after"
    " the other); `json.loads` of the file's bytes; `os.remove` and an fsync of the directory; on the event loop,"
    " no thread. Ours and the raw floor take turns in one process, py-key-value-aio and persidict in another (their"
    " own venv on the same interpreter, run first), each pair in ten rounds per row (who goes first alternates);"
    " ops/s is the best round, p50/p99 pool every call."
)


class RawFileTree:
    """The floor: what a hand-written file-per-key store does at least, with ours' durability.

    `<directory>/<key>.json` holds the value as JSON text. A put writes `.tmp-<key>`, fsyncs it, renames it
    over the key's file and fsyncs the directory; a get reads the file and parses it; a delete removes it and
    fsyncs the directory. Blocking calls, made on the event loop (no thread hop). One writer, so each key's
    temp name is fixed.
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir()
        self._directory = str(directory)

    def _path(self, key: str) -> str:
        return os.path.join(self._directory, key + ".json")

    def _write_temp(self, key: str, value: Mapping[str, Any]) -> str:
        temp = os.path.join(self._directory, ".tmp-" + key)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            os.write(fd, json.dumps(value, separators=(",", ":")).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return temp

    def _fsync_directory(self) -> None:
        fd = os.open(self._directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _get(self, key: str) -> Mapping[str, Any] | None:
        try:
            with open(self._path(key), "rb") as file:
                return cast("Mapping[str, Any]", json.loads(file.read()))
        except FileNotFoundError:
            return None

    async def get(self, key: str) -> Mapping[str, Any] | None:
        return self._get(key)

    async def put(self, key: str, value: Mapping[str, Any]) -> None:
        os.replace(self._write_temp(key, value), self._path(key))
        self._fsync_directory()

    async def get_many(self, keys: Sequence[str]) -> Sequence[Mapping[str, Any] | None]:
        return [self._get(key) for key in keys]

    async def put_many(self, keys: Sequence[str], values: Sequence[Mapping[str, Any]]) -> None:
        temps = [self._write_temp(key, value) for key, value in zip(keys, values, strict=True)]
        for key, temp in zip(keys, temps, strict=True):
            os.replace(temp, self._path(key))
        self._fsync_directory()

    async def delete(self, key: str) -> bool:
        try:
            os.remove(self._path(key))
        except FileNotFoundError:
            return False
        self._fsync_directory()
        return True


@dataclass
class FileTreeSection:
    results: dict[str, Results] = field(default_factory=dict)  # by contender
    cpu_wait: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def run_peers() -> dict[str, Any]:
    """Install py-key-value-aio and persidict in their own venv (once) and run the worker there; return its JSON."""
    worker = Path(__file__).with_name("bench_filetree_peers.py")
    return run_peer_worker(PEERS_VENV, PEERS_REQUIREMENTS, worker, {})


async def measure_ours() -> tuple[dict[str, Results], float]:
    """Ours and the raw floor taking turns, each in a directory of its own; and the CPU wait meanwhile."""
    meter = WaitMeter()
    with tempfile.TemporaryDirectory(prefix="bench-filetree-") as directory:
        root = Path(directory)
        async with opened(FileTreeStore(data_directory=root / "ours")) as store:
            results = await bench_interleaved_async({OURS: store, RAW: RawFileTree(root / "raw")}, BUDGET, ROWS)
    return results, meter.waiting()


def measure(log: Callable[[str], None]) -> FileTreeSection:
    """The peers in their venv, then ours and the raw floor; a peer failure is noted, not fatal."""
    section = FileTreeSection(versions={"key-value-aio": metadata.version("key-value-aio")})
    log(f"filetree: {', '.join(PEERS_REQUIREMENTS)} in {PEERS_VENV.relative_to(ROOT)}")
    try:
        peers = run_peers()
    except (subprocess.CalledProcessError, OSError, ValueError, IndexError) as error:
        section.notes.append(f"py-key-value-aio and persidict were not measured: {type(error).__name__}: {error}")
        peers = {}
    log("filetree: ours and the raw floor, taking turns")
    section.results, section.cpu_wait["ours"] = asyncio.run(measure_ours())
    if peers:
        theirs = cast("dict[str, dict[str, dict[str, float]]]", peers["results"])
        section.results |= {label: stats_from_json(stats) for label, stats in theirs.items()}
        section.cpu_wait["py-key-value-aio/persidict worker"] = cast("float", peers["cpu_wait"])
        section.versions |= cast("dict[str, str]", peers["versions"])
    return section


# -- the report -------------------------------------------------------------------------------------


def table(results: Mapping[str, Results]) -> list[str]:
    """One row per operation: each contender's ops/s, p50, p99, then ours' throughput over each other's."""
    names = [name for name in CONTENDERS if name in results]
    others = [name for name in CONTENDERS[1:] if name in results and OURS in results]
    header = ["operation"]
    for name in names:
        header += [f"{name} ops/s", "p50 µs", "p99 µs"]
    header += [f"ours/{name} throughput" for name in others]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "--:|" * (len(header) - 1)]
    for row in ROWS:
        cells = [label(row)]
        for name in names:
            one = results[name][row]
            cells += [rate(one.per_s), micros(one.p50_us), micros(one.p99_us)]
        cells += [ratio(results[OURS][row].per_s / results[name][row].per_s) for name in others]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def goals_line(section: FileTreeSection) -> str:
    """The issue's goals (≥ 2x py-key-value-aio and ≥ 1x persidict on every row), met or not with the ratios."""
    goal = "≥ 2x py-key-value-aio and ≥ 1x persidict on every row"
    results = section.results
    missing = [name for name in (OURS, *TARGETS) if name not in results]
    if missing:
        return f"**Goals** ({goal}): not judged, {' and '.join(missing)} not measured."
    parts: list[str] = []
    misses: list[str] = []
    for row in ROWS:
        ratios = {name: results[OURS][row].per_s / results[name][row].per_s for name in TARGETS}
        parts.append(f"{label(row)} " + ", ".join(f"{ratio(ratios[name])} {name}" for name in TARGETS))
        misses += [
            f"{label(row)} vs {name} ({ratio(ratios[name])})" for name in TARGETS if ratios[name] < TARGETS[name]
        ]
    verdict = "met" if not misses else "NOT met on " + ", ".join(misses)
    busy = ""
    if max(section.cpu_wait.values()) > QUIET_CPU_WAIT:
        busy = f" (a measuring process waited for a CPU more than {QUIET_CPU_WAIT:.0%} of its time: ratios unreliable)"
    return f"**Goals** ({goal}): {verdict}{busy}. Ours over theirs: " + "; ".join(parts) + "."


def section_lines(section: FileTreeSection) -> list[str]:
    waits = ", ".join(f"{name} {wait:.0%}" for name, wait in section.cpu_wait.items())
    versions = ", ".join(f"{name} {version}" for name, version in section.versions.items())
    lines = [
        "",
        "## FileTreeStore",
        "",
        METHOD,
        "",
        f"Versions: {versions}. CPU wait while measuring: {waits}.",
    ]
    lines += [f"- {note}" for note in section.notes]
    if OURS in section.results:
        lines += ["", *table(section.results)]
    lines += ["", goals_line(section)]
    return lines

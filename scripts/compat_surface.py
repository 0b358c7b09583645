"""Compare our public API with py-key-value-aio 0.4.x's, both described by `api_surface.py`.

`make test` runs this through `scripts/tests/test_api_surface.py`; run it by hand to see the report:
`uv run python scripts/compat_surface.py`. py-key-value-aio is installed once into
`.cache/compat/py-key-value-aio-0.4` (same interpreter, from the package index) and described there;
our two twins are described in our own environment. The sync twin is compared with the same
upstream description after the code generator's renames (`AsyncKeyValue` -> `KeyValue`, `__aenter__` ->
`__enter__`, coroutines -> plain functions): py-key-value-sync, the upstream sync line, is not on the
package index this project can reach.

Every gap gets an id in upstream's own names; `docs/compatibility.md` lists the deliberate ones (a table
whose first column is the id, in backticks) with their reasons. A gap not listed there is a failure, and
so is a listed id that is no longer a gap (the list must say the truth). Store modules of backends we do
not have yet are reported apart, not as failures.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_sync_library import rename_identifier, rename_module

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from testing.py_key_value import python as upstream_python  # the venv of py-key-value-aio 0.4.x, made once

ROOT = Path(__file__).resolve().parent.parent
DESCRIBE = Path(__file__).with_name("api_surface.py")
DIFFERENCES = ROOT / "docs" / "compatibility.md"
#: Upstream store packages for backends this project has no store for (yet): reported, not failures.
NOT_YET = frozenset(
    {
        "aerospike",
        "azure_tables",
        "chdb",
        "duckdb",
        "elasticsearch",
        "firestore",
        "keyring",
        "mongodb",
        "opensearch",
        "rocksdb",
        "vault",
        "windows_registry",
    }
)
_STORE_MODULE = re.compile(r"^key_value\.aio\.stores\.(\w+)")
_POSITIONAL = ("positional-only", "positional-or-keyword")


def describe(python: Path | str, root: str) -> dict[str, Any]:
    """Run `api_surface.py` with `python` and return its description of package `root`."""
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PY_KEY_VALUE_DISABLE_BEARTYPE"] = "1"  # upstream's import-time type-check claw, off for speed
    done = subprocess.run(
        [str(python), str(DESCRIBE), root], check=True, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    return cast("dict[str, Any]", json.loads(done.stdout))


@dataclass(frozen=True)
class Twin:
    """How an upstream (async) name is spelled in one of our twins."""

    name: str
    module: Callable[[str], str]
    identifier: Callable[[str], str]
    coroutines: bool


AIO = Twin("aio", module=lambda name: name, identifier=lambda name: name, coroutines=True)
SYNC = Twin("sync", module=rename_module, identifier=rename_identifier, coroutines=False)


@dataclass
class Report:
    """What a comparison found: gaps by id (with a note), and upstream modules we do not have yet."""

    gaps: dict[str, str] = field(default_factory=dict[str, str])
    not_yet: set[str] = field(default_factory=set[str])

    def add(self, gap: str, note: str = "") -> None:
        self.gaps.setdefault(gap, note)


def _member(defined_in: str, name: str) -> str:
    return f"{defined_in}.{name}"


def _compare_parameters(
    report: Report, where: str, upstream: list[dict[str, Any]] | None, ours: list[dict[str, Any]] | None
) -> None:
    """Ours must accept every call upstream accepts: each parameter by name, kind, default and position."""
    if upstream is None:
        return
    if ours is None:
        report.add(f"signature {where}", "ours has no inspectable signature")
        return
    by_name = {parameter["name"]: parameter for parameter in ours}
    ours_var = {parameter["kind"] for parameter in ours} & {"*args", "**kwargs"}
    for parameter in upstream:
        name, kind = parameter["name"], parameter["kind"]
        if kind in ("*args", "**kwargs"):
            if kind not in ours_var:
                report.add(f"parameter {where}({kind})", "upstream takes it, ours does not")
            continue
        mine = by_name.get(name)
        if mine is None:
            default = "required" if parameter["default"] is None else f"default {parameter['default']}"
            report.add(f"parameter {where}({name})", f"upstream: {kind}, {default}")
            continue
        if kind in _POSITIONAL and mine["kind"] not in _POSITIONAL:
            report.add(f"kind {where}({name})", f"upstream {kind}, ours {mine['kind']}")
        if kind == "positional-or-keyword" and mine["kind"] == "positional-only":
            report.add(f"kind {where}({name})", "upstream accepts it by keyword, ours does not")
        if parameter["default"] is not None and mine["default"] != parameter["default"]:
            report.add(f"default {where}({name})", f"upstream {parameter['default']}, ours {mine['default']}")
        if parameter["default"] is None and mine["default"] is not None:
            continue  # ours is optional where upstream requires it: every upstream call still works
    up_positional = [p["name"] for p in upstream if p["kind"] in _POSITIONAL]
    our_positional = [p["name"] for p in ours if p["kind"] in _POSITIONAL]
    comparable = all(name in by_name and by_name[name]["kind"] in _POSITIONAL for name in up_positional)
    if comparable and our_positional[: len(up_positional)] != up_positional:
        report.add(f"order {where}", f"upstream {up_positional}, ours {our_positional}")


def _compare_class(report: Report, twin: Twin, upstream: dict[str, Any], ours: dict[str, Any]) -> None:
    where = upstream["defined_in"]
    for base in upstream["bases"]:
        if twin.identifier(base) not in ours["bases"] and base not in ("Generic", "Protocol", "ABC"):
            report.add(f"base {where} < {base}")
    for method, described in cast("dict[str, dict[str, Any]]", upstream["methods"]).items():
        mine = cast("dict[str, Any] | None", ours["methods"].get(twin.identifier(method)))
        if mine is None:
            report.add(f"method {_member(where, method)}")
            continue
        if described.get("property"):
            if not mine.get("property"):
                report.add(f"property {_member(where, method)}", "upstream: a property, ours: a method")
            continue
        if mine.get("property"):
            report.add(f"property {_member(where, method)}", "upstream: a method, ours: a property")
            continue
        if described.get("async") and mine.get("async") != twin.coroutines:
            report.add(f"async {_member(where, method)}", f"ours async={mine.get('async')}")
        _compare_parameters(report, _member(where, method), described.get("parameters"), mine.get("parameters"))


def _compare_module(
    report: Report, twin: Twin, module: str, upstream: dict[str, Any], ours: dict[str, Any], *, compared: set[str]
) -> None:
    """Each public name of an upstream module; a class or function re-exported in several is compared once."""
    for name, item in cast("dict[str, dict[str, Any]]", upstream["names"]).items():
        counterpart = cast("dict[str, Any] | None", ours["names"].get(twin.identifier(name)))
        if counterpart is None:
            report.add(f"name {module}:{name}", item["kind"])
            continue
        if item["kind"] != counterpart["kind"] and item["kind"] != "value":
            report.add(f"kind {module}:{name}", f"upstream a {item['kind']}, ours a {counterpart['kind']}")
            continue
        defined_in = item.get("defined_in", f"{module}:{name}")
        if defined_in in compared:
            continue
        compared.add(defined_in)
        if item["kind"] == "class":
            _compare_class(report, twin, item, counterpart)
        elif item["kind"] == "function":
            _compare_parameters(report, defined_in, item.get("parameters"), counterpart.get("parameters"))


def compare(upstream: dict[str, Any], ours: dict[str, Any], twin: Twin) -> Report:
    """Every way in which `ours` (one twin) fails to offer what `upstream` offers, by gap id."""
    report = Report()
    ours_modules = cast("dict[str, dict[str, Any]]", ours["modules"])
    compared: set[str] = set()
    for module in upstream["import_errors"]:
        store = _STORE_MODULE.match(module)
        if store and store[1] in NOT_YET:
            report.not_yet.add(module)
        else:
            report.add(f"upstream-import {module}", upstream["import_errors"][module])
    for module, described in cast("dict[str, dict[str, Any]]", upstream["modules"]).items():
        store = _STORE_MODULE.match(module)
        mine = ours_modules.get(twin.module(module))
        if mine is not None:
            _compare_module(report, twin, module, described, mine, compared=compared)
        elif store and store[1] in NOT_YET:
            report.not_yet.add(module)
        else:
            report.add(f"module {module}")
    for module, error in cast("dict[str, str]", ours["import_errors"]).items():
        report.add(f"import {module}", f"ours fails to import: {error}")
    return report


def documented_differences(path: Path = DIFFERENCES) -> dict[str, str]:
    """The ids of the deliberate differences in `docs/compatibility.md`, with the twin they apply to.

    Rows of the tables under the heading "Deliberate differences" whose first cell is one backticked id;
    a second cell of `aio` or `sync` limits a row to one twin, `both` (or anything else) covers both.
    """
    differences: dict[str, str] = {}
    in_section = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            in_section = line.strip() == "## Deliberate differences"
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if in_section and len(cells) >= 3 and re.fullmatch(r"`[^`]+`", cells[0]):
            differences[cells[0].strip("`")] = cells[1] if cells[1] in ("aio", "sync") else "both"
    return differences


def undocumented(report: Report, twin: Twin, differences: dict[str, str]) -> dict[str, str]:
    return {gap: note for gap, note in report.gaps.items() if differences.get(gap) not in ("both", twin.name)}


def stale(reports: dict[str, Report], differences: dict[str, str]) -> list[str]:
    """Documented ids that are a gap in none of the twins they name."""
    found: list[str] = []
    for gap, scope in differences.items():
        twins = ("aio", "sync") if scope == "both" else (scope,)
        if not any(gap in reports[name].gaps for name in twins):
            found.append(gap)
    return found


def describe_all() -> Iterator[tuple[Twin, dict[str, Any], dict[str, Any]]]:
    upstream = describe(upstream_python(), "key_value.aio")
    for twin in (AIO, SYNC):
        yield twin, upstream, describe(sys.executable, f"key_value.{twin.name}")


def main() -> int:
    differences = documented_differences()
    reports: dict[str, Report] = {}
    failed = False
    for twin, upstream, ours in describe_all():
        report = reports[twin.name] = compare(upstream, ours, twin)
        open_gaps = undocumented(report, twin, differences)
        documented = len(report.gaps) - len(open_gaps)
        print(f"{twin.name}: {len(report.gaps)} differences, {documented} documented, {len(open_gaps)} not")
        for gap, note in sorted(open_gaps.items()):
            print(f"  {gap}  {note}".rstrip())
        failed = failed or bool(open_gaps)
    not_yet = sorted(reports["aio"].not_yet)
    print(f"backends not here yet ({len(not_yet)} upstream modules): " + ", ".join(not_yet))
    outdated = stale(reports, differences)
    for gap in outdated:
        print(f"documented but no longer a difference: {gap}")
    return 1 if failed or outdated else 0


if __name__ == "__main__":
    sys.exit(main())

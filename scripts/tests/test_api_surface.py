"""Our public API against py-key-value-aio 0.4.x's, both twins: no gap that docs/compatibility.md does not list.

The upstream package is installed from the package index into its own venv once per cache (see
`scripts/compat_surface.py`); both sides are described by `scripts/api_surface.py` in their own
interpreter. The first tests check the comparison itself on small made-up surfaces, so that a gap of
each kind is known to be caught.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import compat_surface as surface  # noqa: E402


def _parameter(name: str, kind: str = "keyword-only", default: str | None = None) -> dict[str, Any]:
    return {"name": name, "kind": kind, "default": default}


def _surface(root: str, methods: dict[str, Any], bases: list[str] | None = None) -> dict[str, Any]:
    store = {
        "kind": "class",
        "defined_in": f"{root}.stores.demo.store:DemoStore",
        "bases": bases if bases is not None else ["BaseStore", "AsyncKeyValue" if root.endswith("aio") else "KeyValue"],
        "methods": methods,
    }
    return {
        "root": root,
        "modules": {f"{root}.stores.demo": {"all": False, "names": {"DemoStore": store}}},
        "import_errors": {},
    }


UPSTREAM_METHODS: dict[str, Any] = {
    "__init__": {
        "async": False,
        "parameters": [
            _parameter("url", "positional-or-keyword"),
            _parameter("client", "positional-or-keyword", "None"),
            _parameter("default_collection", default="None"),
        ],
    },
    "get": {"async": True, "parameters": [_parameter("key", "positional-or-keyword"), _parameter("collection")]},
    "__aenter__": {"async": True, "parameters": []},
}


def _gaps(ours: dict[str, Any], twin: surface.Twin = surface.AIO) -> set[str]:
    root = "key_value.aio" if twin is surface.AIO else "key_value.sync"
    return set(surface.compare(_surface("key_value.aio", UPSTREAM_METHODS), _surface(root, ours), twin).gaps)


def _with(method: str, **changes: Any) -> dict[str, Any]:
    methods = {name: dict(described) for name, described in UPSTREAM_METHODS.items()}
    methods[method] = {**methods[method], **changes}
    return methods


WHERE = "key_value.aio.stores.demo.store:DemoStore"


def test_the_same_surface_has_no_gap() -> None:
    assert _gaps(UPSTREAM_METHODS) == set()


def test_extra_optional_parameters_and_optional_upstream_required_ones_are_fine() -> None:
    init = UPSTREAM_METHODS["__init__"]["parameters"]
    relaxed = [{**init[0], "default": "None"}, *init[1:], _parameter("timeout", default="5.0")]
    assert _gaps(_with("__init__", parameters=relaxed)) == set()


@pytest.mark.parametrize(
    ("parameters", "gap"),
    [
        (
            [_parameter("url", "positional-or-keyword"), _parameter("default_collection", default="None")],
            f"parameter {WHERE}.__init__(client)",
        ),
        (
            [
                _parameter("url", "positional-or-keyword"),
                _parameter("client", default="None"),
                _parameter("default_collection", default="None"),
            ],
            f"kind {WHERE}.__init__(client)",
        ),
        (
            [
                _parameter("url", "positional-or-keyword"),
                _parameter("client", "positional-or-keyword", "1"),
                _parameter("default_collection", default="None"),
            ],
            f"default {WHERE}.__init__(client)",
        ),
        (
            [
                _parameter("client", "positional-or-keyword", "None"),
                _parameter("url", "positional-or-keyword"),
                _parameter("default_collection", default="None"),
            ],
            f"order {WHERE}.__init__",
        ),
    ],
    ids=["missing", "kind", "default", "order"],
)
def test_parameter_gaps_are_found(parameters: list[dict[str, Any]], gap: str) -> None:
    assert _gaps(_with("__init__", parameters=parameters)) == {gap}


def test_missing_methods_bases_and_names_are_found() -> None:
    methods = {name: described for name, described in UPSTREAM_METHODS.items() if name != "get"}
    assert _gaps(methods) == {f"method {WHERE}.get"}
    assert _gaps(_with("get", **{"async": False})) == {f"async {WHERE}.get"}
    upstream = _surface("key_value.aio", UPSTREAM_METHODS)
    report = surface.compare(upstream, _surface("key_value.aio", UPSTREAM_METHODS, bases=["BaseStore"]), surface.AIO)
    assert set(report.gaps) == {f"base {WHERE} < AsyncKeyValue"}
    empty: dict[str, Any] = {
        "root": "key_value.aio",
        "modules": {"key_value.aio.stores.demo": {"names": {}}},
        "import_errors": {},
    }
    assert set(surface.compare(upstream, empty, surface.AIO).gaps) == {"name key_value.aio.stores.demo:DemoStore"}


def test_the_sync_twin_is_compared_through_the_generators_renames() -> None:
    sync_methods: dict[str, Any] = {
        "__init__": UPSTREAM_METHODS["__init__"],
        "get": {**UPSTREAM_METHODS["get"], "async": False},
        "__enter__": {"async": False, "parameters": []},
    }
    assert _gaps(sync_methods, surface.SYNC) == set()
    still_async: dict[str, Any] = {**sync_methods, "get": UPSTREAM_METHODS["get"]}
    assert _gaps(still_async, surface.SYNC) == {f"async {WHERE}.get"}
    sync = _surface("key_value.sync", sync_methods, bases=["BaseStore"])
    report = surface.compare(_surface("key_value.aio", UPSTREAM_METHODS), sync, surface.SYNC)
    assert set(report.gaps) == {f"base {WHERE} < AsyncKeyValue"}  # reported in upstream's names


def test_backends_we_do_not_have_are_reported_not_failed() -> None:
    upstream = _surface("key_value.aio", UPSTREAM_METHODS)
    upstream["import_errors"] = {"key_value.aio.stores.rocksdb": "ModuleNotFoundError: rocksdict"}
    upstream["modules"]["key_value.aio.stores.vault"] = {"names": {}}
    report = surface.compare(upstream, _surface("key_value.aio", UPSTREAM_METHODS), surface.AIO)
    assert report.gaps == {}
    assert report.not_yet == {"key_value.aio.stores.rocksdb", "key_value.aio.stores.vault"}


# The real packages.


@pytest.fixture(scope="module")
def reports() -> dict[str, surface.Report]:
    return {twin.name: surface.compare(up, ours, twin) for twin, up, ours in surface.describe_all()}


@pytest.mark.parametrize("twin", [surface.AIO, surface.SYNC], ids=lambda twin: twin.name)
def test_no_undocumented_difference(reports: dict[str, surface.Report], twin: surface.Twin) -> None:
    differences = surface.documented_differences()
    open_gaps = surface.undocumented(reports[twin.name], twin, differences)
    assert not open_gaps, "\n".join(f"{gap}  {note}" for gap, note in sorted(open_gaps.items()))


def test_every_documented_difference_is_real(reports: dict[str, surface.Report]) -> None:
    assert surface.stale(reports, surface.documented_differences()) == []


def test_the_backends_not_here_yet_are_the_ones_the_docs_name(reports: dict[str, surface.Report]) -> None:
    found = {module.split(".")[3] for module in reports["aio"].not_yet}
    text = surface.DIFFERENCES.read_text(encoding="utf-8")
    section = text.split("## Backends not here yet", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"`key_value\.aio\.stores\.(\w+)`", section)) == found

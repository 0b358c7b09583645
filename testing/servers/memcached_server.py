"""Memcached for the test session, from the system's `memcached`.

Fixtures: `memcached_server` (session) and `private_memcached_server` (one test's own, which that test
may stop and start again on the same port). As root, memcached runs as an unprivileged user (it
refuses root without `-u`). Items may be up to 4 MiB, so the contract's 1 MB value fits.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testing.servers._process import LOOPBACK, ServerProcess, find_binary, free_port, unavailable, unprivileged_user

INSTALL_HINT = "memcached was not found; install it with `apt-get install redis-server memcached`"
MAX_ITEM_SIZE = 4 * 1024 * 1024


@dataclass
class MemcachedServer:
    """A running memcached; `command()` sends one raw text-protocol command to look behind a store's back."""

    process: ServerProcess

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def port(self) -> int:
        return self.process.port

    def command(self, line: bytes, *, until: bytes = b"\r\n") -> bytes:
        """Send `line` (CRLF added) and return the reply up to and including `until`."""
        with socket.create_connection((LOOPBACK, self.port), timeout=5) as connection:
            connection.sendall(line + b"\r\n")
            reply = b""
            while not reply.endswith(until):
                chunk = connection.recv(65536)
                if not chunk:
                    break
                reply += chunk
            return reply

    def flush(self) -> None:
        """Drop every item, so that each test starts from nothing."""
        assert self.command(b"flush_all") == b"OK\r\n"

    def stop(self) -> None:
        self.process.stop()


def start_memcached(workdir: Path, *extra: str) -> MemcachedServer:
    """A memcached on a free loopback port, with `extra` arguments (e.g. `-o`, `no_lru_crawler`)."""
    binary = find_binary("memcached")
    if binary is None:
        unavailable(INSTALL_HINT)
    assert binary is not None
    port = free_port()
    user = unprivileged_user()
    argv = [binary, "-l", LOOPBACK, "-p", str(port), "-U", "0", "-m", "64", "-I", str(MAX_ITEM_SIZE)]
    if user is not None:
        argv += ["-u", user.pw_name]
    argv += extra
    return MemcachedServer(ServerProcess(name=f"memcached-{port}", argv=argv, port=port, workdir=workdir).start())


@pytest.fixture(scope="session")
def memcached_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MemcachedServer]:
    server = start_memcached(tmp_path_factory.mktemp("memcached"))
    yield server
    server.stop()


@pytest.fixture
def private_memcached_server(tmp_path: Path) -> Iterator[MemcachedServer]:
    """A server of this test's own, to stop and restart (`server.process.start()` reuses the port)."""
    server = start_memcached(tmp_path / "memcached")
    yield server
    server.stop()

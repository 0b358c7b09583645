"""Redis for the test session, from the system's `redis-server`: one node, a TLS node, a cluster.

Fixtures: `redis_server` and `redis_cluster` (session), `redis_tls_server` (session; a `rediss://` URL
with username and password, and the CA to trust), `private_redis_server` (one test's own node, which
that test may stop and start again on the same port). The session nodes know the user `USER`
(password `PASSWORD`) besides the default user; the TLS node only that user.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testing.servers._process import LOOPBACK, find_binary, free_port, unavailable
from testing.servers._resp import RespCluster, RespServer, start_cluster, start_node

INSTALL_HINT = "redis-server was not found; install it with `apt-get install redis-server memcached`"
USER = "kvuser"
PASSWORD = "kv-secret"  # a throwaway test server's
USER_OPTIONS = ("--user", USER, "on", f">{PASSWORD}", "~*", "&*", "+@all")


def redis_binary() -> str:
    binary = find_binary("redis-server")
    if binary is None:
        unavailable(INSTALL_HINT)
    assert binary is not None
    return binary


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RespServer]:
    server = RespServer(start_node("redis", redis_binary(), tmp_path_factory.mktemp("redis"), *USER_OPTIONS))
    yield server
    server.stop()


@pytest.fixture
def private_redis_server(tmp_path: Path) -> Iterator[RespServer]:
    """A node of this test's own, to stop and restart (`server.process.start()` reuses the port)."""
    server = RespServer(start_node("redis", redis_binary(), tmp_path / "redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RespCluster]:
    cluster = start_cluster("redis-cluster", redis_binary(), tmp_path_factory.mktemp("redis-cluster"))
    yield cluster
    cluster.stop()


@dataclass
class TLSServer:
    """A node that speaks only TLS, to the user `USER` only."""

    server: RespServer
    ca_file: Path

    @property
    def url(self) -> str:
        return f"rediss://{USER}:{PASSWORD}@{LOOPBACK}:{self.server.port}/0"


@pytest.fixture(scope="session")
def redis_tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSServer]:
    binary = redis_binary()
    workdir = tmp_path_factory.mktemp("redis-tls")
    ca_file, cert_file, key_file = _write_certificates(workdir)
    port = free_port()
    options = [
        *("--tls-port", str(port), "--tls-cert-file", str(cert_file), "--tls-key-file", str(key_file)),
        *("--tls-ca-cert-file", str(ca_file), "--tls-auth-clients", "no"),
        *USER_OPTIONS,
        *("--user", "default", "off"),
    ]
    # The plain port is switched off; the TLS port is the one the process is watched on.
    process = start_node("redis-tls", binary, workdir, *options, "--port", "0", port=port)
    server = TLSServer(RespServer(process), ca_file)
    yield server
    server.server.stop()


def _write_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key) files."""
    from cryptography import x509  # noqa: PLC0415 - only the TLS server needs it
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "key-value test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOOPBACK)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_file, cert_file, key_file

"""moto in server mode for the test session: S3 and DynamoDB over real HTTP, from the `moto[server]` dev dependency.

Fixtures: `moto_server` (session), and `serial_moto_server` (session): a second moto that answers one
request at a time, for the cross-process races. moto's usual server answers on threads and takes no
lock between a conditional write's check and its write (S3 and DynamoDB do: their conditional writes
are atomic for every client), so 8 racing processes can lose an increment on it. The stores and
clients under test get the endpoint, region and dummy credentials from it explicitly. While it runs,
the environment keeps the user's AWS configuration out (no ~/.aws files, no profile, no instance
metadata lookups) and sets standard retries with 3 attempts; all of that is undone when the session
ends. `reset()` empties every bucket and table between tests.
"""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import pytest

from testing.servers._process import LOOPBACK, ServerProcess, find_binary, free_port, unavailable

INSTALL_HINT = "moto_server was not found; install the dev dependencies (`uv sync`, which brings moto[server])"
REGION = "us-east-1"
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"

#: The environment while the server runs: nothing from the user's AWS setup, quick failure on errors.
ENVIRONMENT = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_RETRY_MODE": "standard",
    "AWS_MAX_ATTEMPTS": "3",
}
#: Variables removed while the server runs, so that the user's settings cannot leak into the tests.
CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_CA_BUNDLE",
)


class AwsCredentials(TypedDict):
    """Keyword arguments for a store, an aioboto3/boto3 session, or a client."""

    aws_access_key_id: str
    aws_secret_access_key: str
    region_name: str


@dataclass
class MotoServer:
    """A running moto server: where it is, and the settings every store and client under test gets."""

    process: ServerProcess

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.process.port}"

    @property
    def region_name(self) -> str:
        return REGION

    @property
    def credentials(self) -> AwsCredentials:
        """Dummy credentials and the region, as keyword arguments for a store, a session or a client."""
        return {"aws_access_key_id": ACCESS_KEY_ID, "aws_secret_access_key": SECRET_ACCESS_KEY, "region_name": REGION}

    def reset(self) -> None:
        """Forget every bucket, object and table, so that each test starts from nothing."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def stop(self) -> None:
        self.process.stop()


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/moto-api/", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


#: moto's own app behind werkzeug without threads (moto_server has no option for it).
_SERIAL = "; ".join(
    [
        "import sys",
        "from werkzeug.serving import run_simple",
        "from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app",
        "run_simple(sys.argv[1], int(sys.argv[2]), DomainDispatcherApplication(create_backend_app), threaded=False)",
    ]
)


def start_moto(workdir: Path, *, serial: bool = False) -> MotoServer:
    binary = find_binary("moto_server", Path(sys.executable).parent / "moto_server")
    if binary is None:
        unavailable(INSTALL_HINT)
    assert binary is not None
    port = free_port()
    argv = [sys.executable, "-c", _SERIAL, LOOPBACK, str(port)] if serial else [binary, "-H", LOOPBACK, "-p", str(port)]
    process = ServerProcess(
        name=f"moto-{'serial-' if serial else ''}{port}",
        argv=argv,
        port=port,
        workdir=workdir,
        ready=lambda: _ready(port),
    )
    return MotoServer(process.start())


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    workdir = tmp_path_factory.mktemp("moto")
    with pytest.MonkeyPatch.context() as patch:
        for name in CLEARED:
            patch.delenv(name, raising=False)
        for name, value in ENVIRONMENT.items():
            patch.setenv(name, value)
        # Files that do not exist: botocore then reads no config or credentials of the user's.
        patch.setenv("AWS_CONFIG_FILE", str(workdir / "no-config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(workdir / "no-credentials"))
        server = start_moto(workdir)
        yield server
        server.stop()


@pytest.fixture(scope="session")
def serial_moto_server(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:  # noqa: ARG001
    """A moto answering one request at a time (see the module docstring), in `moto_server`'s environment
    (hence the fixture it takes but does not use)."""
    server = start_moto(tmp_path_factory.mktemp("moto-serial"), serial=True)
    yield server
    server.stop()

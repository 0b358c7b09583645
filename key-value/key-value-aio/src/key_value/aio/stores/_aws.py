"""Plumbing shared by the AWS stores (S3, DynamoDB): clients, error translation and bounded concurrency.

Clients: the async twin's clients (aiobotocore) are async context managers whose connections belong
to the event loop that entered them, so it makes one per running loop (via `LazyClient`) and exits it
when the store closes or the loop shuts down; the sync twin's boto3 client is a plain thread-safe
object, one per store. A client the caller passes is used as it is and never closed; a session the
caller passes is used to make our own clients. Retries, timeouts and checksums follow botocore's
configuration (environment, ~/.aws/config); only the connection pool is sized to `MAX_CONCURRENCY`,
so bulk calls do not queue for connections.

Errors: botocore's exceptions become ours: connection failures `StoreConnectionError`, timeouts
`StoreTimeoutError` (one of those), missing credentials or region `StoreSetupError`, and any other
failure `KeyValueStoreError` naming the operation and AWS error code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import aioboto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from key_value.aio.stores._lazy_client import LazyClient
from key_value.shared.errors import (
    InvalidArgumentError,
    KeyValueStoreError,
    StoreConnectionError,
    StoreSetupError,
    StoreTimeoutError,
)

#: Requests one bulk operation keeps in flight; the clients we make get a connection pool this large.
MAX_CONCURRENCY = 32

#: What the AWS clients raise: botocore's own errors and the service's error replies.
AWS_ERRORS = (BotoCoreError, ClientError)

_SETUP_ERRORS = (NoCredentialsError, PartialCredentialsError, NoRegionError, ProfileNotFound)

ApiT = TypeVar("ApiT")
ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class Connection(Generic[ApiT]):
    """A typed API over one botocore client, and what closes that client (None for a caller's client)."""

    api: ApiT
    closer: Any


@dataclass(frozen=True)
class AwsSettings:
    """How to reach an AWS service when the store makes its own clients."""

    session: aioboto3.Session | None = None
    region_name: str | None = None
    endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None

    def make_session(self) -> aioboto3.Session:
        """The caller's session, or a new one with these credentials and region."""
        if self.session is not None:
            return self.session
        return aioboto3.Session(
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=self.aws_secret_access_key,
            aws_session_token=self.aws_session_token,
            region_name=self.region_name,
        )

    def check(self) -> None:
        """Refuse credentials or a region given together with a session that already has its own."""
        given = (self.region_name, self.aws_access_key_id, self.aws_secret_access_key, self.aws_session_token)
        if self.session is not None and any(setting is not None for setting in given):
            raise InvalidArgumentError("pass either session= or region_name=/aws_* credentials, not both")


def aws_clients(
    service: str,
    make_api: Callable[[Any], ApiT],
    *,
    client: BaseClient | None,
    settings: AwsSettings,
) -> LazyClient[Connection[ApiT]]:
    """Clients of `service`, each wrapped by `make_api`: the caller's `client`, or ours made from `settings`."""
    settings.check()
    if client is not None:
        if settings != AwsSettings():
            raise InvalidArgumentError("pass either client= or the settings to make one (session=, endpoint_url=, ...)")
        return LazyClient.given(Connection(make_api(client), None))

    async def connect() -> Connection[ApiT]:
        with translated(service, "connect"):
            raw, closer = await _open(settings, service)
        return Connection(make_api(raw), closer)

    return LazyClient(connect, _close)


_CONFIG = Config(max_pool_connections=MAX_CONCURRENCY)

if True:  # ASYNC

    async def _open(settings: AwsSettings, service: str) -> tuple[Any, Any]:
        """Enter a new aioboto3 client; return it and its context manager, which closes it."""
        session = cast("Any", settings.make_session())  # aioboto3 is untyped
        context = session.client(service, endpoint_url=settings.endpoint_url, config=_CONFIG)
        return await context.__aenter__(), context

    async def _close(connection: Connection[Any]) -> None:
        await connection.closer.__aexit__(None, None, None)

    async def run_bounded(function: Callable[[ItemT], Awaitable[ResultT]], items: Sequence[ItemT]) -> list[ResultT]:
        """`function` on every item, at most `MAX_CONCURRENCY` at once; results in order, the first error raised."""
        if len(items) <= 1:
            return [await function(item) for item in items]
        semaphore = asyncio.Semaphore(MAX_CONCURRENCY)

        async def one(item: ItemT) -> ResultT:
            async with semaphore:
                return await function(item)

        # Every request finishes (or fails) before this returns, so none is left running unobserved.
        results: list[ResultT] = []
        for outcome in await asyncio.gather(*(one(item) for item in items), return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome
            results.append(outcome)
        return results

else:

    def _open(settings: AwsSettings, service: str) -> tuple[Any, Any]:
        """Make a new boto3 client; it closes itself."""
        session = cast("Any", settings.make_session())  # boto3 is untyped
        raw = session.client(service, endpoint_url=settings.endpoint_url, config=_CONFIG)
        return raw, raw

    def _close(connection: Connection[Any]) -> None:
        connection.closer.close()

    def run_bounded(function: Callable[[ItemT], ResultT], items: Sequence[ItemT]) -> list[ResultT]:
        """`function` on every item from up to `MAX_CONCURRENCY` threads; results in order, the first error raised."""
        if len(items) <= 1:
            return [function(item) for item in items]
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - imported only where threads are used

        with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENCY, len(items))) as pool:
            futures = [pool.submit(function, item) for item in items]
        return [future.result() for future in futures]


@contextmanager
def translated(service: str, operation: str, *, ignore: frozenset[str] = frozenset()) -> Generator[None, None, None]:
    """Raise botocore's errors inside the block as ours; one whose AWS code is in `ignore` just ends the block."""
    try:
        yield
    except AWS_ERRORS as exc:
        if error_code(exc) not in ignore:
            raise aws_error(exc, service, operation) from exc


def aws_error(exc: Exception, service: str, operation: str) -> KeyValueStoreError:
    """Our error for a botocore exception raised by `operation` on `service`."""
    message = f"{service} {operation} failed: {exc}"
    if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError)):
        return StoreTimeoutError(message)
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return StoreConnectionError(message)
    if isinstance(exc, _SETUP_ERRORS):
        return StoreSetupError(message)
    return KeyValueStoreError(message, extra_info={"code": error_code(exc)} if isinstance(exc, ClientError) else None)


def error_code(exc: Exception) -> str:
    """The AWS error code of a `ClientError` ("NoSuchKey", "404", ...), else ""."""
    if not isinstance(exc, ClientError):
        return ""
    response: Any = getattr(exc, "response", None) or {}  # botocore leaves it untyped
    return str(response.get("Error", {}).get("Code", ""))

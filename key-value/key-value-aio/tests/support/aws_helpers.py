"""Test helpers for the AWS stores: clients of our own on the moto server, and a counter of HTTP requests.

`RequestCounter` hooks botocore's events on a client (`before-send` fires once per HTTP request sent,
`response-received` once per answer or failure), so tests prove how many requests a bulk call sends
and that they overlap, in both twins.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any, cast

import aioboto3
import boto3
from botocore.config import Config

from key_value.aio.stores._aws import MAX_CONCURRENCY
from testing.servers.moto_server import MotoServer


@asynccontextmanager
async def aws_client(moto_server: MotoServer, service: str, **config: Any) -> AsyncGenerator[Any]:
    """An open client on the moto server, of the kind this twin uses, with a pool of `MAX_CONCURRENCY` connections."""
    session: Any = aioboto3.Session(**moto_server.credentials)
    options = {"max_pool_connections": MAX_CONCURRENCY, **config}
    if True:  # ASYNC
        async with session.client(service, endpoint_url=moto_server.endpoint_url, config=Config(**options)) as client:
            yield client
    else:
        client = session.client(service, endpoint_url=moto_server.endpoint_url, config=Config(**options))
        try:
            yield client
        finally:
            client.close()


def raw_client(moto_server: MotoServer, service: str, **options: Any) -> Any:
    """A plain boto3 client on the moto server, in both twins: to look behind a store's back."""
    settings = {**moto_server.credentials, **options}
    return cast("Any", boto3).client(service, endpoint_url=moto_server.endpoint_url, **settings)


class RequestCounter:
    """Counts the HTTP requests a botocore client sends, by operation, and the most in flight at once."""

    def __init__(self, client: Any) -> None:
        self.sent: Counter[str] = Counter()
        self.peak = 0
        self._in_flight = 0
        self._lock = threading.Lock()  # requests may be sent from several threads
        client.meta.events.register("before-send", self._before_send)
        client.meta.events.register("response-received", self._response_received)

    def _before_send(self, event_name: str, **kwargs: Any) -> None:
        with self._lock:
            self.sent[event_name.rsplit(".", 1)[-1]] += 1
            self._in_flight += 1
            self.peak = max(self.peak, self._in_flight)

    def _response_received(self, event_name: str, **kwargs: Any) -> None:
        with self._lock:
            self._in_flight -= 1

    def reset(self) -> None:
        """Forget what was counted so far."""
        with self._lock:
            self.sent.clear()
            self.peak = self._in_flight

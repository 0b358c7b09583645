"""`LazyClient`: the network client of a store, made on first use (in the async twin, once per event loop).

Async clients (redis-py, Valkey GLIDE, aiomcache) tie their sockets to the event loop that opened them,
so a store object used from a second loop (web test clients run the app in a loop of their own) fails
with "attached to a different loop" or "Event loop is closed". Here each loop gets its own client,
made in that loop on first use and closed when the loop shuts down: an async generator parked in the
loop is finalized by `loop.shutdown_asyncgens()`, which `asyncio.run` and `asyncio.Runner` call before
they close a loop. The sync twin keeps one client for all threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Generic, TypeVar

ClientT = TypeVar("ClientT")
GivenT = TypeVar("GivenT")

if True:  # ASYNC

    class LazyClient(Generic[ClientT]):
        """A client per event loop: `await get()` returns the running loop's, connecting it on first use.

        `disconnect=None` marks a caller's client: it is handed to every loop and never closed.
        """

        def __init__(
            self, connect: Callable[[], Awaitable[ClientT]], disconnect: Callable[[ClientT], Awaitable[None]] | None
        ) -> None:
            self._connect = connect
            self._disconnect = disconnect
            self._clients: dict[asyncio.AbstractEventLoop, ClientT] = {}
            self._keepers: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}
            self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

        @staticmethod
        def given(client: GivenT) -> LazyClient[GivenT]:
            """A caller's client: handed to every event loop as it is, never closed."""

            async def connect() -> GivenT:
                return client

            return LazyClient(connect, None)

        async def get(self) -> ClientT:
            """The client of the running event loop."""
            client = self._clients.get(asyncio.get_running_loop())
            return client if client is not None else await self._open()

        async def _open(self) -> ClientT:
            loop = asyncio.get_running_loop()
            lock = self._locks.get(loop)
            if lock is None:
                lock = self._locks[loop] = asyncio.Lock()
            async with lock:  # concurrent first uses in one loop share one connection attempt
                client = self._clients.get(loop)
                if client is None:
                    client = await self._connect()
                    keeper = self._keep(loop, client)
                    await anext(keeper)  # parks it in the loop, which finalizes it when shutting down
                    self._keepers[loop] = keeper
                    self._clients[loop] = client
            return client

        async def _keep(self, loop: asyncio.AbstractEventLoop, client: ClientT) -> AsyncGenerator[None, None]:
            try:
                yield
            finally:
                del self._clients[loop], self._keepers[loop], self._locks[loop]
                if self._disconnect is not None:
                    with contextlib.suppress(Exception):  # closing the client of an unreachable server may fail
                        await self._disconnect(client)

        async def discard(self, client: ClientT) -> None:
            """Close `client` if it is the running loop's, so that the next `get()` connects afresh."""
            loop = asyncio.get_running_loop()
            if self._clients.get(loop) is client:
                await self._keepers[loop].aclose()

        async def close(self) -> None:
            """Close the running loop's client; clients of other loops close when those loops shut down."""
            keeper = self._keepers.get(asyncio.get_running_loop())
            if keeper is not None:
                await keeper.aclose()

else:

    class LazyClient(Generic[ClientT]):
        """One client for all threads, connected on first use.

        `disconnect=None` marks a caller's client, which is never closed.
        """

        def __init__(self, connect: Callable[[], ClientT], disconnect: Callable[[ClientT], None] | None) -> None:
            self._connect = connect
            self._disconnect = disconnect
            self._client: ClientT | None = None
            self._lock = threading.Lock()

        @staticmethod
        def given(client: GivenT) -> LazyClient[GivenT]:
            """A caller's client: used as it is, never closed."""
            return LazyClient(lambda: client, None)

        def get(self) -> ClientT:
            """The client, connected on first use."""
            client = self._client
            return client if client is not None else self._open()

        def _open(self) -> ClientT:
            with self._lock:
                if self._client is None:
                    self._client = self._connect()
                return self._client

        def discard(self, client: ClientT) -> None:
            """Close `client` if it is the current one, so that the next `get()` connects afresh."""
            with self._lock:
                if self._client is not client:
                    return
                self._client = None
            if self._disconnect is not None:
                with contextlib.suppress(Exception):  # closing the client of an unreachable server may fail
                    self._disconnect(client)

        def close(self) -> None:
            """Close the client (never a caller's); the next `get()` connects again."""
            client = self._client
            if client is not None:
                self.discard(client)

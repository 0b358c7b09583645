"""`run(make)`: await what `make()` returns, where nats-py can run it.

nats-py is asyncio only. The store hands every NATS call to `run` as a function that starts it (so the
call begins inside the loop that will run it): the async twin awaits it in the running loop; the sync
twin, which has no loop of its own, runs it on one background event loop per process, in a daemon
thread, and blocks until it finishes. That loop owns the sync twin's NATS connections.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

if True:  # ASYNC

    async def run(make: Callable[[], Awaitable[T]]) -> T:
        """Await `make()` in the running event loop."""
        return await make()

else:

    class _BackgroundLoop:
        """An event loop running forever in a daemon thread."""

        def __init__(self) -> None:
            self.pid = os.getpid()
            self.loop = asyncio.new_event_loop()
            self.thread = threading.Thread(target=self.loop.run_forever, name="key-value-nats", daemon=True)
            self.thread.start()

        def run(self, make: Callable[[], Awaitable[T]]) -> T:
            if threading.current_thread() is self.thread:
                raise RuntimeError("a blocking key-value call was made on its own background event loop")
            outcome: concurrent.futures.Future[T] = concurrent.futures.Future()

            def start() -> None:
                try:
                    task = asyncio.ensure_future(make())
                except BaseException as exc:
                    outcome.set_exception(exc)
                    return
                task.add_done_callback(lambda done: _settle(outcome, done))

            self.loop.call_soon_threadsafe(start)
            return outcome.result()

    def _settle(outcome: concurrent.futures.Future[T], done: asyncio.Future[T]) -> None:
        if done.cancelled():
            outcome.cancel()
        elif (error := done.exception()) is not None:
            outcome.set_exception(error)
        else:
            outcome.set_result(done.result())

    _lock = threading.Lock()
    _background: _BackgroundLoop | None = None

    def _shared_loop() -> _BackgroundLoop:
        """The process's background loop, started on first use (and again in a forked child)."""
        global _background  # noqa: PLW0603 - one loop per process
        with _lock:
            if _background is None or _background.pid != os.getpid():
                _background = _BackgroundLoop()
            return _background

    def run(make: Callable[[], Awaitable[T]]) -> T:
        """Run `make()` on the shared background event loop and wait for its result."""
        return _shared_loop().run(make)

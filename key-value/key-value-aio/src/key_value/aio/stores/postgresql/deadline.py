"""Statement deadlines: a connection whose reply has not come within the store's timeout is shut down.

libpq waits for a reply as long as the socket stays open, and a server that stops answering (stopped,
swapped out, behind a dead link the kernel still acknowledges) never closes it; neither TCP keepalives
nor `statement_timeout` help then. Shutting the socket down wakes the waiting call at once with an
`OperationalError`, and the pool discards the broken connection when it comes back.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from psycopg import AsyncConnection
from typing_extensions import Self

if True:  # ASYNC
    import asyncio
else:

    class _Watchdog:
        """One daemon thread that runs the expiries of the sync twin's deadlines (which has no event loop).

        Deadlines are checked every `_TICK` seconds while any is pending; `remove()` and an expiry hold the
        same lock, so once `remove()` returns the expiry has either run completely or will never run.
        """

        _TICK = 0.05

        def __init__(self) -> None:
            self._lock = threading.Condition()
            self._pending: dict[int, tuple[float, Callable[[], None]]] = {}
            self._next = 0
            self._thread: threading.Thread | None = None

        def add(self, when: float, expire: Callable[[], None]) -> int:
            with self._lock:
                self._next += 1
                self._pending[self._next] = (when, expire)
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="key-value-postgresql-deadlines", daemon=True
                    )
                    self._thread.start()
                elif len(self._pending) == 1:
                    self._lock.notify()
                return self._next

        def remove(self, token: int) -> None:
            with self._lock:
                self._pending.pop(token, None)

        def _run(self) -> None:
            with self._lock:
                while True:
                    if not self._pending:
                        self._lock.wait()
                        continue
                    now = time.monotonic()
                    for token, (when, expire) in list(self._pending.items()):
                        if when <= now:
                            del self._pending[token]
                            expire()
                    self._lock.wait(self._TICK)

    _WATCHDOG = _Watchdog()
    # A forked child has the watchdog's state but not its thread: start afresh there.
    os.register_at_fork(after_in_child=_WATCHDOG.__init__)


class StatementDeadline:
    """`async with StatementDeadline(conn, seconds)`: shut `conn` down if the block outlasts `seconds`.

    `expired` then says the block failed because of the deadline (and not of something else).
    """

    __slots__ = ("_fd", "_seconds", "_timer", "expired")

    def __init__(self, conn: AsyncConnection[Any], seconds: float) -> None:
        self._fd = conn.pgconn.socket
        self._seconds = seconds
        self.expired = False

    async def __aenter__(self) -> Self:
        if True:  # ASYNC
            # Runs on this loop, so it cannot fire between the block's end and cancel().
            self._timer = asyncio.get_running_loop().call_later(self._seconds, self._expire)
        else:
            self._timer = _WATCHDOG.add(time.monotonic() + self._seconds, self._expire)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if True:  # ASYNC
            self._timer.cancel()
        else:
            _WATCHDOG.remove(self._timer)

    def _expire(self) -> None:
        self.expired = True
        _shut_down(self._fd)


def _shut_down(fd: int) -> None:
    """Shut the socket behind `fd` down (on a duplicate, so the connection still owns and closes its own)."""
    with contextlib.suppress(OSError), socket.socket(fileno=os.dup(fd)) as sock:
        sock.shutdown(socket.SHUT_RDWR)

"""`RoundTripCounter`: a loopback TCP proxy that counts a client's requests, for clients with no hook to count them.

A request is a burst of bytes from the client that follows the server's last reply on that connection
(or opens it). A pipeline written at once is one request however many commands it holds; a client that
waits for a reply before sending more makes one request per wait. Counting happens before the bytes
are forwarded, so by the time a client has its reply the count includes the request.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from dataclasses import dataclass
from types import TracebackType

from typing_extensions import Self

from testing.servers._process import LOOPBACK


@dataclass
class _Side:
    own: socket.socket
    other: socket.socket
    is_client: bool
    link: _Link


@dataclass
class _Link:
    client_spoke_last: bool = False


class RoundTripCounter:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target_port` and counts requests in `requests`."""

    def __init__(self, target_port: int) -> None:
        self.requests = 0
        self._target_port = target_port
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port: int = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, name="round-trip-counter", daemon=True)
        self._thread.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._stopping = True
        self._thread.join(timeout=5)
        for key in list(self._selector.get_map().values()):
            connection: socket.socket = key.fileobj  # pyright: ignore[reportAssignmentType] - only sockets are registered
            connection.close()
        self._selector.close()

    def _serve(self) -> None:
        while not self._stopping:
            for key, _ in self._selector.select(timeout=0.05):
                side: _Side | None = key.data
                if side is None:
                    self._accept()
                else:
                    self._forward(side)

    def _accept(self) -> None:
        client, _ = self._listener.accept()
        server = socket.create_connection((LOOPBACK, self._target_port))
        for connection in (client, server):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = _Link()
        self._selector.register(client, selectors.EVENT_READ, _Side(client, server, is_client=True, link=link))
        self._selector.register(server, selectors.EVENT_READ, _Side(server, client, is_client=False, link=link))

    def _forward(self, side: _Side) -> None:
        try:
            data = side.own.recv(1 << 20)
        except OSError:
            data = b""
        if not data:
            for connection in (side.own, side.other):
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(connection)
                connection.close()
            return
        if side.is_client and not side.link.client_spoke_last:
            self.requests += 1
        side.link.client_spoke_last = side.is_client
        with contextlib.suppress(OSError):
            side.other.sendall(data)

"""`MemcachedWire`: the few memcached requests the store sends, each one round trip, with our errors.

The async twin talks the text protocol itself over aiomcache's connection pool: aiomcache has no
pipelined sets or deletes and no timeouts, and a request it abandons (cancelled, or cut off by EOF)
can leave a connection out of step. Here a request and its replies run under a deadline; a connection
that fails, times out or is cancelled mid-request is closed, never reused. The sync twin calls
pymemcache, whose `get_many`, `set_many` and `delete_many` already send one request each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple, TypeVar, cast
from urllib.parse import unquote_to_bytes

from key_value.shared.errors import BaseKeyValueError, KeyValueStoreError, StoreConnectionError, ValueTooLargeError

if True:  # ASYNC
    from contextlib import suppress

    from aiomcache import Client
    from aiomcache.client import acquire
    from aiomcache.pool import Connection

    T = TypeVar("T")

    #: The client the async twin takes: aiomcache's.
    MemcachedClient = Client
else:
    from collections.abc import Generator
    from contextlib import contextmanager

    from pymemcache.client.base import Client, PooledClient
    from pymemcache.exceptions import MemcacheError, MemcacheUnexpectedCloseError

    #: The clients the store takes: pymemcache's `PooledClient` (safe to share between threads) or `Client`.
    MemcachedClient = PooledClient | Client


def new_wire(host: str, port: int, *, timeout: float | None) -> MemcachedWire:
    """A wire over a client of our own for host:port."""
    if True:  # ASYNC
        return MemcachedWire(Client(host, port), timeout=timeout)
    else:
        return MemcachedWire(PooledClient((host, port), connect_timeout=timeout, timeout=timeout), timeout=timeout)


def reply_error(line: bytes) -> BaseKeyValueError:
    """Our error for an unexpected reply line."""
    if b"object too large" in line:
        return ValueTooLargeError(message="the entry is larger than memcached's item size limit (its -I setting)")
    return KeyValueStoreError(f"memcached replied {line.strip()!r}")


class MetaItem(NamedTuple):
    """An item as a meta get reports it: its CAS unique, client flags, seconds left (-1: none) and data."""

    cas: int
    flags: int
    ttl: int
    data: bytes


def _meta_get_request(key: bytes, other: bytes | None) -> bytes:
    """A meta get of the item's CAS unique, flags, TTL and value, then a quiet one of `other`'s, and a no-op."""
    request = b"mg " + key + b" c f t v\r\n"
    if other is not None:
        request += b"mg " + other + b" c f t v q\r\n"
    return request + b"mn\r\n"


def _meta_item(line: bytes, data: bytes) -> MetaItem:
    fields = {token[:1]: token[1:] for token in line.split()[2:]}  # VA <size> c<cas> f<flags> t<ttl>
    return MetaItem(int(fields[b"c"]), int(fields[b"f"]), int(fields[b"t"]), data)


def _meta_set_request(
    key: bytes, data: bytes, *, flags: int, exptime: int, cas: int | None, discard: Sequence[bytes]
) -> bytes:
    """A meta set returning the new CAS unique: only if the item's CAS unique is `cas`, or (None) only if
    there is no item; then unanswered deletes of `discard`."""
    mode = b"ME" if cas is None else b"C%d" % cas
    request = b"ms %s %d c F%d T%d %s\r\n%s\r\n" % (key, len(data), flags, exptime, mode, data)
    return request + b"".join([b"delete " + name + b" noreply\r\n" for name in discard])


def _meta_delete_request(key: bytes, cas: int, discard: Sequence[bytes]) -> bytes:
    """A meta delete only if the item's CAS unique is `cas`, then unanswered deletes of `discard`."""
    return b"md %s C%d\r\n" % (key, cas) + b"".join([b"delete " + name + b" noreply\r\n" for name in discard])


def _stored_cas(line: bytes) -> int | None:
    """The new CAS unique of a meta set's `HD c<cas>`; None when it stored nothing (`NS`, `EX`, `NF`)."""
    if line.startswith(b"HD "):
        return int(line.split()[1][1:])
    if line in (b"NS\r\n", b"EX\r\n", b"NF\r\n") or line.startswith((b"NS ", b"EX ", b"NF ")):
        return None
    raise reply_error(line)


#: Lists every item the server holds, one `key=<percent-encoded name> exp=... ...` line each, then `END`.
_METADUMP = b"lru_crawler metadump all\r\n"


class _NameScan:
    """The names a metadump lists that `wanted` accepts, up to `limit`, fed one line at a time."""

    def __init__(self, wanted: Callable[[bytes], bool], limit: int) -> None:
        self.wanted = wanted
        self.limit = limit
        self.names: list[bytes] = []
        self.complete = False
        """Whether the dump ended (`END`): the connection is then in step, and `names` holds every match."""
        self.refused = False
        """Whether the server answered with an error (the crawler is disabled, or busy with another dump)."""

    def feed(self, line: bytes) -> bool:
        """Take one line (metadump lines end in a bare LF, `END` in CRLF); whether the scan is over."""
        if line.startswith(b"key="):
            end = line.find(b" ")
            name = unquote_to_bytes(line[4:end] if end > 0 else line[4:].rstrip())
            if self.wanted(name):
                self.names.append(name)
            return len(self.names) >= self.limit
        self.complete = line == b"END\r\n"
        self.refused = not self.complete
        return True


def _deleted(line: bytes) -> bool:
    """Whether a meta delete deleted (`HD`), or found another CAS unique or nothing (`EX`, `NF`)."""
    if line.startswith(b"HD"):
        return True
    if line.startswith((b"EX", b"NF")):
        return False
    raise reply_error(line)


if True:  # ASYNC

    class MemcachedWire:
        """Requests over an aiomcache client's pooled connections, each cut off after `timeout` seconds."""

        def __init__(self, client: MemcachedClient, *, timeout: float | None) -> None:
            self.client = client
            self._watchdog = _Watchdog(timeout)

        async def get_many(self, keys: list[bytes]) -> dict[bytes, bytes]:
            """The values found for `keys` (one multi-get)."""
            return await self._call(b"get " + b" ".join(keys) + b"\r\n", _read_values)

        async def set_many(
            self, items: list[tuple[bytes, bytes]], exptime: int, flags: int, discard: Sequence[bytes] = ()
        ) -> None:
            """Store every (key, value) with `exptime` and client `flags`, and delete the `discard` keys
            (pipelined sets and unanswered deletes, one round trip)."""
            request = b"".join(
                b"set %s %d %d %d\r\n%s\r\n" % (key, flags, exptime, len(value), value) for key, value in items
            )
            if discard:
                request += b"".join([b"delete " + key + b" noreply\r\n" for key in discard])
            _check(await self._call(request, lambda reader: _read_lines(reader, len(items))), (b"STORED\r\n",))

        async def remove_many(
            self, keys: list[bytes], taken: Sequence[bytes] = ()
        ) -> tuple[dict[bytes, tuple[int, int]], dict[bytes, bytes]]:
            """Delete `keys` and `taken`; return (client flags, seconds left or -1) of the `keys` that
            existed, and the values of the `taken` that did.

            Pipelined in one round trip: a meta get of the flags and TTL of each key (no value),
            quiet meta deletes of the keys, for each taken key a quiet meta get of its value (silent
            when it is missing) and an unanswered delete, and a no-op that ends the reply. The server
            runs them in order on this connection, so what comes back describes what the deletes
            removed, unless another client wrote in between.
            """
            request = (
                b"".join([b"mg " + key + b" f t\r\n" for key in keys])
                + b"".join([b"md " + key + b" q\r\n" for key in keys])
                + b"".join([b"mg " + key + b" v q k\r\ndelete " + key + b" noreply\r\n" for key in taken])
                + b"mn\r\n"
            )
            return await self._call(request, lambda reader: _read_removed(reader, keys))

        async def item_size_max(self) -> int:
            """The server's largest item in bytes (its -I setting)."""
            for line in await self._call(b"stats settings\r\n", _read_stats):
                parts = line.split()  # STAT <name> <value>
                if parts[1:2] == [b"item_size_max"]:
                    return int(parts[2])
            return 1024 * 1024  # memcached's default

        async def item_names(self, wanted: Callable[[bytes], bool], limit: int) -> list[bytes] | None:
            """Up to `limit` names of the server's items that `wanted` accepts, listed by the LRU crawler
            (one request, read to its end or until `limit` matched, then the connection is dropped); None if
            the server refuses to list them (crawler disabled or busy)."""
            scan = _NameScan(wanted, limit)
            with suppress(_StopReading):
                await self._call(_METADUMP, lambda reader: _read_names(reader, scan))
            return None if scan.refused else scan.names

        async def meta_get(self, key: bytes, other: bytes | None = None) -> tuple[MetaItem | None, MetaItem | None]:
            """The item `key` with its CAS unique (None if missing), and `other`'s when given (one round trip)."""
            return await self._call(_meta_get_request(key, other), _read_meta_items)

        async def meta_set(
            self, key: bytes, data: bytes, *, flags: int, exptime: int, cas: int | None, discard: Sequence[bytes] = ()
        ) -> int | None:
            """Store `data` only if the item's CAS unique is `cas` (None: only if there is no item) and delete
            the `discard` keys, in one round trip; the new CAS unique, or None if nothing was stored."""
            request = _meta_set_request(key, data, flags=flags, exptime=exptime, cas=cas, discard=discard)
            return _stored_cas(await self._call(request, _read_line))

        async def meta_delete(self, key: bytes, cas: int, discard: Sequence[bytes] = ()) -> bool:
            """Delete the item only if its CAS unique is `cas`, and the `discard` keys; whether it was deleted."""
            return _deleted(await self._call(_meta_delete_request(key, cas, discard), _read_line))

        async def close(self) -> None:
            await self.client.close()

        async def _call(self, request: bytes, read: Callable[[asyncio.StreamReader], Awaitable[T]]) -> T:
            try:
                return await _exchange(self.client, request, read, self._watchdog)
            except (OSError, EOFError) as exc:
                raise StoreConnectionError(f"memcached is unreachable: {exc}") from exc

    @acquire
    async def _exchange(
        _client: MemcachedClient,
        connection: Connection,
        request: bytes,
        read: Callable[[asyncio.StreamReader], Awaitable[Any]],
        watchdog: _Watchdog,
    ) -> Any:
        """Send `request` on a pooled connection and `read` the replies, within the watchdog's timeout."""
        watchdog.start(connection)
        try:
            connection.writer.write(request)
            return await read(connection.reader)
        except BaseException:
            watchdog.abandon(connection)
            raise
        finally:
            watchdog.stop(connection)

    async def _read_values(reader: asyncio.StreamReader) -> dict[bytes, bytes]:
        """The VALUE blocks of a get reply, up to END."""
        values: dict[bytes, bytes] = {}
        while True:
            line = await _read_line(reader)
            if line == b"END\r\n":
                return values
            if not line.startswith(b"VALUE "):
                raise reply_error(line)
            _, key, _, size = line.split(maxsplit=4)[:4]
            values[key] = (await reader.readexactly(int(size) + 2))[:-2]

    async def _read_removed(
        reader: asyncio.StreamReader, keys: list[bytes]
    ) -> tuple[dict[bytes, tuple[int, int]], dict[bytes, bytes]]:
        """The meta get replies of `keys` (`HD f<flags> t<ttl>` or `EN`), then, up to `MN`, the quiet
        deletes' `NF` lines and the quiet meta gets' values (`VA <size> k<key>` and the value)."""
        found: dict[bytes, tuple[int, int]] = {}
        values: dict[bytes, bytes] = {}
        failure: BaseKeyValueError | None = None
        for key in keys:
            line = await _read_line(reader)
            if line.startswith(b"HD "):
                fields = {token[:1]: token[1:] for token in line.split()[1:]}
                found[key] = (int(fields[b"f"]), int(fields[b"t"]))
            elif line != b"EN\r\n":
                failure = failure or reply_error(line)
        while (line := await _read_line(reader)) != b"MN\r\n":  # read all, so the connection stays usable
            if line.startswith(b"VA "):
                _, size, *flags = line.split()
                data = (await reader.readexactly(int(size) + 2))[:-2]
                values.update((flag[1:], data) for flag in flags if flag.startswith(b"k"))
            elif line != b"NF\r\n":
                failure = failure or reply_error(line)
        if failure is not None:
            raise failure
        return found, values

    async def _read_meta_items(reader: asyncio.StreamReader) -> tuple[MetaItem | None, MetaItem | None]:
        """A meta get's reply (`VA <size> <flags>` and the data, or `EN`), then a quiet one's, up to `MN`."""
        found: list[MetaItem | None] = []
        failure: BaseKeyValueError | None = None
        while (line := await _read_line(reader)) != b"MN\r\n":  # read all, so the connection stays usable
            if line.startswith(b"VA "):
                data = (await reader.readexactly(int(line.split()[1]) + 2))[:-2]
                found.append(_meta_item(line, data))
            elif line == b"EN\r\n":
                found.append(None)
            else:
                failure = failure or reply_error(line)
        if failure is not None:
            raise failure
        return found[0], (found[1] if len(found) > 1 else None)

    class _StopReading(Exception):
        """Ends a metadump read early (the connection is then dropped, with the rest of the dump)."""

    async def _read_names(reader: asyncio.StreamReader, scan: _NameScan) -> None:
        """Feed a metadump's lines to `scan`; `_StopReading` (which drops the connection) if it ends early."""
        while True:
            line = await reader.readline()
            if not line.endswith(b"\n"):
                raise ConnectionResetError("memcached closed the connection")
            if scan.feed(line):
                if not scan.complete:
                    raise _StopReading
                return

    async def _read_lines(reader: asyncio.StreamReader, count: int) -> list[bytes]:
        return [await _read_line(reader) for _ in range(count)]

    async def _read_stats(reader: asyncio.StreamReader) -> list[bytes]:
        """The STAT lines of a stats reply, up to END."""
        lines: list[bytes] = []
        while (line := await _read_line(reader)) != b"END\r\n":
            if not line.startswith(b"STAT "):
                raise reply_error(line)
            lines.append(line)
        return lines

    async def _read_line(reader: asyncio.StreamReader) -> bytes:
        line = await reader.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionResetError("memcached closed the connection")
        return line

    class _Watchdog:
        """Cuts off requests that run past `timeout` seconds.

        One timer per wire, running only while requests are in flight and checking four times per
        timeout, costs a request two dict operations where a timer of its own would cost a timer.
        """

        def __init__(self, timeout: float | None) -> None:
            self._timeout = timeout
            self._started: dict[Connection, float] = {}
            self._expired: set[Connection] = set()
            self._timer: asyncio.TimerHandle | None = None

        def start(self, connection: Connection) -> None:
            if self._timeout is None:
                return
            loop = asyncio.get_running_loop()
            self._started[connection] = loop.time()
            if self._timer is None:
                self._timer = loop.call_later(self._timeout / 4, self._check, loop, self._timeout)

        def stop(self, connection: Connection) -> None:
            self._started.pop(connection, None)
            self._expired.discard(connection)  # in case it expired just as its reply came in

        def abandon(self, connection: Connection) -> None:
            """Close a connection left mid-reply (the pool must not hand it out); say so if it timed out."""
            connection.reader.set_exception(ConnectionResetError("request abandoned"))
            connection.writer.transport.abort()
            if connection in self._expired:
                self._expired.discard(connection)
                raise TimeoutError(f"memcached did not answer within {self._timeout} s")

        def _check(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
            self._timer = None
            too_old = loop.time() - timeout
            for connection, started in list(self._started.items()):
                if started <= too_old:
                    del self._started[connection]
                    self._expired.add(connection)
                    connection.writer.transport.abort()  # wakes the pending read with EOF
            if self._started:
                self._timer = loop.call_later(timeout / 4, self._check, loop, timeout)

    def _check(lines: list[bytes], expected: tuple[bytes, ...]) -> None:
        for line in lines:  # every reply was read, so the connection stays usable whatever they say
            if line not in expected:
                raise reply_error(line)

else:

    class MemcachedWire:
        """Requests through a pymemcache client (its own timeouts apply)."""

        def __init__(self, client: MemcachedClient, *, timeout: float | None) -> None:
            self.client = client

        def get_many(self, keys: list[bytes]) -> dict[bytes, bytes]:
            """The values found for `keys` (one multi-get)."""
            with _translated():
                return cast("dict[bytes, bytes]", self.client.get_many(keys))

        def set_many(
            self, items: list[tuple[bytes, bytes]], exptime: int, flags: int, discard: Sequence[bytes] = ()
        ) -> None:
            """Store every (key, value) with `exptime` and client `flags`, and delete the `discard` keys
            (pipelined sets and unanswered deletes, one round trip)."""
            if discard:
                self._set_and_discard(items, exptime, flags, discard)
                return
            with _translated():
                failed = self.client.set_many(dict(items), expire=exptime, noreply=False, flags=flags)  # pyright: ignore[reportUnknownMemberType] - pymemcache leaves `values` untyped
            if failed:
                raise KeyValueStoreError(f"memcached did not store {len(failed)} of {len(items)} entries")

        def _set_and_discard(
            self, items: list[tuple[bytes, bytes]], exptime: int, flags: int, discard: Sequence[bytes]
        ) -> None:
            """The deletes and sets written at once (pymemcache would send them apart, and a second small
            write waits for the first one's ACK): all unanswered but the last set, whose reply ends the
            exchange. memcached still answers an unanswered command that fails, so any reply but STORED
            fails the call and drops the connection, which may hold more replies."""
            lines = [b"delete " + key + b" noreply\r\n" for key in discard]
            last = len(items) - 1
            for index, (key, value) in enumerate(items):
                quiet = b" noreply" if index < last else b""
                lines.append(b"set %s %d %d %d%s\r\n%s\r\n" % (key, flags, exptime, len(value), quiet, value))
            request = b"".join(lines)[:-2]  # raw_command ends the request itself
            with _translated(), self._connection() as client:
                reply = client.raw_command(request, b"\r\n")
                if reply != b"STORED":
                    client.close()
                    raise reply_error(reply)

        @contextmanager
        def _connection(self) -> Generator[Client, None, None]:
            """One connection of the client (a pooled one goes back to its pool, or is dropped on an error)."""
            if isinstance(self.client, PooledClient):
                with self.client.client_pool.get_and_release(destroy_on_fail=True) as client:
                    yield client
            else:
                yield self.client

        def take_many(self, keys: list[bytes]) -> dict[bytes, bytes]:
            """Delete `keys`, returning the values they held (pymemcache: a multi-get, then pipelined deletes)."""
            found = self.get_many(keys)
            if found:
                with _translated():
                    self.client.delete_many(list(found), noreply=False)
            return found

        def delete_quietly(self, keys: list[bytes]) -> None:
            """Delete `keys` in one request: unanswered deletes, then a no-op whose reply ends the exchange
            (no reply is data, so its end is unambiguous; unanswered deletes alone would leave the next
            request waiting for their ACK)."""
            request = b"".join([b"delete " + key + b" noreply\r\n" for key in keys]) + b"mn"
            with _translated(), self._connection() as client:
                reply = client.raw_command(request, b"MN\r\n")
                if reply:  # only a failing command answers
                    client.close()
                    raise reply_error(reply)

        def item_size_max(self) -> int:
            """The server's largest item in bytes (its -I setting)."""
            with _translated():
                settings = cast("dict[bytes, Any]", self.client.stats("settings"))  # pyright: ignore[reportUnknownMemberType] - untyped *args
            return int(settings.get(b"item_size_max") or 1024 * 1024)

        def item_names(self, wanted: Callable[[bytes], bool], limit: int) -> list[bytes] | None:
            """Up to `limit` names of the server's items that `wanted` accepts, listed by the LRU crawler
            (one request, read to its end or until `limit` matched, then the connection is dropped); None if
            the server refuses to list them (crawler disabled or busy)."""
            scan = _NameScan(wanted, limit)
            with _translated(), self._connection() as client:
                client.raw_command(b"mn", b"MN\r\n")  # connects the client if it is not yet
                sock = client.sock
                if sock is None:
                    raise StoreConnectionError("memcached is unreachable")
                try:
                    sock.sendall(_METADUMP)
                    rest, over = b"", False
                    while not over:
                        chunk = sock.recv(65536)
                        if not chunk:
                            raise MemcacheUnexpectedCloseError
                        *lines, rest = (rest + chunk).split(b"\n")
                        over = any(scan.feed(line + b"\n") for line in lines)  # stops at the scan's end
                finally:
                    if not scan.complete:
                        client.close()  # the rest of the dump must not reach the next request
            return None if scan.refused else scan.names

        def meta_get(self, key: bytes, other: bytes | None = None) -> tuple[MetaItem | None, MetaItem | None]:
            """The item `key` with its CAS unique (None if missing), and `other`'s when given (one round trip)."""
            found = _parse_meta_items(self._meta(_meta_get_request(key, other)))
            return found[0], (found[1] if len(found) > 1 else None)

        def meta_set(
            self, key: bytes, data: bytes, *, flags: int, exptime: int, cas: int | None, discard: Sequence[bytes] = ()
        ) -> int | None:
            """Store `data` only if the item's CAS unique is `cas` (None: only if there is no item) and delete
            the `discard` keys, in one round trip; the new CAS unique, or None if nothing was stored."""
            request = _meta_set_request(key, data, flags=flags, exptime=exptime, cas=cas, discard=discard)
            return _stored_cas(self._meta(request + b"mn\r\n"))

        def meta_delete(self, key: bytes, cas: int, discard: Sequence[bytes] = ()) -> bool:
            """Delete the item only if its CAS unique is `cas`, and the `discard` keys; whether it was deleted."""
            return _deleted(self._meta(_meta_delete_request(key, cas, discard) + b"mn\r\n"))

        def _meta(self, request: bytes) -> bytes:
            """Send meta commands ended by a no-op and return the replies before its `MN` (pymemcache has no
            meta commands). The connection is dropped unless the replies parse whole: data holding an `MN` line
            (never JSON, which has no raw line breaks) would end the read early."""
            with _translated(), self._connection() as client:
                reply = client.raw_command(request[:-2], b"MN\r\n")  # raw_command ends the request itself
                if not _whole(reply):
                    client.close()
                    raise KeyValueStoreError("memcached's reply to a meta command was cut short")
                return reply

        def close(self) -> None:
            self.client.close()

    def _parse_meta_items(reply: bytes) -> list[MetaItem | None]:
        """The items of meta get replies (`VA <size> <flags>` and the data, or `EN`), as `_whole` checked them."""
        found: list[MetaItem | None] = []
        position = 0
        while position < len(reply):
            end = reply.index(b"\r\n", position) + 2
            line = reply[position:end]
            if line.startswith(b"VA "):
                position = end + int(line.split()[1]) + 2
                found.append(_meta_item(line, reply[end : position - 2]))
            elif line == b"EN\r\n":
                found.append(None)
                position = end
            else:
                raise reply_error(line)
        return found

    def _whole(reply: bytes) -> bool:
        """Whether the replies end where their sizes say (not inside an item's data)."""
        position = 0
        while position < len(reply):
            end = reply.find(b"\r\n", position)
            if end < 0:
                return False
            line = reply[position : end + 2]
            position = end + 2
            if line.startswith(b"VA "):
                parts = line.split()
                if len(parts) < 2 or not parts[1].isdigit():
                    return False
                position += int(parts[1]) + 2
                if position > len(reply) or reply[position - 2 : position] != b"\r\n":
                    return False
        return position == len(reply)

    @contextmanager
    def _translated() -> Generator[None, None, None]:
        """Raise pymemcache's and the socket's errors inside the block as ours."""
        try:
            yield
        except (OSError, MemcacheError) as exc:
            raise _error(exc) from exc

    def _error(exc: Exception) -> BaseKeyValueError:
        if isinstance(exc, (OSError, MemcacheUnexpectedCloseError)):
            return StoreConnectionError(f"memcached is unreachable: {exc}")
        return reply_error(str(exc).encode())

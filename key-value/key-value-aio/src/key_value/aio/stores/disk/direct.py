"""`DirectCache`: the disk stores' everyday calls as SQL on connections of their own, on the calling thread.

A diskcache call spends more time on its own bookkeeping than in SQLite (it checks the process id,
a system call, on every statement), and the async twin used to add a hop to its worker thread to
each one, which cost more than the work. `DirectCache` runs get, get_many, set_many and delete_many
(one name or many) of short text records itself, against diskcache's own tables and with the rows, triggers
(counts and sizes) and culling that diskcache's `Cache.get/set/delete` would produce, so diskcache,
py-key-value and the store's other calls read and write the same cache as before.

It never waits. Its connections have a zero busy timeout, so a call that would wait for another
writer (this process's worker thread or another process holding the write lock) raises
`NeedsWorker` before it changes anything; so does a record that diskcache keeps in a file (at least
`disk_min_file_size` characters) and any read of one. The store then runs the call the usual way:
on its worker thread in the async twin, through diskcache in the sync twin.

With a `checkpoint` callback (the async twin) the connections never checkpoint the write-ahead log
themselves, since the commit that does copies pages and fsyncs the database (milliseconds): every
`CHECKPOINT_EVERY` commits the callback has the worker thread do it, while direct writes go on. The
log restarts from its beginning only after a checkpoint during which nothing was committed, so every
`EXCLUSIVE_EVERY`-th checkpoint the direct writes give way (`NeedsWorker`) until it is done; it only
has the frames since the previous one to copy, and the log stays bounded.

Only caches that diskcache itself would serve without writes on reads qualify (`DirectCache.of`):
a plain `Cache` with the default `Disk`, statistics off, and an eviction policy of "none" or
"least-recently-stored". Settings are read when the store opens the cache.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from diskcache import Cache, Disk
from diskcache.core import DBNAME, EVICTION_POLICY, MODE_RAW

from key_value.shared.errors import KeyValueStoreError

#: Has the worker thread checkpoint the cache's write-ahead log, then call the function it is given.
Checkpoint = Callable[[Callable[[], None]], object]


class NeedsWorker(Exception):
    """The call would wait, or needs diskcache's own code: nothing was changed; run it the usual way."""


#: Commits of a `DirectCache` between two checkpoints, where a `checkpoint` callback runs them.
CHECKPOINT_EVERY = 256
#: One checkpoint in this many has the direct writes wait (go to the worker) until it is done.
EXCLUSIVE_EVERY = 4
#: Names bound in one statement (SQLite takes 32,766 parameters; short statements cache better).
_CHUNK = 500
_LIVE = "(expire_time IS NULL OR expire_time > ?)"
_GET = f"SELECT mode, value FROM Cache WHERE key = ? AND raw = 1 AND {_LIVE}"
_GET_MANY = "SELECT key, mode, value FROM Cache WHERE raw = 1 AND key IN ({marks}) AND " + _LIVE
_DELETE_MANY = "DELETE FROM Cache WHERE raw = 1 AND key IN ({marks}) AND " + _LIVE + " RETURNING filename"
_FILES = "SELECT filename FROM Cache WHERE raw = 1 AND filename IS NOT NULL AND key IN ({marks})"
_UPSERT = " ".join(
    (
        "INSERT INTO Cache(key, raw, store_time, expire_time, access_time, access_count, tag, size, mode,",
        "filename, value) VALUES (?, 1, ?, ?, ?, 0, ?, 0, ?, NULL, ?)",
        "ON CONFLICT(key, raw) DO UPDATE SET store_time = excluded.store_time,",
        "expire_time = excluded.expire_time, access_time = excluded.access_time, access_count = 0,",
        "tag = excluded.tag, size = 0, mode = excluded.mode, filename = NULL, value = excluded.value",
    )
)
_CULL_EXPIRED = " ".join(
    (
        "DELETE FROM Cache WHERE rowid IN (SELECT rowid FROM Cache WHERE expire_time IS NOT NULL",
        "AND expire_time < ? ORDER BY expire_time LIMIT ?) RETURNING filename",
    )
)
_SIZE = "SELECT value FROM Settings WHERE key = 'size'"
_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED

# A connection is never used in a process forked from the one that opened it (SQLite forbids it).
_generation = [0]


def _forked() -> None:
    _generation[0] += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


class DirectCache:
    """One diskcache `Cache`'s common calls, on a connection per thread; `NeedsWorker` when they would wait."""

    def __init__(self, cache: Cache, *, checkpoint: Checkpoint | None) -> None:
        """Use `DirectCache.of`, which checks that `cache` qualifies."""
        settings = cast("Any", cache)
        self._path = os.path.join(cache.directory, DBNAME)
        self._disk: Disk = settings.disk
        self._min_file_size: int = settings.disk_min_file_size
        self._cull_limit: int = settings.cull_limit
        self._size_limit: int = settings.size_limit
        cull = EVICTION_POLICY[settings.eviction_policy]["cull"]
        self._cull_policy = None
        if cull is not None:
            self._cull_policy = f"DELETE FROM Cache WHERE rowid IN ({cull.format(fields='rowid')}) RETURNING filename"
        self._page_size = 0
        self._checkpoint = checkpoint
        #: True from a checkpoint's request until the worker has run it.
        self._checkpointing = False
        #: True while an exclusive checkpoint is under way: writes go to the worker meanwhile.
        self._giving_way = False
        self._commits = 0
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[int, sqlite3.Connection]] = []

    @classmethod
    def of(cls, cache: object, *, checkpoint: Checkpoint | None) -> DirectCache | None:
        """A `DirectCache` for `cache`, or None when diskcache's own code must serve it (see the module)."""
        if type(cache) is not Cache:
            return None
        settings = cast("Any", cache)
        if type(settings.disk) is not Disk or settings.statistics:
            return None
        policy = EVICTION_POLICY.get(settings.eviction_policy)
        if policy is None or policy["get"] is not None:  # reads that write (access times)
            return None
        return cls(cache, checkpoint=checkpoint)

    # -- reads ------------------------------------------------------------------------------------

    def get(self, name: str) -> object:
        """The stored record of `name` (None if missing or expired)."""
        try:
            row = self._con().execute(_GET, (name, time.time())).fetchone()
        except sqlite3.Error as exc:
            raise _error(exc) from exc
        if row is None:
            return None
        mode, value = row
        if mode != MODE_RAW:
            raise NeedsWorker
        return value

    def get_many(self, names: Sequence[str]) -> list[object]:
        """The stored records of `names`, in order (None where missing or expired), from one snapshot."""
        con = self._con()
        now = time.time()
        found: dict[str, object] = {}
        try:
            if len(names) > _CHUNK:
                con.execute("BEGIN")  # one snapshot for every chunk
            try:
                for start in range(0, len(names), _CHUNK):
                    chunk = names[start : start + _CHUNK]
                    statement = _GET_MANY.format(marks=_marks(chunk))
                    for key, mode, value in con.execute(statement, (*chunk, now)):
                        if mode != MODE_RAW:
                            raise NeedsWorker
                        found[key] = value
            finally:
                if con.in_transaction:
                    con.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _error(exc) from exc
        return [found.get(name) for name in names]

    # -- writes -----------------------------------------------------------------------------------

    def set_many(self, names: Sequence[str], records: Sequence[str], *, expire: float | None, tag: str | None) -> None:
        """Store each record under its name (the last one of a repeated name stands), in one transaction.

        `expire`: seconds to live, as diskcache's `expire`.
        """
        limit = self._min_file_size
        if self._giving_way or any(len(record) >= limit for record in records):
            raise NeedsWorker  # the worker is checkpointing, or diskcache writes the record to a file
        now = time.time()
        expire_time = None if expire is None else now + expire
        rows = [
            (name, now, expire_time, now, tag, MODE_RAW, record) for name, record in zip(names, records, strict=True)
        ]

        def write(con: sqlite3.Connection) -> list[str | None]:
            files = self._files_of(con, names)
            con.executemany(_UPSERT, rows)
            return files + self._cull(con, now, len(rows))

        self._write(write, transaction=True)

    def delete_many(self, names: Sequence[str]) -> int:
        """Delete the live entries of `names` in one transaction; return how many there were."""
        if self._giving_way:
            raise NeedsWorker

        def delete(con: sqlite3.Connection) -> list[str | None]:
            now = time.time()
            files: list[str | None] = []
            for start in range(0, len(names), _CHUNK):
                chunk = names[start : start + _CHUNK]
                statement = _DELETE_MANY.format(marks=_marks(chunk))
                files.extend(row[0] for row in con.execute(statement, (*chunk, now)))
            return files

        return len(self._write(delete, transaction=len(names) > _CHUNK))  # one statement is atomic on its own

    # -- connections ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close every connection this object opened (in this process)."""
        with self._lock:
            connections, self._connections = self._connections, []
        self._local = threading.local()
        for generation, con in connections:
            if generation == _generation[0]:
                con.close()

    def _con(self) -> sqlite3.Connection:
        local = self._local
        con: sqlite3.Connection | None = getattr(local, "con", None)
        if con is not None and local.generation == _generation[0]:
            return con
        return self._connect()

    def _connect(self) -> sqlite3.Connection:
        """This thread's connection: diskcache's per-connection pragmas, a zero busy timeout."""
        generation = _generation[0]
        try:
            con = sqlite3.connect(self._path, timeout=0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise _error(exc) from exc
        try:
            settings = con.execute("SELECT key, value FROM Settings WHERE key LIKE 'sqlite_%'").fetchall()
            for key, value in settings:  # as diskcache's own connections do, and only where they differ
                pragma = str(key)[len("sqlite_") :]
                current = con.execute(f"PRAGMA {pragma}").fetchone()
                if current is None or current[0] != value:
                    con.execute(f"PRAGMA {pragma} = {value}").fetchall()
            if self._checkpoint is not None:
                con.execute("PRAGMA wal_autocheckpoint = 0")
            (page_size,) = con.execute("PRAGMA page_size").fetchone()
        except sqlite3.Error as exc:
            con.close()
            raise _error(exc) from exc
        self._page_size = int(page_size)
        with self._lock:
            self._connections.append((generation, con))
        self._local.con = con
        self._local.generation = generation
        return con

    def _write(self, work: Callable[[sqlite3.Connection], list[str | None]], *, transaction: bool) -> list[str | None]:
        """Run `work` (in one write transaction if asked); remove the files it returns once committed. Its result."""
        con = self._con()
        try:
            if transaction:
                con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _error(exc) from exc
        try:
            files = work(con)
            if transaction:
                con.execute("COMMIT")
        except BaseException as exc:
            if con.in_transaction:
                con.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise _error(exc) from exc
            raise
        remove = cast("Callable[[str], None]", self._disk.remove)
        for filename in files:
            if filename is not None:
                remove(filename)
        self._commits += 1
        if self._checkpoint is not None and self._commits % CHECKPOINT_EVERY == 0 and not self._checkpointing:
            self._checkpointing = True
            self._giving_way = (self._commits // CHECKPOINT_EVERY) % EXCLUSIVE_EVERY == 0
            self._checkpoint(self._checkpointed)
        return files

    def _checkpointed(self) -> None:
        """Called (on the worker thread) once the requested checkpoint ran, or failed."""
        self._checkpointing = self._giving_way = False

    def _files_of(self, con: sqlite3.Connection, names: Sequence[str]) -> list[str | None]:
        """The value files of the entries under `names`, which a write over them leaves behind."""
        files: list[str | None] = []
        for start in range(0, len(names), _CHUNK):
            chunk = names[start : start + _CHUNK]
            files.extend(row[0] for row in con.execute(_FILES.format(marks=_marks(chunk)), chunk))
        return files

    def _cull(self, con: sqlite3.Connection, now: float, writes: int) -> list[str | None]:
        """What diskcache's `set` culls after each write: expired entries, then by policy past the size limit."""
        limit = self._cull_limit * writes
        if limit == 0:
            return []
        files = [row[0] for row in con.execute(_CULL_EXPIRED, (now, limit))]
        limit -= len(files)
        if limit == 0 or self._cull_policy is None:
            return files
        (page_count,) = con.execute("PRAGMA page_count").fetchone()
        (size,) = con.execute(_SIZE).fetchone()
        if self._page_size * page_count + size < self._size_limit:
            return files
        files.extend(row[0] for row in con.execute(self._cull_policy, (limit,)))
        return files


def _marks(names: Sequence[str]) -> str:
    return ", ".join("?" * len(names))


def _error(exc: sqlite3.Error) -> Exception:
    """`NeedsWorker` if SQLite would have to wait (a lock held elsewhere), else our error."""
    code = getattr(exc, "sqlite_errorcode", None)
    busy = code is not None and code & 0xFF in _BUSY_CODES
    if busy or "locked" in str(exc) or "busy" in str(exc):
        return NeedsWorker()
    return KeyValueStoreError(f"the disk cache failed: {exc}")

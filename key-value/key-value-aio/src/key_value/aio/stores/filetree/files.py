"""Blocking file primitives of `FileTreeStore`: atomic durable writes, reads that never follow symlinks,
and the lock on a collection directory that makes a check and its write one step.

They are synchronous on purpose: the async store runs them in a worker thread, the sync twin directly.
"""

from __future__ import annotations

import errno
import os
import secrets
import sys
import threading
from collections.abc import Callable, Generator
from contextlib import contextmanager

from key_value.shared.errors import PathSecurityError

_flock: Callable[[int, int], None] | None = None
_lock_exclusive = _unlock = 0
if sys.platform != "win32":
    import fcntl

    _flock, _lock_exclusive, _unlock = fcntl.flock, fcntl.LOCK_EX, fcntl.LOCK_UN

#: Whether `locked` excludes other processes too (an `flock`), or only this process's threads.
LOCKS_ACROSS_PROCESSES = _flock is not None

#: Temp files start with a dot, which `path_component` never produces, so they are never taken for entries.
TEMP_PREFIX = ".tmp-"

_FIRST_READ = 1 << 16
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)  # O_BINARY: Windows only


def read_file(path: str) -> bytes | None:
    """The file's bytes, or None if it is missing; a symlink raises `PathSecurityError` rather than being followed."""
    fd = _open_for_reading(path)
    if fd is None:
        return None
    try:
        data = os.read(fd, _FIRST_READ)  # a regular file reads short only at its end: most files take one read
        if len(data) < _FIRST_READ:
            return data
        chunks = [data]
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_file_stamped(path: str) -> tuple[bytes, int] | None:
    """`read_file`, with the file's modification time (ns): when it was written, for the conditional segment."""
    fd = _open_for_reading(path)
    if fd is None:
        return None
    with open(fd, "rb") as file:
        return file.read(), os.fstat(fd).st_mtime_ns


def _open_for_reading(path: str) -> int | None:
    try:
        return os.open(path, _READ_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # what O_NOFOLLOW reports for a symlink (Linux, BSD)
            raise PathSecurityError("refusing to follow a symlink inside the store", extra_info={"path": path}) from exc
        raise


def write_temp(directory: str, data: bytes, *, mtime_ns: int | None = None) -> str:
    """Write `data` to a new temp file in `directory`, flush and fsync it, return its path; nothing is left on error.

    `mtime_ns` backdates the file (a TTL refresh keeps the entry's write time).
    """
    path = os.path.join(directory, TEMP_PREFIX + secrets.token_hex(8))
    try:
        with open(path, "xb") as file:  # "x": create, never reuse; the mode is 0o666 less the umask
            file.write(data)
            file.flush()
            if mtime_ns is not None:
                os.utime(file.fileno(), ns=(mtime_ns, mtime_ns))
            os.fsync(file.fileno())
    except BaseException:
        remove(path)
        raise
    return path


def write_atomic(path: str, data: bytes) -> None:
    """Replace `path` with `data` in one step: readers see the old file or the new one, never a partial one."""
    temp = write_temp(os.path.dirname(path), data)
    try:
        os.replace(temp, path)
    except BaseException:
        remove(temp)
        raise


def remove(path: str) -> bool:
    """Delete a file; False if it was already gone."""
    try:
        os.remove(path)
    except FileNotFoundError:
        return False
    return True


def fsync_directory(directory: str) -> None:
    """Make the renames, creations and removals in `directory` durable (a no-op on Windows, which cannot)."""
    if os.name == "nt":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
#: Without `flock` (Windows): one lock per directory path, held within this process only (one per
#: directory, not striped, so that taking two in path order can never deadlock).
_THREAD_LOCKS: dict[str, threading.Lock] = {}


class DirectoryLock:
    """A held directory lock; set `changed` when entries were renamed or removed: the directory is then
    fsynced once the lock is let go (so the renames are durable when the call returns)."""

    __slots__ = ("changed",)

    def __init__(self) -> None:
        self.changed = False


@contextmanager
def locked(directory: str) -> Generator[DirectoryLock, None, None]:
    """Hold the exclusive lock of `directory` (FileNotFoundError if there is none).

    An `flock` on the directory itself: it excludes every process on the machine and every other
    thread of this one (each call opens its own file description). The lock is taken on the inode
    the path names when it is granted: a directory renamed away meanwhile (a destroy) is let go and
    the one now at the path is locked instead, so a holder always works on the live directory.
    """
    lock = DirectoryLock()
    if _flock is None:  # pragma: no cover - Windows
        with _THREAD_LOCKS.setdefault(directory, threading.Lock()):  # setdefault is atomic
            yield lock
        return
    while True:
        fd = os.open(directory, _DIRECTORY_FLAGS)
        try:
            _flock(fd, _lock_exclusive)
            held, current = os.fstat(fd), os.stat(directory, follow_symlinks=False)
        except BaseException:
            os.close(fd)
            raise
        if (held.st_ino, held.st_dev) == (current.st_ino, current.st_dev):
            break
        os.close(fd)
    try:
        yield lock
        if lock.changed:
            _flock(fd, _unlock)  # others may go on while the disk commits
            os.fsync(fd)
    finally:
        os.close(fd)  # releases the lock

"""Blocking file primitives of `FileTreeStore`: atomic durable writes, reads that never follow symlinks.

They are synchronous on purpose: the async store runs them in a worker thread, the sync twin directly.
"""

from __future__ import annotations

import errno
import os
import secrets

from key_value.shared.errors import PathSecurityError

#: Temp files start with a dot, which `path_component` never produces, so they are never taken for entries.
TEMP_PREFIX = ".tmp-"

_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)  # O_BINARY: Windows only


def read_file(path: str) -> bytes | None:
    """The file's bytes, or None if it is missing; a symlink raises `PathSecurityError` rather than being followed."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # what O_NOFOLLOW reports for a symlink (Linux, BSD)
            raise PathSecurityError("refusing to follow a symlink inside the store", extra_info={"path": path}) from exc
        raise
    with open(fd, "rb") as file:
        return file.read()


def write_temp(directory: str, data: bytes) -> str:
    """Write `data` to a new temp file in `directory`, flush and fsync it, return its path; nothing is left on error."""
    path = os.path.join(directory, TEMP_PREFIX + secrets.token_hex(8))
    try:
        with open(path, "xb") as file:  # "x": create, never reuse; the mode is 0o666 less the umask
            file.write(data)
            file.flush()
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

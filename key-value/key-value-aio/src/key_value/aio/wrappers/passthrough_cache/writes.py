"""`WriteTracker`: which keys were written while a read was filling the cache, so no replaced value stays cached.

A read that missed the cache notes the keys' versions before it reads the primary. It may fill the
cache only for keys with no write in flight and no write since; after filling, it deletes again any key
that a write touched meanwhile (that write's own invalidation may have come before the fill landed).
Only keys with reads or writes in flight are tracked, so memory stays bounded. Thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Sequence
from contextlib import contextmanager

_Name = tuple["str | None", str]  # (collection as the cache names it, key)


class _Slot:
    """Reads and writes in flight on one key, and a version that every write bumps at its start and end."""

    __slots__ = ("readers", "version", "writers")

    def __init__(self) -> None:
        self.readers = 0
        self.writers = 0
        self.version = 0


class ReadTicket:
    """What a read saw when it began: answers which keys it may cache and which a write has touched since."""

    def __init__(self, tracker: WriteTracker, names: list[_Name], versions: list[int], epoch: int) -> None:
        self._tracker = tracker
        self._names = names
        self._versions = versions
        self._epoch = epoch

    def fillable(self) -> list[bool]:
        """Per key: no write is in flight and none happened since the read began."""
        return self._tracker.check(self._names, self._versions, self._epoch, idle=True)

    def changed(self) -> list[bool]:
        """Per key: a write started or ended since the read began."""
        unchanged = self._tracker.check(self._names, self._versions, self._epoch, idle=False)
        return [not same for same in unchanged]


class WriteTracker:
    """Versions of the keys being read or written, plus an epoch for writes that touch every key (destroy)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[_Name, _Slot] = {}
        self._epoch = 0  # bumped when a store-wide write starts and ends
        self._wide_writes = 0

    @contextmanager
    def reading(self, collection: str | None, keys: Sequence[str]) -> Generator[ReadTicket, None, None]:
        """Track a cache fill of `keys` for as long as the block runs."""
        names = [(collection, key) for key in keys]
        with self._lock:
            versions = [self._slots.setdefault(name, _Slot()).version for name in names]
            for name in names:
                self._slots[name].readers += 1
            epoch = self._epoch
        try:
            yield ReadTicket(self, names, versions, epoch)
        finally:
            with self._lock:
                for name in names:
                    self._slots[name].readers -= 1
                    self._forget_if_idle(name)

    @contextmanager
    def writing(self, collection: str | None, keys: Sequence[str]) -> Generator[None, None, None]:
        """Mark `keys` as being written (primary write and cache invalidation) for as long as the block runs."""
        names = [(collection, key) for key in keys]
        with self._lock:
            for name in names:
                slot = self._slots.setdefault(name, _Slot())
                slot.writers += 1
                slot.version += 1
        try:
            yield
        finally:
            with self._lock:
                for name in names:
                    slot = self._slots[name]
                    slot.writers -= 1
                    slot.version += 1
                    self._forget_if_idle(name)

    @contextmanager
    def writing_everything(self) -> Generator[None, None, None]:
        """Mark a write that may touch every key (destroy, destroy_collection) for as long as the block runs."""
        with self._lock:
            self._wide_writes += 1
            self._epoch += 1
        try:
            yield
        finally:
            with self._lock:
                self._wide_writes -= 1
                self._epoch += 1

    def check(self, names: list[_Name], versions: list[int], epoch: int, *, idle: bool) -> list[bool]:
        """Per key: its version and the epoch are unchanged (and, with `idle`, no write is in flight)."""
        with self._lock:
            if self._epoch != epoch or (idle and self._wide_writes):
                return [False] * len(names)
            slots = [self._slots[name] for name in names]
            return [
                slot.version == version and not (idle and slot.writers)
                for slot, version in zip(slots, versions, strict=True)
            ]

    def _forget_if_idle(self, name: _Name) -> None:
        slot = self._slots[name]
        if not slot.readers and not slot.writers:
            del self._slots[name]

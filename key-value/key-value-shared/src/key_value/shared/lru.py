"""`LocalCache`: a bounded, thread-safe LRU of entries held in this process, for the in-process cache wrappers.

Entries are kept as JSON text (so a hit decodes a fresh copy the caller owns) with their ETag, where
known, and their expiry in epoch seconds. `version` counts the writes made through the owner: a read
that started before a write may not fill the cache with what it read (`put(..., since=version)`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import NamedTuple

from key_value.shared.errors import InvalidArgumentError

#: (collection as the cache names it, key)
Name = tuple["str | None", str]


class Cached(NamedTuple):
    """One cached entry: its JSON text, its ETag (None when not known) and its expiry (None: never)."""

    text: str
    etag: str | None
    expires_at: float | None

    def remaining(self, now: float) -> float | None:
        """Seconds left to live (None: never expires); 0 or less once expired."""
        return None if self.expires_at is None else self.expires_at - now


def check_max_entries(max_entries: object) -> int:
    """`max_entries` if it is an int >= 1; else an `InvalidArgumentError`."""
    if type(max_entries) is not int or max_entries < 1:
        raise InvalidArgumentError("max_entries must be an int >= 1", {"max_entries": repr(max_entries)})
    return max_entries


class LocalCache:
    """At most `max_entries` entries; the least recently used goes first. Expired entries are never returned."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = check_max_entries(max_entries)
        self._entries: OrderedDict[Name, Cached] = OrderedDict()
        self._lock = threading.Lock()
        self._version = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def version(self) -> int:
        """Bumped at the start and the end of every write through the owner (`bump`)."""
        return self._version

    def get(self, name: Name) -> Cached | None:
        """The live entry cached for `name`, marked as just used; None (and dropped) if missing or expired."""
        with self._lock:
            found = self._entries.get(name)
            if found is None:
                return None
            remaining = found.remaining(time.time())
            if remaining is not None and remaining <= 0:
                del self._entries[name]
                return None
            self._entries.move_to_end(name)
            return found

    def put(self, name: Name, entry: Cached, *, since: int | None = None) -> None:
        """Cache `entry`, unless `since` is given and a write has started or ended since then."""
        with self._lock:
            if since is not None and since != self._version:
                return
            self._entries[name] = entry
            self._entries.move_to_end(name)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def bump(self) -> None:
        """Mark a write through the owner starting or ending."""
        with self._lock:
            self._version += 1

    def discard(self, names: list[Name]) -> None:
        with self._lock:
            for name in names:
                self._entries.pop(name, None)

    def discard_collection(self, collection: str | None) -> None:
        with self._lock:
            for name in [name for name in self._entries if name[0] == collection]:
                del self._entries[name]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


__all__ = ["Cached", "LocalCache", "Name", "check_max_entries"]

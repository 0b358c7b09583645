"""Typed access to the part of `diskcache.Cache` the disk stores use (diskcache ships no annotations).

The stores call diskcache only through the functions and methods here; in the async twin each call
is one hop to the store's worker thread. Bulk functions run inside one `transact()`, so a batch is
atomic and costs one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from itertools import islice
from pathlib import Path
from typing import Any, Protocol, cast

from diskcache import Cache

from key_value.shared.errors import StoreSetupError


class CacheAPI(Protocol):
    """The methods of `diskcache.Cache` the disk stores call, with the types they are called with."""

    @property
    def directory(self) -> str: ...

    def get(self, key: str) -> object: ...

    def set(self, key: str, value: str, expire: float | None = None, *, tag: str | None = None) -> bool: ...

    def delete(self, key: str) -> bool: ...

    def touch(self, key: str, expire: float | None = None) -> bool: ...

    def transact(self) -> AbstractContextManager[None]: ...

    def iterkeys(self) -> Iterator[Any]: ...

    def expire(self, now: float | None = None) -> int: ...

    def evict(self, tag: str) -> int: ...

    def clear(self) -> int: ...

    def close(self) -> None: ...

    def __len__(self) -> int: ...


#: Uses diskcache's unique index on (key, raw); built from short parts so the generated twin keeps short lines.
_LIVE_KEY_RANGE = " ".join(
    (
        "SELECT key FROM Cache",
        "WHERE key >= ? AND key < ? AND raw = 1 AND tag = ?",
        "AND (expire_time IS NULL OR expire_time > ?)",
        "ORDER BY key LIMIT ?",
    )
)


def typed(cache: Cache) -> CacheAPI:
    """View a `diskcache.Cache` through `CacheAPI`."""
    return cast("CacheAPI", cache)


def open_cache(directory: Path, *, max_size: int | None) -> CacheAPI:
    """Open (creating) the cache in `directory`: unbounded, or evicting the oldest writes past `max_size` bytes."""
    # Settings persist in the cache's database, so both are passed every time the cache is opened.
    if max_size is None:
        settings: dict[str, Any] = {"eviction_policy": "none"}
    else:
        settings = {"eviction_policy": "least-recently-stored", "size_limit": max_size}
    try:
        return typed(Cache(str(directory), **settings))
    except (OSError, sqlite3.Error) as exc:
        raise StoreSetupError(f"cannot open the disk cache in {str(directory)!r}: {exc}") from exc


def read_many(cache: CacheAPI, keys: list[str]) -> list[object]:
    """The stored records of `keys` (None where missing or expired), read in one transaction."""
    get = cache.get
    with cache.transact():
        return [get(key) for key in keys]


def write_many(cache: CacheAPI, keys: list[str], records: list[str], *, expire: float | None, tag: str | None) -> None:
    """Store each record under its key, in one transaction."""
    put = cache.set
    with cache.transact():
        for key, record in zip(keys, records, strict=True):
            put(key, record, expire, tag=tag)


def delete_many(cache: CacheAPI, keys: list[str]) -> int:
    """Delete the keys in one transaction; return how many were live."""
    delete = cache.delete
    with cache.transact():
        return sum(map(delete, keys))


def live_key_range(cache: CacheAPI, *, start: str, stop: str, tag: str, now: float, limit: int | None) -> list[str]:
    """The live `str` keys in [start, stop) that carry `tag`, in key order, at most `limit`.

    diskcache's public API can only iterate every key from the first; this one indexed SELECT on the
    cache's own connection (so it joins a running `transact()`) reads just the range. Writes stay
    on the public API, which keeps diskcache's counts, sizes and value files right.
    """
    execute = cast("Any", cache)._sql  # the cache's connection for the calling thread
    rows = execute(_LIVE_KEY_RANGE, (start, stop, tag, now, -1 if limit is None else limit)).fetchall()
    return [row[0] for row in cast("list[tuple[str]]", rows)]


def holds_live_entries(cache: CacheAPI, *, now: float) -> bool:
    """True if the cache holds an entry that has not expired; expired ones are reclaimed on the way."""
    with cache.transact():
        cache.expire(now)
        return len(cache) > 0


def live_keys(cache: CacheAPI, *, now: float, limit: int | None) -> list[str]:
    """Every live key of a cache that holds one collection, in key order, at most `limit`."""
    with cache.transact():
        cache.expire(now)
        return list(islice(cache.iterkeys(), limit))

"""`MultiDiskStore`: one diskcache `Cache` per collection, each in a directory of its own.

Layout under `base_directory`, one directory per collection:

    <layout.collection_directory(collection)>/   (natively path_component(collection))
        collection    the raw collection name (UTF-8), so names too long to encode still enumerate
        cache/        the collection's diskcache directory, holding JSON records under the raw keys

A collection is a whole cache, so `keys()` is `expire()` then `iterkeys()`: O(collection) on the
public API. `collections()` reads the name files and keeps the collections holding a live entry.
`max_size` bounds each collection's cache. TTLs count from when a write reaches its cache, since the
first write to a collection must open (create) that cache, which takes tens of milliseconds.

With `disk_cache_factory` the factory decides where caches live, so the store enumerates, culls and
destroys only the collections it has opened since set-up, and a read may open (create) a cache.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

from diskcache import Cache

from key_value.aio.stores.base import Entry
from key_value.aio.stores.disk.base import BaseDiskStore, check_max_size
from key_value.aio.stores.disk.cache import (
    CacheAPI,
    delete_many,
    holds_live_entries,
    live_keys,
    open_cache,
    read_many,
    typed,
    write_many,
)
from key_value.shared.errors import InvalidArgumentError, StoreSetupError
from key_value.shared.layouts.disk import DiskLayout

#: Inside a collection's directory: the file holding its raw name, and the diskcache directory.
NAME_FILE = "collection"
CACHE_DIRECTORY = "cache"


def _write_name(directory: Path, collection: str) -> None:
    """Record the raw collection name in its directory, once, atomically."""
    path = directory / NAME_FILE
    if path.is_file():
        return
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{NAME_FILE}.{os.getpid()}.{threading.get_ident()}"
    temporary.write_bytes(collection.encode("utf-8"))
    os.replace(temporary, path)


def _read_name(directory: Path, layout: DiskLayout) -> str | None:
    """The raw name of the collection in `directory`, or None if it is not one of ours."""
    try:
        name = (directory / NAME_FILE).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return name if name and layout.collection_directory(name) == directory.name else None


def _open_in(base_directory: Path, layout: DiskLayout, collection: str, *, max_size: int | None) -> CacheAPI:
    """Open (creating) the cache of `collection` under `base_directory`, recording its raw name first."""
    directory = base_directory / layout.collection_directory(collection)
    _write_name(directory, collection)
    return open_cache(directory / CACHE_DIRECTORY, max_size=max_size)


class MultiDiskStore(BaseDiskStore):
    """A persistent store with one diskcache directory per collection, or caches made by your factory."""

    def __init__(
        self,
        *,
        disk_cache_factory: Callable[[str], Cache] | None = None,
        base_directory: Path | str | None = None,
        max_size: int | None = None,
        default_collection: str | None = None,
        auto_create: bool = True,
        layout: DiskLayout | None = None,
    ) -> None:
        """`layout` (ours) chooses the directory names and records written; None is the native layout."""
        if (disk_cache_factory is None) == (base_directory is None):
            raise InvalidArgumentError("pass exactly one of disk_cache_factory and base_directory")
        if disk_cache_factory is not None and max_size is not None:
            raise InvalidArgumentError("max_size applies to caches the store opens; configure the factory's caches")
        super().__init__(default_collection=default_collection)
        self.max_size = check_max_size(max_size)
        if layout is not None:
            self._layout = layout
        if disk_cache_factory is not None:
            factory = disk_cache_factory
            self.base_directory: Path | None = None
            self._open_collection: Callable[[str], CacheAPI] = lambda collection: typed(factory(collection))
        else:
            self.base_directory = Path(str(base_directory)).expanduser()
            if not auto_create and not self.base_directory.is_dir():
                raise StoreSetupError(f"directory {str(base_directory)!r} does not exist and auto_create is False")
            self._open_collection = partial(_open_in, self.base_directory, self._layout, max_size=self.max_size)
        self._caches: dict[str, CacheAPI] = {}
        # async: uncontended: one worker thread opens the caches
        # sync: threads that open the same collection at once share one cache
        self._caches_lock = threading.Lock()

    # -- caches (called through `_run`) ----------------------------------------------------------

    def _cache(self, collection: str) -> CacheAPI:
        """The open cache of `collection`, opened (and created) on first use."""
        cache = self._caches.get(collection)
        if cache is not None:
            return cache
        with self._caches_lock:
            cache = self._caches.get(collection)
            if cache is None:
                cache = self._caches[collection] = self._open_collection(collection)
            return cache

    def _existing_cache(self, collection: str) -> CacheAPI | None:
        """The cache of `collection` if it exists (with a factory: always), without creating it."""
        cache = self._caches.get(collection)
        if cache is not None:
            return cache
        base = self.base_directory
        if base is None or (base / self._layout.collection_directory(collection) / CACHE_DIRECTORY).is_dir():
            return self._cache(collection)
        return None

    def _collections_on_disk(self) -> list[str]:
        """Every collection of this store: the name files under `base_directory`, or the caches opened so far."""
        if self.base_directory is None:
            with self._caches_lock:
                return list(self._caches)
        try:
            entries = list(os.scandir(self.base_directory))
        except FileNotFoundError:
            return []
        names = (_read_name(Path(entry.path), self._layout) for entry in entries if entry.is_dir())
        return [name for name in names if name is not None]

    def _release(self) -> None:
        with self._caches_lock:
            caches = list(self._caches.values())
            self._caches.clear()
        for cache in caches:
            cache.close()

    # -- entries ---------------------------------------------------------------------------------

    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        return self._entry(await self._run(partial(self._read, collection, key)))

    def _read(self, collection: str, key: str) -> object:
        cache = self._existing_cache(collection)
        return None if cache is None else cache.get(key)

    async def _get_entries(self, collection: str, keys: list[str]) -> list[Entry | None]:
        return list(map(self._entry, await self._run(partial(self._read_many, collection, keys))))

    def _read_many(self, collection: str, keys: list[str]) -> list[object]:
        cache = self._existing_cache(collection)
        return [None] * len(keys) if cache is None else read_many(cache, keys)

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        await self._run(partial(self._write, collection, key, value_json, ttl))

    def _write(self, collection: str, key: str, value_json: str, ttl: float | None) -> None:
        cache = self._cache(collection)
        cache.set(key, self._layout.encode(value_json, self._expiry(ttl)), ttl)

    async def _put_entries(
        self, collection: str, keys: list[str], values_json: list[str], *, ttl: float | None, expires_at: float | None
    ) -> None:
        await self._run(partial(self._write_many, collection, keys, values_json, ttl))

    def _write_many(self, collection: str, keys: list[str], values_json: list[str], ttl: float | None) -> None:
        cache = self._cache(collection)
        # Counted from here, once the cache is open: opening a new collection's cache takes tens of milliseconds.
        expires_at = self._expiry(ttl)
        records = [self._layout.encode(value_json, expires_at) for value_json in values_json]
        write_many(cache, keys, records, expire=ttl, tag=None)

    async def _delete_entry(self, collection: str, key: str) -> bool:
        return await self._run(partial(self._delete, collection, key))

    def _delete(self, collection: str, key: str) -> bool:
        cache = self._existing_cache(collection)
        return cache is not None and cache.delete(key)

    async def _delete_entries(self, collection: str, keys: list[str]) -> int:
        return await self._run(partial(self._delete_many, collection, keys))

    def _delete_many(self, collection: str, keys: list[str]) -> int:
        cache = self._existing_cache(collection)
        return 0 if cache is None else delete_many(cache, keys)

    # -- optional segments -----------------------------------------------------------------------

    async def _keys(self, collection: str, *, limit: int | None) -> list[str]:
        return await self._run(partial(self._live_keys, collection, self.clock(), limit))

    def _live_keys(self, collection: str, now: float, limit: int | None) -> list[str]:
        cache = self._existing_cache(collection)
        return [] if cache is None else live_keys(cache, now=now, limit=limit)

    async def _collections(self, *, limit: int | None) -> list[str]:
        return await self._run(partial(self._collection_names, self.clock(), limit))

    def _collection_names(self, now: float, limit: int | None) -> list[str]:
        names: list[str] = []
        for collection in self._collections_on_disk():
            if limit is not None and len(names) >= limit:
                break
            cache = self._existing_cache(collection)
            if cache is not None and holds_live_entries(cache, now=now):
                names.append(collection)
        return names

    async def _destroy(self) -> bool:
        return await self._run(self._remove_all)

    def _remove_all(self) -> bool:
        collections = self._collections_on_disk()
        caches = [cache for cache in map(self._existing_cache, collections) if cache is not None]
        base = self.base_directory
        if base is None:
            return sum(cache.clear() for cache in caches) > 0
        had_entries = any(len(cache) > 0 for cache in caches)
        self._release()  # close before removing: the next use opens fresh caches
        for collection in collections:
            shutil.rmtree(base / self._layout.collection_directory(collection))
        return had_entries

    async def _destroy_collection(self, collection: str) -> bool:
        return await self._run(partial(self._clear, collection)) > 0

    def _clear(self, collection: str) -> int:
        cache = self._existing_cache(collection)
        return 0 if cache is None else cache.clear()

    async def _cull(self) -> None:
        await self._run(partial(self._expire, self.clock()))

    def _expire(self, now: float) -> None:
        for collection in self._collections_on_disk():
            cache = self._existing_cache(collection)
            if cache is not None:
                cache.expire(now)

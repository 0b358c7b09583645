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

py-key-value-aio 0.4.x keeps a collection's cache directly in `base_directory/<sanitized name>`, with its
documents under the raw keys (`py_key_value.py`). `layout="py-key-value"` reads and writes only those
caches. With the native layout, set-up lists the directories holding a cache directly; if there are
any, reads that miss fall back to py-key-value's entry, writes and deletes remove it, and listings,
destroys and culls cover both. With a factory, py-key-value's documents sit under the same keys as
ours and are read where ours would be.
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
from key_value.aio.stores.disk import py_key_value
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
from key_value.aio.stores.disk.conditional import (
    BothSlot,
    NativeSlot,
    NoSlot,
    Slot,
    TheirSlot,
    locked,
    new_version,
    new_versions,
    put_if,
    versioned_entry,
)
from key_value.aio.stores.disk.direct import DirectCache
from key_value.shared.conditional import Absent, Condition, ConditionalResult, Joker, VersionedEntry
from key_value.shared.errors import DeserializationError, InvalidArgumentError, InvalidKeyError, StoreSetupError
from key_value.shared.layouts import LayoutName, choose_layout
from key_value.shared.layouts.disk import NATIVE_DISK_LAYOUT, DiskLayout

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
        layout: LayoutName | DiskLayout = "native",
    ) -> None:
        """`layout`: "native" (reading py-key-value's caches too), "py-key-value" (only its), or a layout object."""
        if (disk_cache_factory is None) == (base_directory is None):
            raise InvalidArgumentError("pass exactly one of disk_cache_factory and base_directory")
        if disk_cache_factory is not None and max_size is not None:
            raise InvalidArgumentError("max_size applies to caches the store opens; configure the factory's caches")
        super().__init__(default_collection=default_collection)
        self.max_size = check_max_size(max_size)
        chosen: DiskLayout | None = choose_layout(
            layout, native=lambda: NATIVE_DISK_LAYOUT, py_key_value=lambda: None, store="MultiDiskStore"
        )
        #: True for `layout="py-key-value"`: no native caches at all.
        self._py_key_value_only = chosen is None
        if chosen is not None:
            self._layout = chosen
        #: True when py-key-value's caches are read and written (set at set-up); False: the native path alone.
        self._py_key_value = self._py_key_value_only
        #: With the native layout: the directories under `base_directory` where set-up found py-key-value's caches.
        self._their_directories: set[str] = set()
        #: py-key-value's caches opened so far, by directory name.
        self._their_caches: dict[str, CacheAPI] = {}
        if disk_cache_factory is not None:
            factory = disk_cache_factory
            self.base_directory: Path | None = None
            self._open_collection: Callable[[str], CacheAPI] = lambda collection: typed(factory(collection))
            self._entry = self._entry_or_theirs  # only here: caches under a base directory hold ours alone
        else:
            self.base_directory = Path(str(base_directory)).expanduser()
            if not auto_create and not self.base_directory.is_dir():
                raise StoreSetupError(f"directory {str(base_directory)!r} does not exist and auto_create is False")
            self._open_collection = partial(_open_in, self.base_directory, self._layout, max_size=self.max_size)
        self._caches: dict[str, CacheAPI] = {}
        #: The direct paths of the open caches that have one (none while py-key-value's caches are read).
        self._directs: dict[str, DirectCache] = {}
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
                direct = None if self._py_key_value else self._direct_for(cache)
                if direct is not None:
                    self._directs[collection] = direct
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

    def _open(self) -> None:
        if self._py_key_value_only or self.base_directory is None:
            return
        self._their_directories = py_key_value.cache_directories(self.base_directory)
        self._py_key_value = bool(self._their_directories)

    def _release(self) -> None:
        with self._caches_lock:
            caches = [*self._caches.values(), *self._their_caches.values()]
            directs = list(self._directs.values())
            self._caches.clear()
            self._their_caches.clear()
            self._directs.clear()
        for direct in directs:
            direct.close()
        for cache in caches:
            cache.close()

    # -- entries ---------------------------------------------------------------------------------

    def _entry_or_theirs(self, stored: object) -> Entry | None:
        """`_entry` with a factory, whose caches may hold py-key-value's documents under the same keys as ours."""
        try:
            return BaseDiskStore._entry(self, stored)
        except DeserializationError:
            document = py_key_value.LAYOUT.document(stored)
            if document is None:
                raise
            return py_key_value.LAYOUT.entry(document, None)

    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        if self._py_key_value:
            return (await self._run(partial(self._read_both, collection, [key])))[0]
        direct = self._directs.get(collection)
        return self._entry(
            await self._direct_else_run(direct, lambda d: d.get(key), partial(self._read, collection, key))
        )

    def _read(self, collection: str, key: str) -> object:
        cache = self._existing_cache(collection)
        return None if cache is None else cache.get(key)

    async def _get_entries(self, collection: str, keys: list[str]) -> list[Entry | None]:
        if self._py_key_value:
            return await self._run(partial(self._read_both, collection, keys))
        direct = self._directs.get(collection)
        stored = await self._direct_else_run(
            direct, lambda d: d.get_many(keys), partial(self._read_many, collection, keys)
        )
        return list(map(self._entry, stored))

    def _read_many(self, collection: str, keys: list[str]) -> list[object]:
        cache = self._existing_cache(collection)
        return [None] * len(keys) if cache is None else read_many(cache, keys)

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        if self._py_key_value:
            await self._run(partial(self._write_both, collection, [key], [value_json], ttl))
            return
        await self._direct_else_run(
            self._directs.get(collection),
            lambda d: d.set_many((key,), (self._record(value_json, ttl),), expire=ttl, tag=None),
            partial(self._write, collection, key, value_json, ttl),
        )

    def _record(self, value_json: str, ttl: float | None) -> str:
        """The native record of a write made now."""
        now = self.clock()
        expires_at = None if ttl is None else now + ttl
        return self._layout.encode(value_json, expires_at, version=new_version(), written_at=now)

    def _write(self, collection: str, key: str, value_json: str, ttl: float | None) -> None:
        cache = self._cache(collection)  # counted from here, once the cache is open (see `_write_many`)
        cache.set(key, self._record(value_json, ttl), ttl)

    async def _put_entries(
        self, collection: str, keys: list[str], values_json: list[str], *, ttl: float | None, expires_at: float | None
    ) -> None:
        if self._py_key_value:
            await self._run(partial(self._write_both, collection, keys, values_json, ttl))
            return
        await self._direct_else_run(
            self._directs.get(collection),
            lambda d: d.set_many(keys, self._records(values_json, ttl), expire=ttl, tag=None),
            partial(self._write_many, collection, keys, values_json, ttl),
        )

    def _records(self, values_json: list[str], ttl: float | None) -> list[str]:
        """The native records of a batch written now, each with a version of its own."""
        encode, now = self._layout.encode, self.clock()
        expires_at = None if ttl is None else now + ttl
        return [
            encode(value_json, expires_at, version=version, written_at=now)
            for value_json, version in zip(values_json, new_versions(len(values_json)), strict=True)
        ]

    def _write_many(self, collection: str, keys: list[str], values_json: list[str], ttl: float | None) -> None:
        cache = self._cache(collection)
        # Counted from here, once the cache is open: opening a new collection's cache takes tens of milliseconds.
        write_many(cache, keys, self._records(values_json, ttl), expire=ttl, tag=None)

    async def _delete_entry(self, collection: str, key: str) -> bool:
        if self._py_key_value:
            return await self._run(partial(self._delete_both, collection, [key])) > 0
        direct = self._directs.get(collection)
        return await self._direct_else_run(
            direct, lambda d: d.delete_many((key,)) == 1, partial(self._delete, collection, key)
        )

    def _delete(self, collection: str, key: str) -> bool:
        cache = self._existing_cache(collection)
        return cache is not None and cache.delete(key)

    async def _delete_entries(self, collection: str, keys: list[str]) -> int:
        if self._py_key_value:
            return await self._run(partial(self._delete_both, collection, keys))
        direct = self._directs.get(collection)
        return await self._direct_else_run(
            direct, lambda d: d.delete_many(keys), partial(self._delete_many, collection, keys)
        )

    def _delete_many(self, collection: str, keys: list[str]) -> int:
        cache = self._existing_cache(collection)
        return 0 if cache is None else delete_many(cache, keys)

    # -- conditional segment (`conditional.py`) --------------------------------------------------

    def _slot(self, collection: str, key: str, *, create: bool) -> tuple[Slot, list[CacheAPI]]:
        """Where `key` of `collection` lives, and the caches to lock (in this order) to change it.

        `create`: open (create) the caches a write needs; else a collection without a cache is `NoSlot`.
        """
        theirs: TheirSlot | None = None
        caches: list[CacheAPI] = []
        if self._py_key_value:
            found = self._their_cache(collection, create=create and self._py_key_value_only)
            if found is not None:
                theirs = TheirSlot(found[0], key, collection, key)
            if self._py_key_value_only:
                return (NoSlot(), []) if theirs is None else (theirs, [theirs.cache])
        cache = self._cache(collection) if create else self._existing_cache(collection)
        ours = None
        if cache is not None:
            documents = self.base_directory is None  # a factory's caches may hold py-key-value's documents
            ours = NativeSlot(cache, key, self._layout, tag=None, documents=documents)
            caches.append(cache)
        if theirs is not None:
            caches.append(theirs.cache)
            return BothSlot(ours, theirs), caches
        return (NoSlot() if ours is None else ours), caches

    async def _get_versioned(self, collection: str, key: str) -> VersionedEntry | None:
        return await self._run(partial(self._read_versioned, collection, key))

    def _read_versioned(self, collection: str, key: str) -> VersionedEntry | None:
        slot, caches = self._slot(collection, key, create=False)
        if len(caches) < 2:
            return versioned_entry(slot, self.clock())
        with locked(caches):  # two caches, read as one
            return versioned_entry(slot, self.clock())

    async def _put_if(
        self,
        collection: str,
        key: str,
        value: str | Joker,
        *,
        etag: str | Absent,
        condition: Condition,
        ttl: float | None,
        expires_at: float | None,
        retrieve: bool,
    ) -> ConditionalResult:
        call = partial(
            self._put_if_locked, collection, key, value, etag=etag, condition=condition, ttl=ttl, retrieve=retrieve
        )
        return await self._run(call)

    def _put_if_locked(
        self,
        collection: str,
        key: str,
        value: str | Joker,
        *,
        etag: str | Absent,
        condition: Condition,
        ttl: float | None,
        retrieve: bool,
    ) -> ConditionalResult:
        slot, caches = self._slot(collection, key, create=not isinstance(value, Joker))
        with locked(caches):
            now = self.clock()  # as for plain writes: the TTL counts once the cache is open (and locked)
            expires_at = None if ttl is None else now + ttl
            return put_if(
                slot, value, etag=etag, condition=condition, ttl=ttl, expires_at=expires_at, retrieve=retrieve, now=now
            )

    # -- optional segments -----------------------------------------------------------------------

    async def _keys(self, collection: str, *, limit: int | None) -> list[str]:
        if self._py_key_value:
            return await self._run(partial(self._keys_of_both, collection, self.clock(), limit))
        return await self._run(partial(self._live_keys, collection, self.clock(), limit))

    def _live_keys(self, collection: str, now: float, limit: int | None) -> list[str]:
        cache = self._existing_cache(collection)
        return [] if cache is None else live_keys(cache, now=now, limit=limit)

    async def _collections(self, *, limit: int | None) -> list[str]:
        if self._py_key_value:
            return await self._run(partial(self._collections_of_both, self.clock(), limit))
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
        if self._py_key_value:
            return await self._run(partial(self._destroy_both, self.clock()))
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
        if self._py_key_value:
            return await self._run(partial(self._clear_both, collection, self.clock())) > 0
        return await self._run(partial(self._clear, collection)) > 0

    def _clear(self, collection: str) -> int:
        cache = self._existing_cache(collection)
        return 0 if cache is None else cache.clear()

    async def _cull(self) -> None:
        await self._run(partial(self._expire, self.clock()))

    def _expire(self, now: float) -> None:
        for collection in [] if self._py_key_value_only else self._collections_on_disk():
            cache = self._existing_cache(collection)
            if cache is not None:
                cache.expire(now)
        if self._py_key_value:
            for _, cache in self._their_all():
                cache.expire(now)

    # -- py-key-value's caches (called through `_run`) ---------------------------------------------

    def _their_cache(self, collection: str, *, create: bool) -> tuple[CacheAPI, str] | None:
        """py-key-value's cache of `collection` and its directory name, or None where it has none."""
        if self.base_directory is None:  # a factory's cache: py-key-value's layout only
            return (self._cache(collection), collection) if self._py_key_value_only else None
        try:
            directory = py_key_value.LAYOUT.collection_directory(collection)
        except InvalidKeyError:
            if self._py_key_value_only:
                raise
            return None  # py-key-value kept such a collection outside the base directory: not ours to read
        cache = self._their_cache_at(directory, create=create)
        return None if cache is None else (cache, directory)

    def _their_cache_at(self, directory: str, *, create: bool) -> CacheAPI | None:
        """The cache py-key-value keeps in `base_directory/directory`, opened on first use; None if it has none."""
        cache = self._their_caches.get(directory)
        if cache is not None:
            return cache
        base = self.base_directory
        assert base is not None  # only called with a base directory
        if not self._py_key_value_only and directory not in self._their_directories:
            return None
        if not create and not (base / directory / py_key_value.DATABASE).is_file():
            return None
        with self._caches_lock:
            cache = self._their_caches.get(directory)
            if cache is None:
                cache = self._their_caches[directory] = open_cache(base / directory, max_size=self.max_size)
            return cache

    def _their_all(self) -> list[tuple[str, CacheAPI]]:
        """Every py-key-value cache of this store, with its directory name (a factory's: its collection)."""
        base = self.base_directory
        if base is None:
            with self._caches_lock:
                return list(self._caches.items()) if self._py_key_value_only else []
        directories = py_key_value.cache_directories(base) if self._py_key_value_only else self._their_directories
        found = ((directory, self._their_cache_at(directory, create=False)) for directory in sorted(directories))
        return [(directory, cache) for directory, cache in found if cache is not None]

    def _read_both(self, collection: str, keys: list[str]) -> list[Entry | None]:
        """Each key's native entry, else py-key-value's (only the latter with its layout)."""
        entries: list[Entry | None] = (
            [None] * len(keys) if self._py_key_value_only else list(map(self._entry, self._read_many(collection, keys)))
        )
        theirs = None if None not in entries else self._their_cache(collection, create=False)
        if theirs is None:
            return entries
        cache = theirs[0]
        with cache.transact():
            return [
                py_key_value.read_raw(cache, collection, key) if entry is None else entry
                for key, entry in zip(keys, entries, strict=True)
            ]

    def _write_both(self, collection: str, keys: list[str], values_json: list[str], ttl: float | None) -> None:
        """Write py-key-value's documents (its layout), or ours and remove its copies so none resurfaces."""
        if self._py_key_value_only:
            theirs = self._their_cache(collection, create=True)
            assert theirs is not None  # created
            py_key_value.write_raw(theirs[0], collection, keys, values_json, ttl=ttl)
            return
        self._write_many(collection, keys, values_json, ttl)
        theirs = self._their_cache(collection, create=False)
        if theirs is not None:
            with theirs[0].transact():
                for key in keys:
                    py_key_value.delete_raw(theirs[0], collection, key)

    def _delete_both(self, collection: str, keys: list[str]) -> int:
        """Delete each key's entries, ours and py-key-value's; count the keys that had a live one."""
        ours = None if self._py_key_value_only else self._existing_cache(collection)
        theirs = self._their_cache(collection, create=False)
        deleted = 0
        for key in keys:
            ours_deleted = ours is not None and ours.delete(key)
            theirs_deleted = theirs is not None and py_key_value.delete_raw(theirs[0], collection, key)
            deleted += ours_deleted or theirs_deleted
        return deleted

    def _keys_of_both(self, collection: str, now: float, limit: int | None) -> list[str]:
        found = [] if self._py_key_value_only else self._live_keys(collection, now, limit)
        theirs = self._their_cache(collection, create=False)
        if theirs is None:
            return found
        cache, directory = theirs
        return _union(found, py_key_value.raw_keys(cache, collection, directory, now=now, limit=limit), limit)

    def _collections_of_both(self, now: float, limit: int | None) -> list[str]:
        found = [] if self._py_key_value_only else self._collection_names(now, limit)
        theirs: set[str] = set()
        for directory, cache in self._their_all():
            theirs |= py_key_value.raw_collections(cache, directory, now=now)
        return _union(found, sorted(theirs), limit)

    def _destroy_both(self, now: float) -> bool:
        """Remove our collections and py-key-value's entries, and each of its caches left empty."""
        theirs = self._their_all()
        removed = sum(py_key_value.delete_raw_all(cache, directory, now=now) for directory, cache in theirs)
        empty = [directory for directory, cache in theirs if directory and len(cache) == 0]
        ours = not self._py_key_value_only and self._remove_all()
        base = self.base_directory
        if base is None:
            return ours or removed > 0
        self._release()  # close before removing: the next use opens fresh caches
        for directory in empty:
            if (base / directory).is_dir():
                shutil.rmtree(base / directory)
        self._their_directories -= set(empty)
        return ours or removed > 0

    def _clear_both(self, collection: str, now: float) -> int:
        ours = 0 if self._py_key_value_only else self._clear(collection)
        theirs = self._their_cache(collection, create=False)
        if theirs is None:
            return ours
        cache, directory = theirs
        return ours + py_key_value.delete_raw_collection(cache, collection, directory, now=now)


def _union(first: list[str], second: list[str], limit: int | None) -> list[str]:
    """`first`, then the names of `second` not in it, at most `limit`."""
    seen = set(first)
    merged = first + [name for name in second if name not in seen]
    return merged if limit is None else merged[:limit]

"""`DiskStore`: every collection in one diskcache `Cache`, each entry a JSON record under a compound key.

A (collection, key) pair is stored under `self._layout.entry_name(collection, key)`, so the keys of a collection
are exactly the text keys in one range starting at `compound_prefix(collection)`. Enumeration reads
that range with one indexed SELECT (diskcache's public `iterkeys()` can only start at the first key
of the whole cache), so `keys()` costs O(collection), and `collections()` skips from one collection's
range to the next, costing O(collections). Every entry carries the tag `TAG`, so in a cache shared
with other data `destroy()` (`evict(TAG)`) and enumeration touch only this store's entries.

py-key-value-aio 0.4.x's entries (`py_key_value.py`): with `layout="py-key-value"` the store reads and
writes only those. With the native layout, set-up looks for keys the native layout does not make
(`holds_foreign_names`, a few index probes); if there are any, reads that miss fall back to
py-key-value's entry of the pair, writes and deletes remove it, and listings and destroys cover both.
Otherwise every hook runs the native path alone.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from diskcache import Cache

from key_value.aio.stores.base import Entry
from key_value.aio.stores.disk import py_key_value
from key_value.aio.stores.disk.base import BaseDiskStore, check_max_size
from key_value.aio.stores.disk.cache import (
    CacheAPI,
    delete_many,
    live_key_range,
    open_cache,
    read_many,
    typed,
    write_many,
)
from key_value.aio.stores.disk.conditional import (
    BothSlot,
    NativeSlot,
    Slot,
    TheirSlot,
    new_version,
    new_versions,
    put_if,
    versioned_entry,
)
from key_value.aio.stores.disk.direct import DirectCache
from key_value.shared.conditional import Absent, Condition, ConditionalResult, Joker, VersionedEntry
from key_value.shared.errors import InvalidArgumentError, StoreSetupError
from key_value.shared.layouts import LayoutName, choose_layout
from key_value.shared.layouts.disk import NATIVE_DISK_LAYOUT, DiskLayout

#: The diskcache tag on every entry this store writes.
TAG = "key-value"


class DiskStore(BaseDiskStore):
    """A persistent store in one diskcache directory (or a `Cache` you pass and keep ownership of)."""

    def __init__(
        self,
        *,
        disk_cache: Cache | None = None,
        directory: Path | str | None = None,
        max_size: int | None = None,
        default_collection: str | None = None,
        auto_create: bool = True,
        layout: LayoutName | DiskLayout = "native",
    ) -> None:
        """`layout`: "native" (reading py-key-value's entries too), "py-key-value" (only its), or a layout object."""
        if (disk_cache is None) == (directory is None):
            raise InvalidArgumentError("pass exactly one of disk_cache and directory")
        if disk_cache is not None and max_size is not None:
            raise InvalidArgumentError("max_size applies to a cache the store opens; configure disk_cache yourself")
        super().__init__(default_collection=default_collection)
        self.max_size = check_max_size(max_size)
        chosen: DiskLayout | None = choose_layout(
            layout, native=lambda: NATIVE_DISK_LAYOUT, py_key_value=lambda: None, store="DiskStore"
        )
        #: True for `layout="py-key-value"`: no native entries at all.
        self._py_key_value_only = chosen is None
        if chosen is not None:
            self._layout = chosen
        #: True when py-key-value's entries are read and written (set at set-up); False: the native path alone.
        self._py_key_value = self._py_key_value_only
        self._owns_cache = disk_cache is None
        #: The calls that need no worker thread (set at set-up); None: every call goes through `_run`.
        self._direct: DirectCache | None = None
        if disk_cache is not None:
            self._cache: CacheAPI = typed(disk_cache)
            self.directory = Path(self._cache.directory)
        else:
            self.directory = Path(str(directory)).expanduser()
            if not auto_create and not self.directory.is_dir():
                raise StoreSetupError(f"directory {str(self.directory)!r} does not exist and auto_create is False")

    # -- lifecycle (called through `_run`) -------------------------------------------------------

    def _open(self) -> None:
        if self._owns_cache:
            self._cache = open_cache(self.directory, max_size=self.max_size)
        self._py_key_value = self._py_key_value_only or py_key_value.holds_foreign_names(self._cache, self._layout, TAG)
        if not self._py_key_value:
            self._direct = self._direct_for(self._cache)

    def _release(self) -> None:
        direct, self._direct = self._direct, None
        if direct is not None:
            direct.close()
        if True:  # ASYNC
            self._cache.close()  # closes only the worker thread's connection, even to a caller's cache
        elif self._owns_cache:
            self._cache.close()

    # -- entries ---------------------------------------------------------------------------------

    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        if self._py_key_value:
            return (await self._run(partial(self._read_both, collection, [key])))[0]
        name = self._layout.entry_name(collection, key)
        return self._entry(
            await self._direct_else_run(self._direct, lambda d: d.get(name), partial(self._cache.get, name))
        )

    async def _get_entries(self, collection: str, keys: list[str]) -> list[Entry | None]:
        if self._py_key_value:
            return await self._run(partial(self._read_both, collection, keys))
        names = [self._layout.entry_name(collection, key) for key in keys]
        stored = await self._direct_else_run(
            self._direct, lambda d: d.get_many(names), partial(read_many, self._cache, names)
        )
        return list(map(self._entry, stored))

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        if self._py_key_value:
            await self._run(partial(self._write_both, collection, [key], [value_json], ttl, expires_at))
            return
        name = self._layout.entry_name(collection, key)
        record = self._layout.encode(value_json, expires_at, version=new_version(), written_at=self.clock())
        await self._direct_else_run(
            self._direct,
            lambda d: d.set_many((name,), (record,), expire=ttl, tag=TAG),
            partial(self._cache.set, name, record, ttl, tag=TAG),
        )

    async def _put_entries(
        self, collection: str, keys: list[str], values_json: list[str], *, ttl: float | None, expires_at: float | None
    ) -> None:
        if self._py_key_value:
            await self._run(partial(self._write_both, collection, keys, values_json, ttl, expires_at))
            return
        names = [self._layout.entry_name(collection, key) for key in keys]
        records = self._records(values_json, expires_at)
        await self._direct_else_run(
            self._direct,
            lambda d: d.set_many(names, records, expire=ttl, tag=TAG),
            partial(write_many, self._cache, names, records, expire=ttl, tag=TAG),
        )

    def _records(self, values_json: list[str], expires_at: float | None) -> list[str]:
        """The native records of a batch: each with a version of its own, all written now."""
        encode, now = self._layout.encode, self.clock()
        return [
            encode(value_json, expires_at, version=version, written_at=now)
            for value_json, version in zip(values_json, new_versions(len(values_json)), strict=True)
        ]

    async def _delete_entry(self, collection: str, key: str) -> bool:
        if self._py_key_value:
            return await self._run(partial(self._delete_both, collection, [key])) > 0
        name = self._layout.entry_name(collection, key)
        return await self._direct_else_run(
            self._direct, lambda d: d.delete_many((name,)) == 1, partial(self._cache.delete, name)
        )

    async def _delete_entries(self, collection: str, keys: list[str]) -> int:
        if self._py_key_value:
            return await self._run(partial(self._delete_both, collection, keys))
        names = [self._layout.entry_name(collection, key) for key in keys]
        return await self._direct_else_run(
            self._direct, lambda d: d.delete_many(names), partial(delete_many, self._cache, names)
        )

    # -- conditional segment (`conditional.py`) --------------------------------------------------

    def _slot(self, collection: str, key: str) -> Slot:
        """Where (collection, key) lives: our record, py-key-value's document, or ours else theirs."""
        theirs = None
        if self._py_key_value:
            theirs = TheirSlot(self._cache, py_key_value.LAYOUT.entry_name(collection, key), collection, key)
            if self._py_key_value_only:
                return theirs
        ours = NativeSlot(self._cache, self._layout.entry_name(collection, key), self._layout, tag=TAG, documents=False)
        return ours if theirs is None else BothSlot(ours, theirs)

    async def _get_versioned(self, collection: str, key: str) -> VersionedEntry | None:
        return await self._run(partial(self._read_versioned, collection, key))

    def _read_versioned(self, collection: str, key: str) -> VersionedEntry | None:
        slot = self._slot(collection, key)
        if not self._py_key_value:
            return versioned_entry(slot, self.clock())
        with self._cache.transact():  # two names, read as one
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
            self._put_if_locked,
            collection,
            key,
            value,
            etag=etag,
            condition=condition,
            ttl=ttl,
            expires_at=expires_at,
            retrieve=retrieve,
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
        expires_at: float | None,
        retrieve: bool,
    ) -> ConditionalResult:
        slot = self._slot(collection, key)
        with self._cache.transact():
            return put_if(
                slot,
                value,
                etag=etag,
                condition=condition,
                ttl=ttl,
                expires_at=expires_at,
                retrieve=retrieve,
                now=self.clock(),
            )

    # -- optional segments -----------------------------------------------------------------------

    async def _keys(self, collection: str, *, limit: int | None) -> list[str]:
        if self._py_key_value:
            return await self._run(partial(self._keys_of_both, collection, self.clock(), limit))
        start, stop = self._layout.collection_range(collection)
        names = await self._run(
            partial(live_key_range, self._cache, start=start, stop=stop, tag=TAG, now=self.clock(), limit=limit)
        )
        return [name[len(start) :] for name in names]

    async def _collections(self, *, limit: int | None) -> list[str]:
        if self._py_key_value:
            return await self._run(partial(self._collections_of_both, self.clock(), limit))
        return await self._run(partial(self._collection_names, self.clock(), limit))

    def _collection_names(self, now: float, limit: int | None) -> list[str]:
        names: list[str] = []
        start, stop = self._layout.every_collection_range()
        with self._cache.transact():
            while limit is None or len(names) < limit:
                found = live_key_range(self._cache, start=start, stop=stop, tag=TAG, now=now, limit=1)
                if not found:
                    break
                collection = self._layout.split_name(found[0])[0]
                names.append(collection)
                start = self._layout.collection_range(collection)[1]
        return names

    async def _destroy(self) -> bool:
        if self._py_key_value:
            return await self._run(partial(self._destroy_both, self.clock()))
        return await self._run(partial(self._cache.evict, TAG)) > 0

    async def _destroy_collection(self, collection: str) -> bool:
        if self._py_key_value:
            return await self._run(partial(self._clear_both, collection, self.clock())) > 0
        return await self._run(partial(self._clear_collection, collection)) > 0

    def _clear_collection(self, collection: str) -> int:
        start, stop = self._layout.collection_range(collection)
        with self._cache.transact():
            names = live_key_range(self._cache, start=start, stop=stop, tag=TAG, now=self.clock(), limit=None)
            return delete_many(self._cache, names)

    async def _cull(self) -> None:
        await self._run(self._cache.expire)

    # -- with py-key-value's entries (called through `_run`) -------------------------------------

    def _read_both(self, collection: str, keys: list[str]) -> list[Entry | None]:
        """Each key's native entry, else py-key-value's (only the latter with its layout), in one transaction."""
        with self._cache.transact():
            if self._py_key_value_only:
                return [py_key_value.read(self._cache, collection, key) for key in keys]
            names = [self._layout.entry_name(collection, key) for key in keys]
            entries = list(map(self._entry, read_many(self._cache, names)))
            return [
                py_key_value.read(self._cache, collection, key) if entry is None else entry
                for key, entry in zip(keys, entries, strict=True)
            ]

    def _write_both(
        self, collection: str, keys: list[str], values_json: list[str], ttl: float | None, expires_at: float | None
    ) -> None:
        """Write py-key-value's documents (its layout), or ours and remove its copies so none resurfaces."""
        if self._py_key_value_only:
            py_key_value.write_many(self._cache, collection, keys, values_json, ttl=ttl)
            return
        names = [self._layout.entry_name(collection, key) for key in keys]
        records = self._records(values_json, expires_at)
        with self._cache.transact():
            write_many(self._cache, names, records, expire=ttl, tag=TAG)
            for key in keys:
                py_key_value.delete(self._cache, collection, key)

    def _delete_both(self, collection: str, keys: list[str]) -> int:
        """Delete each key's entries, ours and py-key-value's; count the keys that had a live one."""
        deleted = 0
        with self._cache.transact():
            for key in keys:
                ours = not self._py_key_value_only and self._cache.delete(self._layout.entry_name(collection, key))
                theirs = py_key_value.delete(self._cache, collection, key)
                deleted += ours or theirs
        return deleted

    def _keys_of_both(self, collection: str, now: float, limit: int | None) -> list[str]:
        with self._cache.transact():
            found: list[str] = []
            if not self._py_key_value_only:
                start, stop = self._layout.collection_range(collection)
                names = live_key_range(self._cache, start=start, stop=stop, tag=TAG, now=now, limit=limit)
                found = [name[len(start) :] for name in names]
            return _union(found, py_key_value.keys(self._cache, collection, now=now, limit=limit), limit)

    def _collections_of_both(self, now: float, limit: int | None) -> list[str]:
        with self._cache.transact():
            found = [] if self._py_key_value_only else self._collection_names(now, limit)
            return _union(found, py_key_value.collections(self._cache, now=now), limit)

    def _destroy_both(self, now: float) -> bool:
        with self._cache.transact():
            ours = 0 if self._py_key_value_only else self._cache.evict(TAG)
            return ours + py_key_value.delete_all(self._cache, now=now) > 0

    def _clear_both(self, collection: str, now: float) -> int:
        with self._cache.transact():
            ours = 0 if self._py_key_value_only else self._clear_collection(collection)
            return ours + py_key_value.delete_collection(self._cache, collection, now=now)


def _union(first: list[str], second: list[str], limit: int | None) -> list[str]:
    """`first`, then the names of `second` not in it, at most `limit`."""
    seen = set(first)
    merged = first + [name for name in second if name not in seen]
    return merged if limit is None else merged[:limit]

"""`DiskStore`: every collection in one diskcache `Cache`, each entry a JSON record under a compound key.

A (collection, key) pair is stored under `compound_key(collection, key)`, so the keys of a collection
are exactly the text keys in one range starting at `compound_prefix(collection)`. Enumeration reads
that range with one indexed SELECT (diskcache's public `iterkeys()` can only start at the first key
of the whole cache), so `keys()` costs O(collection), and `collections()` skips from one collection's
range to the next, costing O(collections). Every entry carries the tag `TAG`, so in a cache shared
with other data `destroy()` (`evict(TAG)`) and enumeration touch only this store's entries.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from diskcache import Cache

from key_value.aio.stores.base import Entry
from key_value.aio.stores.disk.base import BaseDiskStore, check_max_size
from key_value.aio.stores.disk.cache import (
    CacheAPI,
    delete_many,
    live_key_range,
    open_cache,
    read_many,
    to_entry,
    typed,
    write_many,
)
from key_value.shared.errors import InvalidArgumentError, StoreSetupError
from key_value.shared.naming import compound_key, compound_prefix, split_compound_key
from key_value.shared.records import encode_record

#: The diskcache tag on every entry this store writes.
TAG = "key-value"


def _range(collection: str) -> tuple[str, str]:
    """The [start, stop) range of text keys holding exactly the compound keys of `collection`."""
    start = compound_prefix(collection)
    return start, start[:-1] + chr(ord(start[-1]) + 1)


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
    ) -> None:
        if (disk_cache is None) == (directory is None):
            raise InvalidArgumentError("pass exactly one of disk_cache and directory")
        if disk_cache is not None and max_size is not None:
            raise InvalidArgumentError("max_size applies to a cache the store opens; configure disk_cache yourself")
        super().__init__(default_collection=default_collection)
        self.max_size = check_max_size(max_size)
        self._owns_cache = disk_cache is None
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

    def _release(self) -> None:
        if True:  # ASYNC
            self._cache.close()  # closes only the worker thread's connection, even to a caller's cache
        elif self._owns_cache:
            self._cache.close()

    # -- entries ---------------------------------------------------------------------------------

    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        return to_entry(await self._run(partial(self._cache.get, compound_key(collection, key))))

    async def _get_entries(self, collection: str, keys: list[str]) -> list[Entry | None]:
        names = [compound_key(collection, key) for key in keys]
        return list(map(to_entry, await self._run(partial(read_many, self._cache, names))))

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        name, record = compound_key(collection, key), encode_record(value_json, expires_at)
        await self._run(partial(self._cache.set, name, record, ttl, tag=TAG))

    async def _put_entries(
        self, collection: str, keys: list[str], values_json: list[str], *, ttl: float | None, expires_at: float | None
    ) -> None:
        names = [compound_key(collection, key) for key in keys]
        records = [encode_record(value_json, expires_at) for value_json in values_json]
        await self._run(partial(write_many, self._cache, names, records, expire=ttl, tag=TAG))

    async def _delete_entry(self, collection: str, key: str) -> bool:
        return await self._run(partial(self._cache.delete, compound_key(collection, key)))

    async def _delete_entries(self, collection: str, keys: list[str]) -> int:
        names = [compound_key(collection, key) for key in keys]
        return await self._run(partial(delete_many, self._cache, names))

    # -- optional segments -----------------------------------------------------------------------

    async def _keys(self, collection: str, *, limit: int | None) -> list[str]:
        start, stop = _range(collection)
        names = await self._run(
            partial(live_key_range, self._cache, start=start, stop=stop, tag=TAG, now=self.clock(), limit=limit)
        )
        return [name[len(start) :] for name in names]

    async def _collections(self, *, limit: int | None) -> list[str]:
        return await self._run(partial(self._collection_names, self.clock(), limit))

    def _collection_names(self, now: float, limit: int | None) -> list[str]:
        # Compound keys start with a digit, and ":" sorts right after "9": all of them lie in ["0", ":").
        names: list[str] = []
        start = "0"
        with self._cache.transact():
            while limit is None or len(names) < limit:
                found = live_key_range(self._cache, start=start, stop=":", tag=TAG, now=now, limit=1)
                if not found:
                    break
                collection = split_compound_key(found[0])[0]
                names.append(collection)
                start = _range(collection)[1]
        return names

    async def _destroy(self) -> bool:
        return await self._run(partial(self._cache.evict, TAG)) > 0

    async def _destroy_collection(self, collection: str) -> bool:
        return await self._run(partial(self._clear_collection, collection)) > 0

    def _clear_collection(self, collection: str) -> int:
        start, stop = _range(collection)
        with self._cache.transact():
            names = live_key_range(self._cache, start=start, stop=stop, tag=TAG, now=self.clock(), limit=None)
            return delete_many(self._cache, names)

    async def _cull(self) -> None:
        await self._run(self._cache.expire)

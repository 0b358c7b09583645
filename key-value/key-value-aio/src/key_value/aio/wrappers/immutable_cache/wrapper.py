"""`ImmutableCacheWrapper`: an in-process LRU for append-only data: a hit is trusted and makes no request.

Correct only for data that is never overwritten or deleted once written (pair it with
`AppendOnlyWrapper` or `WriteOnceWrapper` in every writer): a cached entry is never checked against the
store, so a change made by another client is not seen until the entry leaves the cache (its TTL, or the
LRU bound). For data that does change, use `ValidatedCacheWrapper`, whose hits cost one small request.

Misses are read through in one `ttl_many` per call and cached with their expiry, so an entry with a TTL
expires here when it expires in the store; absent keys are not cached (they may be written later).
Writes, deletes and conditional writes through the wrapper go to the store and drop their keys from the
cache, and a read that raced one of them does not cache what it read. `get_entry` reads the store (an
ETag is the store's). At most `max_entries` entries are kept, least recently used dropped first.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, SupportsFloat

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.shared.codec import decode_value, encode_value
from key_value.shared.conditional import Absent, Condition, ConditionalResult, Joker
from key_value.shared.lru import Cached, LocalCache, Name
from key_value.shared.validation import check_collection, check_keys

DEFAULT_MAX_ENTRIES = 1000

_Result = tuple["dict[str, Any] | None", "float | None"]


class ImmutableCacheWrapper(BaseWrapper):
    """Caches entries in this process and answers hits without asking the store: for data never overwritten."""

    supported_segments = ALL_SEGMENTS

    def __init__(self, key_value: AsyncKeyValue, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._cache = LocalCache(max_entries)
        super().__init__(key_value)

    def _collection(self, collection: str | None) -> str | None:
        """The cache's name for a collection: `None` resolved to the store's default when it says."""
        return self.default_collection if collection is None else check_collection(collection)

    async def _read(self, keys: Sequence[str], collection: str | None) -> list[_Result]:
        checked = check_keys(keys)
        cache_collection = self._collection(collection)
        now = time.time()
        results: list[_Result | None] = []
        for key in checked:
            cached = self._cache.get((cache_collection, key))
            results.append(None if cached is None else (decode_value(cached.text), cached.remaining(now)))
        missing = [key for key, result in zip(checked, results, strict=True) if result is None]
        if not missing:
            return [result for result in results if result is not None]
        since = self._cache.version
        started = time.time()
        fetched = await self.key_value.ttl_many(missing, collection=collection)
        for key, (value, remaining) in zip(missing, fetched, strict=True):
            if value is not None:
                expires_at = None if remaining is None else started + remaining  # never later than the store's
                self._cache.put((cache_collection, key), Cached(encode_value(value), None, expires_at), since=since)
        found = iter(fetched)
        return [next(found) if result is None else result for result in results]

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        return (await self._read([key], collection))[0][0]

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        return [value for value, _ in await self._read(keys, collection)]

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        return (await self._read([key], collection))[0]

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        return await self._read(keys, collection)

    # -- writes go to the store and drop what they touch ------------------------------------------------

    @contextmanager
    def _writing(self, names: list[Name] | None) -> Generator[None, None, None]:
        """Around a write of `names` (None: of everything): no read in flight caches, and the names are dropped."""
        self._cache.bump()
        try:
            yield
        finally:
            if names is None:
                self._cache.clear()
            else:
                self._cache.discard(names)
            self._cache.bump()

    def _names(self, keys: Sequence[str], collection: str | None) -> list[Name]:
        cache_collection = self._collection(collection)
        return [(cache_collection, key) for key in check_keys(keys)]

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        with self._writing(self._names([key], collection)):
            await self.key_value.put(key, value, collection=collection, ttl=ttl)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        with self._writing(self._names(keys, collection)):
            await self.key_value.put_many(keys, values, collection=collection, ttl=ttl)

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        with self._writing(self._names([key], collection)):
            return await self.key_value.delete(key, collection=collection)

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        with self._writing(self._names(keys, collection)):
            return await self.key_value.delete_many(keys, collection=collection)

    async def _destroy(self) -> bool:
        with self._writing(None):
            return await super()._destroy()

    async def _destroy_collection(self, collection: str) -> bool:
        with self._writing(None):
            return await super()._destroy_collection(collection)

    async def _put_if(
        self,
        key: str,
        value: Mapping[str, Any] | Joker,
        *,
        etag: str | Absent,
        condition: Condition,
        collection: str | None,
        ttl: SupportsFloat | None,
        retrieve: bool,
    ) -> ConditionalResult:
        with self._writing(self._names([key], collection)):
            return await super()._put_if(
                key, value, etag=etag, condition=condition, collection=collection, ttl=ttl, retrieve=retrieve
            )

    async def _delete_if(
        self, key: str, *, etag: str | Absent, condition: Condition, collection: str | None, retrieve: bool
    ) -> ConditionalResult:
        with self._writing(self._names([key], collection)):
            return await super()._delete_if(
                key, etag=etag, condition=condition, collection=collection, retrieve=retrieve
            )

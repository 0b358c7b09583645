"""`PassthroughCacheWrapper`: reads are answered by a cache store, filled from the primary store on a miss.

Writes go to the primary, then delete the keys from the cache; a `WriteTracker` keeps a read that
raced a write from caching the value the write replaced. A cache entry never outlives the primary's:
it holds the value with the primary's expiry time, is stored with a TTL no longer than what the
primary has left (`missing_ttl` when the primary entry never expires, at most `maximum_ttl`), and
`ttl()` reports the primary's remaining time. The misses of one `get_many`/`ttl_many` fill the cache
with one bulk put, whose TTL is the shortest of theirs.

`collection=None` goes to the primary as it is; the cache is given the primary's default collection by
name, so that writes and reads naming it either way invalidate and hit the same cache entries.
Consistency holds for writes made through this wrapper (in this process); writes made to the primary
by others become visible when the cache entry expires.

Conditional calls (offered when the primary has them) go to the primary: `get_entry` reads it directly
(an ETag is the primary's), and every conditional write or delete, satisfied or not, then deletes the
key from the cache under the same write tracking as `put`, so no read caches what it replaced.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat, cast

from key_value.aio.protocols.capabilities import capabilities_of
from key_value.aio.protocols.key_value import (
    AsyncConditionalProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncKeyValue,
)
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.aio.wrappers.passthrough_cache.writes import WriteTracker
from key_value.shared.capabilities import Capability
from key_value.shared.conditional import Absent, Condition, ConditionalResult, Joker, VersionedEntry
from key_value.shared.validation import check_collection, check_key, check_keys, check_same_length, check_ttl

DEFAULT_MAX_TTL: float = 30.0 * 60.0
DEFAULT_MISSING_TTL: float = 30.0 * 60.0

_Result = tuple["dict[str, Any] | None", "float | None"]


class PassthroughCacheWrapper(BaseWrapper):
    """Reads through `cache_key_value` in front of `primary_key_value`; writes go to the primary."""

    supported_segments = ALL_SEGMENTS

    def __init__(
        self,
        primary_key_value: AsyncKeyValue,
        cache_key_value: AsyncKeyValue,
        maximum_ttl: SupportsFloat | None = None,
        missing_ttl: SupportsFloat | None = None,
    ) -> None:
        checked_maximum, checked_missing = check_ttl(maximum_ttl), check_ttl(missing_ttl)
        super().__init__(primary_key_value)
        self.primary_key_value = primary_key_value
        self.cache_key_value = cache_key_value
        self.maximum_ttl = DEFAULT_MAX_TTL if checked_maximum is None else checked_maximum
        self.missing_ttl = DEFAULT_MISSING_TTL if checked_missing is None else checked_missing
        self._writes = WriteTracker()

    @property
    def wrapped_stores(self) -> list[AsyncKeyValue]:
        return [self.primary_key_value, self.cache_key_value]

    @property
    def capabilities(self) -> Capability:
        """The primary's segments; destroying only when the cache can be destroyed alongside."""
        primary = capabilities_of(self.primary_key_value)
        cache = capabilities_of(self.cache_key_value)
        destroying = Capability.DESTROY | Capability.DESTROY_COLLECTION
        return (primary & ~destroying | primary & cache & destroying) & self.supported_segments

    def _cache_collection(self, collection: str | None) -> str | None:
        """The cache's name for the primary's collection: `None` resolved to the primary's default when known."""
        return self.default_collection if collection is None else check_collection(collection)

    # -- reads ----------------------------------------------------------------------------------

    async def _read(self, keys: Sequence[str], collection: str | None) -> list[_Result]:
        """(value, ttl) per key: from the cache where it holds the key, else from the primary (filling the cache)."""
        cache_collection = self._cache_collection(collection)
        cached = await self.cache_key_value.get_many(keys, collection=cache_collection)  # checks the keys
        now = time.time()
        results = [_open(record, now) for record in cached]
        missing = [key for key, result in zip(keys, results, strict=True) if result is None]
        if not missing:
            return cast("list[_Result]", results)
        fetched = iter(await self._fetch(missing, collection, cache_collection))
        return [next(fetched) if result is None else result for result in results]

    async def _fetch(self, keys: list[str], collection: str | None, cache_collection: str | None) -> list[_Result]:
        """Read `keys` from the primary and cache what was found, in one put, unless a write intervened."""
        with self._writes.reading(cache_collection, keys) as ticket:
            started = time.time()
            fetched = await self.primary_key_value.ttl_many(keys, collection=collection)
            now = time.time()
            fill_keys: list[str] = []
            fill_records: list[dict[str, Any]] = []
            fill_ttl = self.maximum_ttl
            for key, (value, remaining), fillable in zip(keys, fetched, ticket.fillable(), strict=True):
                if value is None or not fillable:
                    continue
                expires_at = None if remaining is None else started + remaining  # never later than the primary's
                ttl = self.missing_ttl if expires_at is None else expires_at - now
                if ttl > 0:
                    fill_ttl = min(fill_ttl, ttl)
                    fill_keys.append(key)
                    fill_records.append({"value": value, "expires_at": expires_at})
            if fill_keys:
                await self.cache_key_value.put_many(fill_keys, fill_records, collection=cache_collection, ttl=fill_ttl)
                filled = set(fill_keys)
                stale = [key for key, changed in zip(keys, ticket.changed(), strict=True) if changed and key in filled]
                if stale:
                    await self.cache_key_value.delete_many(stale, collection=cache_collection)
        return fetched

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

    # -- writes ---------------------------------------------------------------------------------

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        check_key(key)
        check_ttl(ttl)
        cache_collection = self._cache_collection(collection)
        with self._writes.writing(cache_collection, [key]):
            try:
                await self.primary_key_value.put(key, value, collection=collection, ttl=ttl)
            finally:
                await self.cache_key_value.delete(key, collection=cache_collection)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        checked = check_keys(keys)
        check_same_length(checked, values)
        check_ttl(ttl)
        cache_collection = self._cache_collection(collection)
        with self._writes.writing(cache_collection, checked):
            try:
                await self.primary_key_value.put_many(checked, values, collection=collection, ttl=ttl)
            finally:
                await self.cache_key_value.delete_many(checked, collection=cache_collection)

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        check_key(key)
        cache_collection = self._cache_collection(collection)
        with self._writes.writing(cache_collection, [key]):
            try:
                return await self.primary_key_value.delete(key, collection=collection)
            finally:
                await self.cache_key_value.delete(key, collection=cache_collection)

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        checked = check_keys(keys)
        cache_collection = self._cache_collection(collection)
        with self._writes.writing(cache_collection, checked):
            try:
                return await self.primary_key_value.delete_many(checked, collection=collection)
            finally:
                await self.cache_key_value.delete_many(checked, collection=cache_collection)

    # -- conditional segment: the primary's entries, the cache invalidated -------------------------

    async def _get_entry(self, key: str, *, collection: str | None) -> VersionedEntry | None:
        return await cast("AsyncConditionalProtocol", self.primary_key_value).get_entry(key, collection=collection)

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
        check_key(key)
        cache_collection = self._cache_collection(collection)
        with self._writes.writing(cache_collection, [key]):
            try:
                return await super()._put_if(
                    key, value, etag=etag, condition=condition, collection=collection, ttl=ttl, retrieve=retrieve
                )
            finally:
                await self.cache_key_value.delete(key, collection=cache_collection)

    async def _delete_if(
        self, key: str, *, etag: str | Absent, condition: Condition, collection: str | None, retrieve: bool
    ) -> ConditionalResult:
        check_key(key)
        cache_collection = self._cache_collection(collection)
        with self._writes.writing(cache_collection, [key]):
            try:
                return await super()._delete_if(
                    key, etag=etag, condition=condition, collection=collection, retrieve=retrieve
                )
            finally:
                await self.cache_key_value.delete(key, collection=cache_collection)

    async def _destroy(self) -> bool:
        with self._writes.writing_everything():
            try:
                return await super()._destroy()
            finally:
                await cast("AsyncDestroyStoreProtocol", self.cache_key_value).destroy()

    async def _destroy_collection(self, collection: str) -> bool:
        check_collection(collection)
        with self._writes.writing_everything():
            try:
                return await super()._destroy_collection(collection)
            finally:
                await cast("AsyncDestroyCollectionProtocol", self.cache_key_value).destroy_collection(collection)


def _open(record: dict[str, Any] | None, now: float) -> _Result | None:
    """The (value, remaining ttl) a cache record holds, or None if it is absent, expired or not ours."""
    if record is None or record.keys() != {"value", "expires_at"}:
        return None
    value, expires_at = record["value"], record["expires_at"]
    if not isinstance(value, dict) or not (expires_at is None or isinstance(expires_at, (int, float))):
        return None
    if expires_at is None:
        return cast("dict[str, Any]", value), None
    remaining = float(expires_at) - now
    return (cast("dict[str, Any]", value), remaining) if remaining > 0 else None

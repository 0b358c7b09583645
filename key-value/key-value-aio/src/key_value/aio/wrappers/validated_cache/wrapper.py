"""`ValidatedCacheWrapper`: an in-process LRU of (value, ETag) whose every hit is confirmed by the store in one request.

For large values read often and changed rarely, by any client: a hit costs one small request instead of
transferring the value, and is never stale. The check is `put_if(key, KEEP_CURRENT, etag=<cached>,
condition=SAME, retrieve=False)`: it writes nothing, returns no value, and holds only if the entry still
has the cached ETag (an expired or deleted entry is `ABSENT`, so it fails). One round trip on Valkey,
PostgreSQL and NATS (measured by the tests), Redis (the same script as Valkey) and Memcached (a meta set on
the CAS unique), none on MemoryStore. When it fails, the entry is read again with
`get_entry` (a second request) and cached with its new ETag; a miss is one `get_entry`.

Needs the conditional segment on the wrapped store (else `UnsupportedOperationError`), and a store whose
ETags change with every write (all of ours; digest ETags change with the bytes, which is what matters
here). Writes and deletes through the wrapper drop the key from the cache; writes by others are caught
by the check. `ttl()` / `ttl_many()` always read the store (a TTL refresh keeps the ETag), as do
`get_entry` and the conditional writes. `get_many` checks or reads key by key: one request per key.
At most `max_entries` entries are kept, least recently used dropped first.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat, cast

from key_value.aio.protocols.capabilities import capabilities_of
from key_value.aio.protocols.key_value import AsyncConditionalProtocol, AsyncKeyValue
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.codec import decode_value, encode_value
from key_value.shared.conditional import KEEP_CURRENT, Absent, Condition, ConditionalResult, Joker, VersionedEntry
from key_value.shared.errors import UnsupportedOperationError
from key_value.shared.lru import Cached, LocalCache, Name
from key_value.shared.validation import check_collection, check_key, check_keys

DEFAULT_MAX_ENTRIES = 1000


class ValidatedCacheWrapper(BaseWrapper):
    """Caches values with their ETags in this process; each hit is checked against the store's current ETag."""

    supported_segments = ALL_SEGMENTS

    def __init__(self, key_value: AsyncKeyValue, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if Capability.CONDITIONAL not in capabilities_of(key_value):
            raise UnsupportedOperationError(
                "ValidatedCacheWrapper checks ETags: the wrapped store needs the conditional segment",
                {"store": type(key_value).__name__},
            )
        self._cache = LocalCache(max_entries)
        super().__init__(key_value)

    @property
    def _store(self) -> AsyncConditionalProtocol:
        return cast("AsyncConditionalProtocol", self.key_value)

    def _name(self, key: str, collection: str | None) -> Name:
        """The cache's name for (collection, key): `None` resolved to the store's default when it says."""
        return (self.default_collection if collection is None else check_collection(collection), check_key(key))

    async def _fetch(self, key: str, collection: str | None, name: Name) -> VersionedEntry | None:
        """Read the entry from the store and cache it (or drop the key when it is absent)."""
        started = time.time()
        entry = await self._store.get_entry(key, collection=collection)
        if entry is None:
            self._cache.discard([name])
            return None
        expires_at = None if entry.ttl is None else started + entry.ttl
        self._cache.put(name, Cached(encode_value(entry.value), entry.etag, expires_at))
        return entry

    async def _read(self, key: str, collection: str | None) -> dict[str, Any] | None:
        name = self._name(key, collection)
        cached = self._cache.get(name)
        if cached is not None and cached.etag is not None:
            check = await self._store.put_if(
                key, KEEP_CURRENT, etag=cached.etag, condition=Condition.SAME, collection=collection, retrieve=False
            )
            if check.satisfied:
                return decode_value(cached.text)
        entry = await self._fetch(key, collection, name)
        return None if entry is None else entry.value

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        return await self._read(key, collection)

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        return [await self._read(key, collection) for key in check_keys(keys)]

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        entry = await self._fetch(key, collection, self._name(key, collection))
        return (None, None) if entry is None else (entry.value, entry.ttl)

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        return [await self.ttl(key, collection=collection) for key in check_keys(keys)]

    # -- writes drop what they touch ----------------------------------------------------------------

    def _names(self, keys: Sequence[str], collection: str | None) -> list[Name]:
        """The cache's names for `keys` (checked, so bad input raises before the store is asked)."""
        return [self._name(key, collection) for key in check_keys(keys)]

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        names = [self._name(key, collection)]
        try:
            await self.key_value.put(key, value, collection=collection, ttl=ttl)
        finally:
            self._cache.discard(names)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        names = self._names(keys, collection)
        try:
            await self.key_value.put_many(keys, values, collection=collection, ttl=ttl)
        finally:
            self._cache.discard(names)

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        names = [self._name(key, collection)]
        try:
            return await self.key_value.delete(key, collection=collection)
        finally:
            self._cache.discard(names)

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        names = self._names(keys, collection)
        try:
            return await self.key_value.delete_many(keys, collection=collection)
        finally:
            self._cache.discard(names)

    async def _destroy(self) -> bool:
        try:
            return await super()._destroy()
        finally:
            self._cache.clear()

    async def _destroy_collection(self, collection: str) -> bool:
        try:
            return await super()._destroy_collection(collection)
        finally:
            self._cache.discard_collection(collection)

    # -- conditional segment: on the store; a read fills the cache, a write drops the key --------------

    async def _get_entry(self, key: str, *, collection: str | None) -> VersionedEntry | None:
        return await self._fetch(key, collection, self._name(key, collection))

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
        names = [self._name(key, collection)]
        try:
            return await super()._put_if(
                key, value, etag=etag, condition=condition, collection=collection, ttl=ttl, retrieve=retrieve
            )
        finally:
            self._cache.discard(names)

    async def _delete_if(
        self, key: str, *, etag: str | Absent, condition: Condition, collection: str | None, retrieve: bool
    ) -> ConditionalResult:
        names = [self._name(key, collection)]
        try:
            return await super()._delete_if(
                key, etag=etag, condition=condition, collection=collection, retrieve=retrieve
            )
        finally:
            self._cache.discard(names)

"""`SimpleStore`: one dict keyed by (collection, key); the simplest correct store, meant for tests."""

from __future__ import annotations

import itertools
import threading

from key_value.aio.stores.base import (
    BaseConditionalStore,
    BaseCullStore,
    BaseDestroyCollectionStore,
    BaseDestroyStore,
    BaseEnumerateCollectionsStore,
    BaseEnumerateKeysStore,
    Entry,
)
from key_value.shared.codec import decode_value
from key_value.shared.conditional import (
    ABSENT,
    NOT_RETRIEVED,
    Absent,
    Atomicity,
    Condition,
    ConditionalResult,
    Joker,
    VersionedEntry,
    holds,
)
from key_value.shared.errors import InvalidArgumentError


def _check_max_entries(max_entries: object) -> int | None:
    if max_entries is None or (isinstance(max_entries, int) and not isinstance(max_entries, bool) and max_entries >= 1):
        return max_entries
    raise InvalidArgumentError("max_entries must be None or an int >= 1", extra_info={"max_entries": repr(max_entries)})


class SimpleStore(
    BaseEnumerateKeysStore,
    BaseEnumerateCollectionsStore,
    BaseDestroyStore,
    BaseDestroyCollectionStore,
    BaseCullStore,
    BaseConditionalStore,
):
    """A dict of JSON text; every operation is a direct dict operation, enumeration scans everything."""

    def __init__(self, max_entries: int | None = None, default_collection: str | None = None) -> None:
        """`max_entries` bounds the store: a put of a new key into a full store drops the oldest-written entry."""
        super().__init__(default_collection=default_collection)
        self.max_entries = _check_max_entries(max_entries)
        # (collection, key) -> (value JSON, absolute expiry, version, written at)
        self._entries: dict[tuple[str, str], tuple[str, float | None, int, float]] = {}
        self._versions = itertools.count(1)
        self._lock = threading.Lock()  # conditional calls only: a check and its write as one step

    def _expired(self, expires_at: float | None) -> bool:
        return expires_at is not None and expires_at <= self.clock()

    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        found = self._entries.get((collection, key))
        return None if found is None else Entry(decode_value(found[0]), found[1])

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        pair = (collection, key)
        if self.max_entries is not None and pair not in self._entries and len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # dicts keep insertion order: the oldest write
        self._entries[pair] = (value_json, expires_at, next(self._versions), self.clock())

    async def _delete_entry(self, collection: str, key: str) -> bool:
        found = self._entries.pop((collection, key), None)
        return found is not None and not self._expired(found[1])

    async def _keys(self, collection: str, *, limit: int | None) -> list[str]:
        keys = [
            k for (c, k), (_, exp, _, _) in list(self._entries.items()) if c == collection and not self._expired(exp)
        ]
        return keys[:limit]

    async def _collections(self, *, limit: int | None) -> list[str]:
        names = dict.fromkeys(c for (c, _), (_, exp, _, _) in list(self._entries.items()) if not self._expired(exp))
        return list(names)[:limit]

    async def _destroy(self) -> bool:
        had_data = bool(self._entries)
        self._entries.clear()
        return had_data

    async def _destroy_collection(self, collection: str) -> bool:
        doomed = [pair for pair in list(self._entries) if pair[0] == collection]
        for pair in doomed:
            del self._entries[pair]
        return bool(doomed)

    async def _cull(self) -> None:
        for pair in [pair for pair, (_, exp, _, _) in list(self._entries.items()) if self._expired(exp)]:
            del self._entries[pair]

    # -- conditional segment: a version counter, each check and write under one lock --------------

    atomicity = Atomicity.WITHIN_PROCESS

    def _live_record(self, pair: tuple[str, str]) -> tuple[str, float | None, int, float] | None:
        found = self._entries.get(pair)
        return None if found is None or self._expired(found[1]) else found

    async def _get_versioned(self, collection: str, key: str) -> VersionedEntry | None:
        found = self._live_record((collection, key))
        if found is None:
            return None
        value_json, expires_at, version, written_at = found
        ttl = None if expires_at is None else expires_at - self.clock()
        return VersionedEntry(decode_value(value_json), str(version), ttl, written_at)

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
        pair = (collection, key)
        with self._lock:
            found = self._live_record(pair)
            actual: str | Absent = ABSENT if found is None else str(found[2])
            satisfied = holds(condition, etag, actual)
            if satisfied and value is Joker.DELETE_CURRENT:
                self._entries.pop(pair, None)
                found = None
            elif satisfied and value is Joker.KEEP_CURRENT:
                if found is not None and expires_at is not None:
                    found = self._entries[pair] = (found[0], expires_at, found[2], found[3])
            elif satisfied and isinstance(value, str):
                await self._put_entry(collection, key, value, ttl=ttl, expires_at=expires_at)
                found = self._entries[pair]
        resulting: str | Absent = ABSENT if found is None else str(found[2])
        if not retrieve:
            return ConditionalResult(satisfied, actual, resulting, NOT_RETRIEVED)
        return ConditionalResult(satisfied, actual, resulting, None if found is None else decode_value(found[0]))

"""`StatisticsWrapper`: counts operations, hits and misses per collection, with py-key-value-aio's dataclasses.

Bulk calls count once per key, as in py-key-value-aio. `collection=None` is passed through unchanged
and counted under the wrapped store's default collection name. Only calls that succeed are counted;
listing, destroy and cull pass through uncounted. Counters are updated under a lock, so the sync
twin's threads never lose a count. Conditional calls are counted in `conditional` (a field py-key-value
did not have): `get_entry` as hits and misses, and each `put_if` / `delete_if`, including those that
`put_if_absent` and every attempt of `transform` make, as satisfied or conflicting (unsatisfied).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, SupportsFloat

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.shared.capabilities import DEFAULT_COLLECTION_NAME
from key_value.shared.conditional import Absent, Condition, ConditionalResult, Joker, VersionedEntry


@dataclass
class BaseStatistics:
    """How many times an operation ran."""

    count: int = field(default=0)

    def increment(self, *, increment: int = 1) -> None:
        self.count += increment


@dataclass
class BaseHitMissStatistics(BaseStatistics):
    """How many times an operation ran, split into hits (found) and misses."""

    hit: int = field(default=0)
    miss: int = field(default=0)

    def increment_hit(self, *, increment: int = 1) -> None:
        self.increment(increment=increment)
        self.hit += increment

    def increment_miss(self, *, increment: int = 1) -> None:
        self.increment(increment=increment)
        self.miss += increment


@dataclass
class GetStatistics(BaseHitMissStatistics):
    """Keys read by get and get_many."""


@dataclass
class PutStatistics(BaseStatistics):
    """Keys written by put and put_many."""


@dataclass
class DeleteStatistics(BaseHitMissStatistics):
    """Keys deleted (hit) or not found (miss) by delete and delete_many."""


@dataclass
class ExistsStatistics(BaseHitMissStatistics):
    """Existence checks; kept for py-key-value-aio compatibility (the protocol has no exists call)."""


@dataclass
class TTLStatistics(BaseHitMissStatistics):
    """Keys read by ttl and ttl_many."""


@dataclass
class ConditionalStatistics(BaseStatistics):
    """Conditional calls: `get_entry` (entries found and not), and conditional writes and deletes."""

    entries_found: int = field(default=0)
    entries_missing: int = field(default=0)
    satisfied: int = field(default=0)
    conflicts: int = field(default=0)
    """Conditional writes and deletes whose condition did not hold (nothing was written)."""


@dataclass
class KVStoreCollectionStatistics(BaseStatistics):
    """The counters of one collection."""

    get: GetStatistics = field(default_factory=GetStatistics)
    ttl: TTLStatistics = field(default_factory=TTLStatistics)
    put: PutStatistics = field(default_factory=PutStatistics)
    delete: DeleteStatistics = field(default_factory=DeleteStatistics)
    exists: ExistsStatistics = field(default_factory=ExistsStatistics)
    conditional: ConditionalStatistics = field(default_factory=ConditionalStatistics)


@dataclass
class KVStoreStatistics:
    """The counters of every collection used so far, by collection name."""

    collections: dict[str, KVStoreCollectionStatistics] = field(default_factory=dict)

    def get_collection(self, collection: str) -> KVStoreCollectionStatistics:
        """The counters of `collection`, created empty on first use."""
        found = self.collections.get(collection)
        if found is None:
            found = self.collections[collection] = KVStoreCollectionStatistics()
        return found


class StatisticsWrapper(BaseWrapper):
    """Passes every call through and counts what happened in `statistics`."""

    supported_segments = ALL_SEGMENTS

    def __init__(self, key_value: AsyncKeyValue) -> None:
        super().__init__(key_value)
        self._statistics = KVStoreStatistics()
        # async: uncontended within one event loop; it guards the counts when loops in several threads share them
        # sync: real mutual exclusion for the threads that share the counts
        self._lock = threading.Lock()

    @property
    def statistics(self) -> KVStoreStatistics:
        """The live counters."""
        return self._statistics

    def _name(self, collection: str | None) -> str:
        """The name counts are kept under: `collection=None` is the wrapped store's default collection."""
        return (self.default_collection or DEFAULT_COLLECTION_NAME) if collection is None else collection

    def _count(
        self,
        collection: str | None,
        pick: Callable[[KVStoreCollectionStatistics], BaseHitMissStatistics],
        *,
        hits: int,
        misses: int,
    ) -> None:
        name = self._name(collection)
        with self._lock:
            counters = pick(self._statistics.get_collection(name))
            counters.increment_hit(increment=hits)
            counters.increment_miss(increment=misses)

    def _count_puts(self, collection: str | None, puts: int) -> None:
        name = self._name(collection)
        with self._lock:
            self._statistics.get_collection(name).put.increment(increment=puts)

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        value = await self.key_value.get(key, collection=collection)
        found = int(value is not None)
        self._count(collection, _get, hits=found, misses=1 - found)
        return value

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        values = await self.key_value.get_many(keys, collection=collection)
        hits = sum(value is not None for value in values)
        self._count(collection, _get, hits=hits, misses=len(values) - hits)
        return values

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        value, remaining = await self.key_value.ttl(key, collection=collection)
        found = int(value is not None)
        self._count(collection, _ttl, hits=found, misses=1 - found)
        return value, remaining

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        results = await self.key_value.ttl_many(keys, collection=collection)
        hits = sum(value is not None for value, _ in results)
        self._count(collection, _ttl, hits=hits, misses=len(results) - hits)
        return results

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        await self.key_value.put(key, value, collection=collection, ttl=ttl)
        self._count_puts(collection, 1)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        await self.key_value.put_many(keys, values, collection=collection, ttl=ttl)
        self._count_puts(collection, len(keys))

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        deleted = await self.key_value.delete(key, collection=collection)
        self._count(collection, _delete, hits=int(deleted), misses=int(not deleted))
        return deleted

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        deleted = await self.key_value.delete_many(keys, collection=collection)
        self._count(collection, _delete, hits=deleted, misses=len(keys) - deleted)
        return deleted

    # -- conditional segment --------------------------------------------------------------------

    async def _get_entry(self, key: str, *, collection: str | None) -> VersionedEntry | None:
        entry = await super()._get_entry(key, collection=collection)
        name = self._name(collection)
        with self._lock:
            counters = self._statistics.get_collection(name).conditional
            counters.increment()
            if entry is None:
                counters.entries_missing += 1
            else:
                counters.entries_found += 1
        return entry

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
        result = await super()._put_if(
            key, value, etag=etag, condition=condition, collection=collection, ttl=ttl, retrieve=retrieve
        )
        self._count_conditional(collection, result)
        return result

    async def _delete_if(
        self, key: str, *, etag: str | Absent, condition: Condition, collection: str | None, retrieve: bool
    ) -> ConditionalResult:
        result = await super()._delete_if(key, etag=etag, condition=condition, collection=collection, retrieve=retrieve)
        self._count_conditional(collection, result)
        return result

    def _count_conditional(self, collection: str | None, result: ConditionalResult) -> None:
        name = self._name(collection)
        with self._lock:
            counters = self._statistics.get_collection(name).conditional
            counters.increment()
            if result.satisfied:
                counters.satisfied += 1
            else:
                counters.conflicts += 1


def _get(counters: KVStoreCollectionStatistics) -> BaseHitMissStatistics:
    return counters.get


def _ttl(counters: KVStoreCollectionStatistics) -> BaseHitMissStatistics:
    return counters.ttl


def _delete(counters: KVStoreCollectionStatistics) -> BaseHitMissStatistics:
    return counters.delete

"""`SimpleStore`: one dict keyed by (collection, key); the simplest correct store, meant for tests."""

from __future__ import annotations

from key_value.aio.stores.base import (
    BaseCullStore,
    BaseDestroyCollectionStore,
    BaseDestroyStore,
    BaseEnumerateCollectionsStore,
    BaseEnumerateKeysStore,
    Entry,
)
from key_value.shared.codec import decode_value
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
):
    """A dict of JSON text; every operation is a direct dict operation, enumeration scans everything."""

    def __init__(self, max_entries: int | None = None, default_collection: str | None = None) -> None:
        """`max_entries` bounds the store: a put of a new key into a full store drops the oldest-written entry."""
        super().__init__(default_collection=default_collection)
        self.max_entries = _check_max_entries(max_entries)
        self._entries: dict[tuple[str, str], tuple[str, float | None]] = {}

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
        self._entries[pair] = (value_json, expires_at)

    async def _delete_entry(self, collection: str, key: str) -> bool:
        found = self._entries.pop((collection, key), None)
        return found is not None and not self._expired(found[1])

    async def _keys(self, collection: str, *, limit: int | None) -> list[str]:
        keys = [k for (c, k), (_, exp) in list(self._entries.items()) if c == collection and not self._expired(exp)]
        return keys[:limit]

    async def _collections(self, *, limit: int | None) -> list[str]:
        names = dict.fromkeys(c for (c, _), (_, exp) in list(self._entries.items()) if not self._expired(exp))
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
        for pair in [pair for pair, (_, exp) in list(self._entries.items()) if self._expired(exp)]:
            del self._entries[pair]

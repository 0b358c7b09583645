"""`NullStore`: checks every call like a real store, then forgets the data (a cache that never hits)."""

from __future__ import annotations

from key_value.aio.stores.base import BaseConditionalStore, Entry
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


class NullStore(BaseConditionalStore):
    """Accepts every valid operation and stores nothing: reads miss, deletes find nothing.

    Conditional calls see every key absent: `put_if(..., etag=ABSENT)` is satisfied and keeps nothing.
    """

    atomicity = Atomicity.ACROSS_PROCESSES  # nothing is ever stored, so no writer can slip in

    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        return None

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        return None

    async def _delete_entry(self, collection: str, key: str) -> bool:
        return False

    async def _get_versioned(self, collection: str, key: str) -> VersionedEntry | None:
        return None

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
        return ConditionalResult(holds(condition, etag, ABSENT), ABSENT, ABSENT, None if retrieve else NOT_RETRIEVED)

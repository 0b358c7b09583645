"""`InsertOnlyWrapper`: what the write-once and append-only wrappers share: entries are inserted, never changed.

Deletes raise `ImmutableEntryError`, and so do conditional calls that could change a live entry: through
the conditional segment only an insert (`put_if` with `etag=ABSENT` and `SAME`, hence `put_if_absent`
and a `transform` of an absent key) and `KEEP_CURRENT` without a TTL (which writes nothing, so a
validating cache above still works) go through. `destroy` and `destroy_collection` are never offered;
listing and `cull` (which removes only expired entries) are. Input is checked before anything is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat

from key_value.aio.protocols.capabilities import capabilities_of
from key_value.aio.wrappers.base import BaseWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.codec import encode_value
from key_value.shared.conditional import (
    ABSENT,
    KEEP_CURRENT,
    Absent,
    Condition,
    ConditionalResult,
    Joker,
    check_condition,
    check_etag,
    check_retrieve,
)
from key_value.shared.errors import ImmutableEntryError
from key_value.shared.validation import check_collection, check_key, check_keys, check_same_length, check_ttl


def check_write(key: str, value: Mapping[str, Any], collection: str | None, ttl: SupportsFloat | None) -> str:
    """Check one write's input as a store would (before any request); the key."""
    checked = check_key(key)
    if collection is not None:
        check_collection(collection)
    check_ttl(ttl)
    encode_value(value)
    return checked


def check_writes(
    keys: Sequence[str], values: Sequence[Mapping[str, Any]], collection: str | None, ttl: SupportsFloat | None
) -> list[str]:
    """Check a `put_many`'s input as a store would; the keys."""
    checked = check_keys(keys)
    check_same_length(checked, values)
    if collection is not None:
        check_collection(collection)
    check_ttl(ttl)
    for value in values:
        encode_value(value)
    return checked


class InsertOnlyWrapper(BaseWrapper):
    """Refuses deletes and conditional changes; subclasses decide what a plain write of a live key does."""

    supported_segments = Capability.KEYS | Capability.COLLECTIONS | Capability.CULL | Capability.CONDITIONAL

    @property
    def _atomic(self) -> bool:
        """Whether inserts can be made in one step (`put_if` with `ABSENT`) on the wrapped store."""
        return Capability.CONDITIONAL in capabilities_of(self.key_value)

    def _refused(self, operation: str, collection: str | None, key: str, why: str) -> ImmutableEntryError:
        return ImmutableEntryError(operation, collection, key, message=f"{operation} refused: {why}")

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        checked = check_key(key)
        if collection is not None:
            check_collection(collection)
        raise self._refused("delete", collection, checked, "entries are never deleted")

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        checked = check_keys(keys)
        if collection is not None:
            check_collection(collection)
        raise self._refused("delete_many", collection, f"{len(checked)} keys", "entries are never deleted")

    # -- conditional segment: inserts only ---------------------------------------------------------

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
        checked = check_key(key)
        if collection is not None:
            check_collection(collection)
        check_etag(etag)
        check_condition(condition)
        check_retrieve(retrieve)
        check_ttl(ttl)
        if not isinstance(value, Joker):
            encode_value(value)
        inserting = not isinstance(value, Joker) and etag is ABSENT and condition is Condition.SAME
        keeping = value is KEEP_CURRENT and ttl is None  # writes nothing
        if not (inserting or keeping):
            why = "only an insert (etag=ABSENT, SAME) or KEEP_CURRENT without a TTL goes through"
            raise self._refused("put_if", collection, checked, why)
        return await super()._put_if(
            key, value, etag=etag, condition=condition, collection=collection, ttl=ttl, retrieve=retrieve
        )

    async def _delete_if(
        self, key: str, *, etag: str | Absent, condition: Condition, collection: str | None, retrieve: bool
    ) -> ConditionalResult:
        checked = check_key(key)
        if collection is not None:
            check_collection(collection)
        check_etag(etag)
        check_condition(condition)
        check_retrieve(retrieve)
        raise self._refused("delete_if", collection, checked, "entries are never deleted")


__all__ = ["InsertOnlyWrapper", "check_write", "check_writes"]

"""`ReadOnlyWrapper`: reads pass through; writes raise `ReadOnlyError`, or are ignored when asked.

Writes are checked like a store checks them (names, TTL, values) before being refused, so bad input
reports the same error with or without the wrapper. Destroy, destroy_collection and cull change the
store too, so the wrapper never offers them: it claims key and collection listing, and the conditional
segment, whose `get_entry` passes through and whose writes are refused like the others (ignored, they
report the condition unsatisfied, with the entry as it stands).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat, cast

from key_value.aio.protocols.key_value import AsyncConditionalProtocol, AsyncKeyValue
from key_value.aio.wrappers.base import BaseWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.codec import encode_value
from key_value.shared.conditional import ABSENT, NOT_RETRIEVED, Absent, Condition, ConditionalResult, Joker
from key_value.shared.errors import InvalidArgumentError, ReadOnlyError
from key_value.shared.validation import check_collection, check_key, check_keys, check_same_length, check_ttl


class ReadOnlyWrapper(BaseWrapper):
    """Lets reads and listing through and blocks every change to the wrapped store."""

    supported_segments = Capability.KEYS | Capability.COLLECTIONS | Capability.CONDITIONAL

    # `raise_on_write` stays positional, as in py-key-value-aio.
    def __init__(self, key_value: AsyncKeyValue, raise_on_write: bool = True) -> None:  # noqa: FBT001, FBT002
        super().__init__(key_value)
        if not isinstance(raise_on_write, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidArgumentError(
                "raise_on_write must be a bool", extra_info={"raise_on_write": repr(raise_on_write)}
            )
        self.raise_on_write: bool = raise_on_write

    def _refuse(self, operation: str, collection: str | None, key: str) -> None:
        if collection is not None:
            check_collection(collection)
        if self.raise_on_write:
            raise ReadOnlyError(operation, collection, key, message=f"{operation} refused: the store is read-only")

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        check_key(key)
        check_ttl(ttl)
        encode_value(value)
        self._refuse("put", collection, key)

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
        for value in values:
            encode_value(value)
        self._refuse("put_many", collection, f"{len(checked)} keys")

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        self._refuse("delete", collection, check_key(key))
        return False

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        self._refuse("delete_many", collection, f"{len(check_keys(keys))} keys")
        return 0

    # -- conditional segment: reads pass, writes are refused --------------------------------------

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
        check_ttl(ttl)
        if not isinstance(value, Joker):
            encode_value(value)
        self._refuse("put_if", collection, key)
        return await self._unchanged(key, collection, retrieve=retrieve)

    async def _delete_if(
        self, key: str, *, etag: str | Absent, condition: Condition, collection: str | None, retrieve: bool
    ) -> ConditionalResult:
        self._refuse("delete_if", collection, check_key(key))
        return await self._unchanged(key, collection, retrieve=retrieve)

    async def _unchanged(self, key: str, collection: str | None, *, retrieve: bool) -> ConditionalResult:
        """An ignored write's result: unsatisfied, with the entry as it stands."""
        entry = await cast("AsyncConditionalProtocol", self.key_value).get_entry(key, collection=collection)
        etag = ABSENT if entry is None else entry.etag
        value = NOT_RETRIEVED if not retrieve else None if entry is None else entry.value
        return ConditionalResult(satisfied=False, actual_etag=etag, resulting_etag=etag, value=value)

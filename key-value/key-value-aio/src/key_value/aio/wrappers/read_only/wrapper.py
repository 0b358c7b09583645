"""`ReadOnlyWrapper`: reads pass through; writes raise `ReadOnlyError`, or are ignored when asked.

Writes are checked like a store checks them (names, TTL, values) before being refused, so bad input
reports the same error with or without the wrapper. Destroy, destroy_collection and cull change the
store too, so the wrapper never offers them: it claims only key and collection listing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.wrappers.base import BaseWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.codec import encode_value
from key_value.shared.errors import InvalidArgumentError, ReadOnlyError
from key_value.shared.validation import check_collection, check_key, check_keys, check_same_length, check_ttl


class ReadOnlyWrapper(BaseWrapper):
    """Lets reads and listing through and blocks every change to the wrapped store."""

    supported_segments = Capability.KEYS | Capability.COLLECTIONS

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

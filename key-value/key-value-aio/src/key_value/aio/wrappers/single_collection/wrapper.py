"""`SingleCollectionWrapper`: every collection lives inside one collection of the wrapped store.

An entry of collection `c` is stored under the key `<c><separator><key>` in `single_collection`, with
`c` escaped (see `key_value.shared.prefixing`) so that no separator inside a name makes two entries
meet. `collection=None` means this wrapper's `default_collection`: the `default_collection` option if
given, else the wrapped store's default (or the shared `default_collection` name when the store names
none), so wrapping never changes what None means. Keys and collections are listed from the keys of
`single_collection`, so every segment needs the wrapped store to list keys. Keys of `single_collection`
not written this way are never listed, touched or destroyed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat, cast

from key_value.aio.protocols.key_value import AsyncConditionalProtocol, AsyncEnumerateKeysProtocol, AsyncKeyValue
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.shared.capabilities import DEFAULT_COLLECTION_NAME, Capability
from key_value.shared.prefixing import DEFAULT_SEPARATOR, check_separator, escape_prefix, split_prefixed
from key_value.shared.validation import check_collection, check_key, check_keys, check_limit

_LISTED_SEGMENTS = Capability.KEYS | Capability.COLLECTIONS | Capability.DESTROY | Capability.DESTROY_COLLECTION


class SingleCollectionWrapper(BaseWrapper):
    """Folds (collection, key) into one key of `single_collection`; lists and destroys by the caller's names."""

    supported_segments = ALL_SEGMENTS  # conditional calls on the folded key

    def __init__(
        self,
        key_value: AsyncKeyValue,
        single_collection: str,
        default_collection: str | None = None,
        separator: str | None = None,
    ) -> None:
        super().__init__(key_value)
        self.single_collection: str = check_collection(single_collection)
        if default_collection is not None:
            self._default_collection = check_collection(default_collection)
        else:
            inner_default = super().default_collection
            self._default_collection = DEFAULT_COLLECTION_NAME if inner_default is None else inner_default
        self.separator: str = DEFAULT_SEPARATOR if separator is None else check_separator(separator)

    @property
    def default_collection(self) -> str:
        """What `collection=None` means for callers of this wrapper."""
        return self._default_collection

    @property
    def capabilities(self) -> Capability:
        """Listing keys of `single_collection` gives every segment but cull, which comes from the wrapped store."""
        inner = super().capabilities
        found = inner & (Capability.CULL | Capability.CONDITIONAL)
        if Capability.KEYS in inner:
            found |= _LISTED_SEGMENTS
        return found

    def _head(self, collection: str | None) -> str:
        name = self._default_collection if collection is None else check_collection(collection)
        return escape_prefix(name, self.separator) + self.separator

    # -- the protocol ---------------------------------------------------------------------------

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        inner_key = self._head(collection) + check_key(key)
        return await self.key_value.get(inner_key, collection=self.single_collection)

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        head = self._head(collection)
        inner_keys = [head + key for key in check_keys(keys)]
        return await self.key_value.get_many(inner_keys, collection=self.single_collection)

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        inner_key = self._head(collection) + check_key(key)
        return await self.key_value.ttl(inner_key, collection=self.single_collection)

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        head = self._head(collection)
        inner_keys = [head + key for key in check_keys(keys)]
        return await self.key_value.ttl_many(inner_keys, collection=self.single_collection)

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        inner_key = self._head(collection) + check_key(key)
        await self.key_value.put(inner_key, value, collection=self.single_collection, ttl=ttl)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        head = self._head(collection)
        inner_keys = [head + key for key in check_keys(keys)]
        await self.key_value.put_many(inner_keys, values, collection=self.single_collection, ttl=ttl)

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        inner_key = self._head(collection) + check_key(key)
        return await self.key_value.delete(inner_key, collection=self.single_collection)

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        head = self._head(collection)
        inner_keys = [head + key for key in check_keys(keys)]
        return await self.key_value.delete_many(inner_keys, collection=self.single_collection)

    def _conditional_target(self, key: str, collection: str | None) -> tuple[AsyncConditionalProtocol, str, str | None]:
        inner_key = self._head(collection) + check_key(key)
        return cast("AsyncConditionalProtocol", self.key_value), inner_key, self.single_collection

    # -- segments, from the keys of `single_collection` -------------------------------------------

    async def _entries(self) -> list[tuple[str, str, str]]:
        """(collection, key, inner key) of every live entry this wrapper wrote."""
        listed = await cast("AsyncEnumerateKeysProtocol", self.key_value).keys(self.single_collection)
        found: list[tuple[str, str, str]] = []
        for inner_key in listed:
            split = split_prefixed(inner_key, self.separator)
            if split is not None and split[0] and split[1]:
                found.append((split[0], split[1], inner_key))
        return found

    async def _keys(self, collection: str | None, *, limit: int | None) -> list[str]:
        head = self._head(collection)
        if check_limit(limit) == 0:
            return []
        listed = await cast("AsyncEnumerateKeysProtocol", self.key_value).keys(self.single_collection)
        keys = [inner_key[len(head) :] for inner_key in listed if inner_key.startswith(head) and inner_key != head]
        return keys if limit is None else keys[:limit]

    async def _collections(self, *, limit: int | None) -> list[str]:
        if check_limit(limit) == 0:
            return []
        names = list(dict.fromkeys(collection for collection, _, _ in await self._entries()))
        return names if limit is None else names[:limit]

    async def _delete_inner(self, inner_keys: list[str]) -> bool:
        if not inner_keys:
            return False
        return await self.key_value.delete_many(inner_keys, collection=self.single_collection) > 0

    async def _destroy_collection(self, collection: str) -> bool:
        name = check_collection(collection)
        return await self._delete_inner([inner_key for owner, _, inner_key in await self._entries() if owner == name])

    async def _destroy(self) -> bool:
        return await self._delete_inner([inner_key for _, _, inner_key in await self._entries()])

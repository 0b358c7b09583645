"""`PrefixKeysWrapper`: stores `key` as `<prefix>__<key>`, so several users can share a store without meeting.

The prefix is escaped (see `key_value.shared.prefixing`), so a key holding `__` never lands on another
prefix's key. Enumeration returns only this wrapper's keys, prefix stripped; destroying deletes only
this wrapper's keys, one listed batch at a time (not atomic against concurrent writers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat, cast

from key_value.aio.protocols.key_value import (
    AsyncConditionalProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValue,
)
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError
from key_value.shared.prefixing import DEFAULT_SEPARATOR, escape_prefix
from key_value.shared.validation import check_collection, check_key, check_keys, check_limit


class PrefixKeysWrapper(BaseWrapper):
    """Prefixes every key before it reaches the wrapped store, and strips the prefix from listed keys."""

    supported_segments = ALL_SEGMENTS  # conditional calls on the prefixed key, ETags the wrapped store's

    def __init__(self, key_value: AsyncKeyValue, prefix: str) -> None:
        super().__init__(key_value)
        try:
            self.prefix: str = check_key(prefix)
        except InvalidKeyError as exc:
            raise InvalidArgumentError(f"prefix must be a non-empty str: {exc.message}") from None
        self._head = escape_prefix(self.prefix, DEFAULT_SEPARATOR) + DEFAULT_SEPARATOR

    @property
    def capabilities(self) -> Capability:
        """Listing needs the wrapped store's keys; whole-store work also needs its collections."""
        inner = super().capabilities
        found = inner & (Capability.KEYS | Capability.CULL | Capability.CONDITIONAL)
        if Capability.KEYS in inner:
            found |= Capability.DESTROY_COLLECTION
            if Capability.COLLECTIONS in inner:
                found |= Capability.COLLECTIONS | Capability.DESTROY
        return found

    def _key(self, key: str) -> str:
        return self._head + check_key(key)

    def _keys_of(self, keys: Sequence[str]) -> list[str]:
        head = self._head
        return [head + key for key in check_keys(keys)]

    # -- the protocol ---------------------------------------------------------------------------

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        return await self.key_value.get(self._key(key), collection=collection)

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        return await self.key_value.get_many(self._keys_of(keys), collection=collection)

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        return await self.key_value.ttl(self._key(key), collection=collection)

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        return await self.key_value.ttl_many(self._keys_of(keys), collection=collection)

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        await self.key_value.put(self._key(key), value, collection=collection, ttl=ttl)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        await self.key_value.put_many(self._keys_of(keys), values, collection=collection, ttl=ttl)

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        return await self.key_value.delete(self._key(key), collection=collection)

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        return await self.key_value.delete_many(self._keys_of(keys), collection=collection)

    def _conditional_target(self, key: str, collection: str | None) -> tuple[AsyncConditionalProtocol, str, str | None]:
        return cast("AsyncConditionalProtocol", self.key_value), self._key(key), collection

    # -- segments: only this prefix's keys --------------------------------------------------------

    async def _own_keys(self, collection: str | None) -> list[str]:
        """The wrapped store's names of this wrapper's live keys in `collection`."""
        listed = await cast("AsyncEnumerateKeysProtocol", self.key_value).keys(collection)
        head = self._head
        return [key for key in listed if key.startswith(head) and len(key) > len(head)]

    async def _keys(self, collection: str | None, *, limit: int | None) -> list[str]:
        if check_limit(limit) == 0:
            return []
        start = len(self._head)
        keys = [key[start:] for key in await self._own_keys(collection)]
        return keys if limit is None else keys[:limit]

    async def _collections(self, *, limit: int | None) -> list[str]:
        if check_limit(limit) == 0:
            return []
        found: list[str] = []
        for name in await cast("AsyncEnumerateCollectionsProtocol", self.key_value).collections():
            if await self._own_keys(name):
                found.append(name)
                if len(found) == limit:
                    break
        return found

    async def _destroy_collection(self, collection: str) -> bool:
        own = await self._own_keys(check_collection(collection))
        return bool(own) and await self.key_value.delete_many(own, collection=collection) > 0

    async def _destroy(self) -> bool:
        destroyed = False
        for name in await cast("AsyncEnumerateCollectionsProtocol", self.key_value).collections():
            destroyed |= await self._destroy_collection(name)
        return destroyed

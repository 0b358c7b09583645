"""`PrefixCollectionsWrapper`: collection `c` is stored as `<prefix>__c`, so several wrappers can share one store.

The prefix is escaped (`%` as `%25`, `_` as `%5F`) so it never holds an underscore: the first `__` of a
stored name ends the prefix, and no prefix and collection pair can produce another pair's name. A
prefix without `_` or `%` is written as it is, as py-key-value-aio writes it.

`collection=None` means this wrapper's `default_collection`: the `default_collection` option if given,
else the wrapped store's default (or the shared `default_collection` name when the store names none),
stored prefixed like any other collection. `collections()` lists only this wrapper's collections, by
the caller's names; `destroy()` destroys only those.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat, cast

from key_value.aio.protocols.key_value import (
    AsyncConditionalProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncKeyValue,
)
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.shared.capabilities import DEFAULT_COLLECTION_NAME, Capability
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError
from key_value.shared.validation import check_collection, check_limit

_SEPARATOR = "__"


class PrefixCollectionsWrapper(BaseWrapper):
    """Stores every collection under `prefix`; lists and destroys only its own collections."""

    supported_segments = ALL_SEGMENTS  # conditional calls in the prefixed collection

    def __init__(self, key_value: AsyncKeyValue, prefix: str, default_collection: str | None = None) -> None:
        try:
            check_collection(prefix)
        except InvalidKeyError as exc:
            raise InvalidArgumentError("prefix must be a non-empty str", extra_info={"prefix": repr(prefix)}) from exc
        super().__init__(key_value)
        self.prefix = prefix
        self._stored_prefix = prefix.replace("%", "%25").replace("_", "%5F") + _SEPARATOR
        inner_default = super().default_collection
        if default_collection is not None:
            self._default_collection = check_collection(default_collection)
        else:
            self._default_collection = DEFAULT_COLLECTION_NAME if inner_default is None else inner_default

    @property
    def capabilities(self) -> Capability:
        """The wrapped store's segments, with `destroy` only where this wrapper's collections can be found."""
        inner = super().capabilities
        found = inner & ~Capability.DESTROY
        if Capability.COLLECTIONS | Capability.DESTROY_COLLECTION in inner:
            found |= Capability.DESTROY
        return found

    @property
    def default_collection(self) -> str:
        """What `collection=None` means here, by the caller's name (stored prefixed)."""
        return self._default_collection

    def _stored(self, collection: str | None) -> str:
        name = self._default_collection if collection is None else check_collection(collection)
        return self._stored_prefix + name

    # -- the protocol ---------------------------------------------------------------------------

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        return await self.key_value.get(key, collection=self._stored(collection))

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        return await self.key_value.get_many(keys, collection=self._stored(collection))

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        return await self.key_value.ttl(key, collection=self._stored(collection))

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        return await self.key_value.ttl_many(keys, collection=self._stored(collection))

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        await self.key_value.put(key, value, collection=self._stored(collection), ttl=ttl)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        await self.key_value.put_many(keys, values, collection=self._stored(collection), ttl=ttl)

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        return await self.key_value.delete(key, collection=self._stored(collection))

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        return await self.key_value.delete_many(keys, collection=self._stored(collection))

    def _conditional_target(self, key: str, collection: str | None) -> tuple[AsyncConditionalProtocol, str, str | None]:
        return cast("AsyncConditionalProtocol", self.key_value), key, self._stored(collection)

    # -- segments -------------------------------------------------------------------------------

    async def _keys(self, collection: str | None, *, limit: int | None) -> list[str]:
        return await super()._keys(self._stored(collection), limit=limit)

    async def _own_collections(self) -> list[str]:
        """This wrapper's collections as the wrapped store names them (all of them: a limit applies after)."""
        names = await cast("AsyncEnumerateCollectionsProtocol", self.key_value).collections()
        return [name for name in names if name.startswith(self._stored_prefix)]

    async def _collections(self, *, limit: int | None) -> list[str]:
        checked = check_limit(limit)
        names = [name[len(self._stored_prefix) :] for name in await self._own_collections()]
        return names if checked is None else names[:checked]

    async def _destroy(self) -> bool:
        inner = cast("AsyncDestroyCollectionProtocol", self.key_value)
        destroyed = False
        for name in await self._own_collections():
            destroyed = await inner.destroy_collection(name) or destroyed
        return destroyed

    async def _destroy_collection(self, collection: str) -> bool:
        return await super()._destroy_collection(self._stored(check_collection(collection)))

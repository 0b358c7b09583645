"""`RoutingWrapper`: each call goes to the store a routing function picks for its collection.

The function gets the caller's collection name, or None when the caller passed `collection=None`
(as in py-key-value-aio), and returns a store, or None for `default_store`. The collection is passed
on unchanged, so None keeps meaning the chosen store's default collection. Names are checked before
the function sees them. The function may return any store, so this wrapper cannot know them all: it
offers no optional segment and manages (`async with`, `close()`) only `default_store`. Use
`CollectionRoutingWrapper` when the stores are known up front.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, SupportsFloat

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.wrappers.base import BaseWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.errors import InvalidArgumentError
from key_value.shared.validation import check_collection

#: Picks the store for a collection name (None: the caller's `collection=None`); None means the default store.
RoutingFunction = Callable[[str | None], AsyncKeyValue | None]


class RoutingWrapper(BaseWrapper):
    """Sends every call to `routing_function(collection)`, or to `default_store` when that returns None."""

    supported_segments = Capability.NONE

    def __init__(self, routing_function: RoutingFunction, default_store: AsyncKeyValue) -> None:
        if not callable(routing_function):
            raise InvalidArgumentError(
                "routing_function must be callable", extra_info={"routing_function": repr(routing_function)}
            )
        super().__init__(default_store)
        self._routing_function = routing_function
        self._default_store = default_store

    def _get_store(self, collection: str | None) -> AsyncKeyValue:
        """The store for `collection` (checked first, so the function only sees valid names or None)."""
        store = self._routing_function(None if collection is None else check_collection(collection))
        return self._default_store if store is None else store

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        return await self._get_store(collection).get(key, collection=collection)

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        return await self._get_store(collection).get_many(keys, collection=collection)

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        return await self._get_store(collection).ttl(key, collection=collection)

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        return await self._get_store(collection).ttl_many(keys, collection=collection)

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        await self._get_store(collection).put(key, value, collection=collection, ttl=ttl)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        await self._get_store(collection).put_many(keys, values, collection=collection, ttl=ttl)

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        return await self._get_store(collection).delete(key, collection=collection)

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        return await self._get_store(collection).delete_many(keys, collection=collection)

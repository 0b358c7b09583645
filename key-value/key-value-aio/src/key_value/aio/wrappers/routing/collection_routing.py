"""`CollectionRoutingWrapper`: collections named in a map go to their store, all others to `default_store`.

`collection=None` goes to `default_store` (as in py-key-value-aio). Every store is known, so this
wrapper offers the segments that all of them have; `collections()` lists, from each store, only the
names that route back to it, and destroy, cull, `async with` and `close()` reach each distinct store
once. A map that sends the default store's own default collection elsewhere is refused: `None` and
that name would reach different stores.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import cast

from key_value.aio.protocols.key_value import (
    AsyncConditionalProtocol,
    AsyncCullProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValue,
)
from key_value.aio.wrappers.base import ALL_SEGMENTS
from key_value.aio.wrappers.routing.wrapper import RoutingWrapper
from key_value.shared.errors import InvalidArgumentError
from key_value.shared.validation import check_collection, check_limit


class CollectionRoutingWrapper(RoutingWrapper):
    """Routes by collection name through `collection_map`, with `default_store` for every other collection."""

    supported_segments = ALL_SEGMENTS  # conditional calls on the routed store, when every store has them

    def __init__(self, collection_map: Mapping[str, AsyncKeyValue], default_store: AsyncKeyValue) -> None:
        if not isinstance(collection_map, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidArgumentError("collection_map must be a mapping of collection name to store")
        self._collection_map = MappingProxyType(
            {check_collection(name): store for name, store in collection_map.items()}
        )
        default_name = getattr(default_store, "default_collection", None)
        routed = self._collection_map.get(default_name) if isinstance(default_name, str) else None
        if routed is not None and routed is not default_store:
            raise InvalidArgumentError(
                "collection_map sends the default store's default collection to another store",
                extra_info={"collection": default_name},
            )
        super().__init__(self._route_by_collection, default_store)

    def _route_by_collection(self, collection: str | None) -> AsyncKeyValue | None:
        return None if collection is None else self._collection_map.get(collection)

    @property
    def wrapped_stores(self) -> list[AsyncKeyValue]:
        """The default store, then each other mapped store, each once."""
        stores: dict[int, AsyncKeyValue] = {id(self._default_store): self._default_store}
        for store in self._collection_map.values():
            stores.setdefault(id(store), store)
        return list(stores.values())

    def _conditional_target(self, key: str, collection: str | None) -> tuple[AsyncConditionalProtocol, str, str | None]:
        return cast("AsyncConditionalProtocol", self._get_store(collection)), key, collection

    # -- segments -------------------------------------------------------------------------------

    async def _keys(self, collection: str | None, *, limit: int | None) -> list[str]:
        store = cast("AsyncEnumerateKeysProtocol", self._get_store(collection))
        return await store.keys(collection, limit=limit)

    async def _collections(self, *, limit: int | None) -> list[str]:
        if check_limit(limit) == 0:
            return []
        found: list[str] = []
        for store in self.wrapped_stores:
            names = await cast("AsyncEnumerateCollectionsProtocol", store).collections()
            found += [name for name in names if self._get_store(name) is store]
        return found if limit is None else found[:limit]

    async def _destroy_collection(self, collection: str) -> bool:
        store = cast("AsyncDestroyCollectionProtocol", self._get_store(collection))
        return await store.destroy_collection(collection)

    async def _destroy(self) -> bool:
        destroyed = False
        for store in self.wrapped_stores:
            destroyed |= await cast("AsyncDestroyStoreProtocol", store).destroy()
        return destroyed

    async def _cull(self) -> None:
        for store in self.wrapped_stores:
            await cast("AsyncCullProtocol", store).cull()

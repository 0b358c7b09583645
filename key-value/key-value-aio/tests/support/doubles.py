"""Test doubles: stores that record their lifecycle or are down, wrappers that record calls or limit segments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, SupportsFloat, runtime_checkable

from typing_extensions import Self

from key_value.aio.protocols.key_value import (
    AsyncCullProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValue,
)
from key_value.aio.stores.base import (
    BaseCullStore,
    BaseDestroyCollectionStore,
    BaseDestroyStore,
    BaseEnumerateCollectionsStore,
    BaseEnumerateKeysStore,
    Entry,
)
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.wrappers.base import BaseWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.errors import StoreConnectionError


class RecordingStore(MemoryStore):
    """A MemoryStore that records being entered, exited and closed, to check wrappers forward the lifecycle."""

    def __init__(self, *, default_collection: str | None = None) -> None:
        super().__init__(default_collection=default_collection)
        self.events: list[str] = []

    async def __aenter__(self) -> Self:
        self.events.append("enter")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.events.append("exit")

    async def close(self) -> None:
        self.events.append("close")


class Limited(BaseWrapper):
    """Offers only the `allowed` segments of the wrapped store, to build inner stores with partial capabilities."""

    def __init__(self, key_value: AsyncKeyValue, allowed: Capability) -> None:
        super().__init__(key_value)
        self.allowed = allowed

    @property
    def capabilities(self) -> Capability:
        return super().capabilities & self.allowed


@runtime_checkable
class FullStore(
    AsyncKeyValue,
    AsyncEnumerateKeysProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncDestroyStoreProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncCullProtocol,
    Protocol,
):
    """A store with every optional segment."""


def full(store: object) -> FullStore:
    """`store`, checked to offer every segment, typed so that tests can call them."""
    assert isinstance(store, FullStore)
    return store


class FailingStore(
    BaseEnumerateKeysStore,
    BaseEnumerateCollectionsStore,
    BaseDestroyStore,
    BaseDestroyCollectionStore,
    BaseCullStore,
):
    """A store with every segment whose set-up raises `error`: input is checked as usual, then every operation fails.

    Built on BaseStore, not on MemoryStore: MemoryStore has nothing to set up and its fast paths never reach `_setup`.
    """

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    async def _setup(self) -> None:
        raise self.error

    # Never reached: every public method sets the store up first, and that raises.
    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        raise self.error

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        raise self.error

    async def _delete_entry(self, collection: str, key: str) -> bool:
        raise self.error

    async def _keys(self, collection: str, *, limit: int | None) -> list[str]:
        raise self.error

    async def _collections(self, *, limit: int | None) -> list[str]:
        raise self.error

    async def _destroy(self) -> bool:
        raise self.error

    async def _destroy_collection(self, collection: str) -> bool:
        raise self.error

    async def _cull(self) -> None:
        raise self.error


class DownStore(FailingStore):
    """A store whose backend cannot be reached: every operation raises StoreConnectionError after checking input."""

    def __init__(self) -> None:
        super().__init__(StoreConnectionError("backend unreachable (test double)"))


class CallRecorder(BaseWrapper):
    """Forwards everything and records the name of each core method called, in order."""

    def __init__(self, key_value: AsyncKeyValue) -> None:
        super().__init__(key_value)
        self.calls: list[str] = []

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        self.calls.append("get")
        return await super().get(key, collection=collection)

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        self.calls.append("get_many")
        return await super().get_many(keys, collection=collection)

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        self.calls.append("ttl")
        return await super().ttl(key, collection=collection)

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        self.calls.append("ttl_many")
        return await super().ttl_many(keys, collection=collection)

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        self.calls.append("put")
        await super().put(key, value, collection=collection, ttl=ttl)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        self.calls.append("put_many")
        await super().put_many(keys, values, collection=collection, ttl=ttl)

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        self.calls.append("delete")
        return await super().delete(key, collection=collection)

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        self.calls.append("delete_many")
        return await super().delete_many(keys, collection=collection)


__all__ = ["CallRecorder", "DownStore", "FullStore", "Limited", "RecordingStore", "full"]

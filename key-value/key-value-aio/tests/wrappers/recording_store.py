"""Test helpers shared by wrapper tests: a store recording its lifecycle, a capability limiter, segment typing."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from typing_extensions import Self

from key_value.aio.protocols.key_value import (
    AsyncCullProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValue,
)
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.wrappers.base import BaseWrapper
from key_value.shared.capabilities import Capability


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

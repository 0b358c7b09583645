"""Stores and wrappers that tests put around real stores: one that is down, one that records its calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.wrappers.base import BaseWrapper
from key_value.shared.errors import StoreConnectionError


class DownStore(MemoryStore):
    """A store whose backend cannot be reached: input is checked as usual, then every operation fails."""

    async def _setup(self) -> None:
        raise StoreConnectionError("backend unreachable (test double)")


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

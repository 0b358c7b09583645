"""Enumeration and destroy for the Redis-protocol stores (RedisStore and ValkeyStore), on their layout.

A store provides `_layout`, `_scan` (SCAN to the end, standalone or cluster) and `_delete_names`
(batched DEL); this mixin turns them into the keys/collections/destroy/destroy_collection hooks. Only
names that the layout parses are listed or deleted, so foreign keys in the same database survive.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any

from key_value.shared.layouts.resp import RespLayout


class ScanEnumeration:
    """Segment hooks built on SCAN; mix in before the segment base classes."""

    _layout: RespLayout

    @abstractmethod
    async def _scan(self, pattern: str, take: Callable[[list[Any]], bool]) -> None:
        """SCAN for `pattern` to the end, handing each reply's names to `take` until it returns True."""

    @abstractmethod
    async def _delete_names(self, names: list[Any]) -> int:
        """Delete these server keys in batches; return how many existed."""

    async def _keys(self, collection: str, *, limit: int | None) -> list[str]:
        found: dict[str, None] = {}  # SCAN may return a key twice; a dict keeps the first-seen order

        split = self._layout.split

        def take(names: list[Any]) -> bool:
            for name in names:
                parts = split(name)
                if parts is not None and parts[0] == collection:
                    found[parts[1]] = None
            return limit is not None and len(found) >= limit

        await self._scan(self._layout.collection_pattern(collection), take)
        keys = list(found)
        return keys if limit is None else keys[:limit]

    async def _collections(self, *, limit: int | None) -> list[str]:
        found: dict[str, None] = {}
        split = self._layout.split

        def take(names: list[Any]) -> bool:
            for name in names:
                parts = split(name)
                if parts is not None:
                    found[parts[0]] = None
            return limit is not None and len(found) >= limit

        await self._scan(self._layout.all_pattern, take)
        names = list(found)
        return names if limit is None else names[:limit]

    async def _destroy(self) -> bool:
        return await self._delete_matching(self._layout.all_pattern) > 0

    async def _destroy_collection(self, collection: str) -> bool:
        return await self._delete_matching(self._layout.collection_pattern(collection)) > 0

    async def _delete_matching(self, pattern: str) -> int:
        names: list[Any] = []
        split = self._layout.split

        def take(batch: list[Any]) -> bool:
            names.extend(name for name in batch if split(name) is not None)
            return False

        await self._scan(pattern, take)
        return await self._delete_names(names) if names else 0

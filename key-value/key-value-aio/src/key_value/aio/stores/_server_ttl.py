"""`ServerTTLStore`: for backends that expire entries themselves and can say how long an entry has left.

Such a server (Redis, Valkey) never returns an expired entry, so `get` needs the value alone and reads
it in one command; `ttl` and `ttl_many` instead ask the server for the remaining time (PTTL), in the same
round trip as the value, rather than trusting this machine's clock.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from key_value.aio.stores.base import BaseStore
from key_value.shared.typecheck import public_api
from key_value.shared.validation import check_key, check_keys

#: What `ttl` returns: the value and its remaining seconds, (value, None) without expiry, (None, None) if missing.
ValueTTL = tuple[dict[str, Any] | None, float | None]


class ServerTTLStore(BaseStore, ABC):
    """Base of stores whose server keeps expiry: `_get_entry` reports no expiry, `ttl` asks the server."""

    @public_api
    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        """Return the value and the server's remaining seconds to live; (None, None) if missing or expired."""
        collection = self._collection(collection)
        check_key(key)
        if not self._ready:
            await self.setup()
        return (await self._get_entries_ttl(collection, [key]))[0]

    @public_api
    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        """Return one (value, ttl) pair per key, in order, read in one round trip."""
        collection = self._collection(collection)
        checked = check_keys(keys)
        if not self._ready:
            await self.setup()
        if not checked:
            return []
        return await self._get_entries_ttl(collection, checked)

    @abstractmethod
    async def _get_entries_ttl(self, collection: str, keys: list[str]) -> list[ValueTTL]:
        """Hook: (value, remaining seconds or None) per key, from the server in one round trip."""


def value_ttl(value: dict[str, Any] | None, pttl: int) -> ValueTTL:
    """Combine a value with the server's PTTL reply (-1: no expiry, -2: missing, else milliseconds left)."""
    if value is None or pttl in (-2, 0):  # 0: expiring within the millisecond
        return None, None
    return value, (None if pttl < 0 else pttl / 1000)

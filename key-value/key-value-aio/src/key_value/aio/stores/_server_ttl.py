"""`ServerTTLStore`: for backends that expire entries themselves and can say how long an entry has left.

Such a server (Redis, Valkey) never returns an expired entry, so `get` needs the value alone and reads
it in one command; `ttl` and `ttl_many` instead ask the server for the remaining time (PTTL), in the same
round trip as the value, rather than trusting this machine's clock.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from key_value.aio.stores.base import BaseStore, ValueTTL


class ServerTTLStore(BaseStore, ABC):
    """Base of stores whose server keeps expiry: `_get_entry` reports no expiry, `ttl` asks the server."""

    @abstractmethod
    async def _get_entries_ttl(self, collection: str, keys: list[str]) -> list[ValueTTL]:
        """Hook: (value, remaining seconds or None) per key, from the server in one round trip."""


def value_ttl(value: dict[str, Any] | None, pttl: int) -> ValueTTL:
    """Combine a value with the server's PTTL reply (-1: no expiry, -2: missing, else milliseconds left)."""
    if value is None or pttl in (-2, 0):  # 0: expiring within the millisecond
        return None, None
    return value, (None if pttl < 0 else pttl / 1000)


__all__ = ["ServerTTLStore", "ValueTTL", "value_ttl"]

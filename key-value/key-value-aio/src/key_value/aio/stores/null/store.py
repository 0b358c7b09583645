"""`NullStore`: checks every call like a real store, then forgets the data (a cache that never hits)."""

from __future__ import annotations

from key_value.aio.stores.base import BaseStore, Entry


class NullStore(BaseStore):
    """Accepts every valid operation and stores nothing: reads miss, deletes find nothing."""

    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        return None

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        return None

    async def _delete_entry(self, collection: str, key: str) -> bool:
        return False

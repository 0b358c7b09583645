"""Runtime type checks at the public boundary are on in the test suite and map to our errors."""

from __future__ import annotations

from typing import Any

import pytest

from key_value.aio.stores.base import BaseStore, Entry
from key_value.aio.stores.memory import MemoryStore
from key_value.shared import typecheck
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError, InvalidTTLError, KeyValueOperationError


class WrongResultStore(BaseStore):
    """A buggy store whose read hook returns a list where a dict belongs."""

    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        wrong: Any = ["not", "a", "dict"]
        return Entry(wrong, None)

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        return None

    async def _delete_entry(self, collection: str, key: str) -> bool:
        return False


def test_switched_on_in_tests() -> None:
    assert typecheck.ENABLED


async def test_wrong_result_caught() -> None:
    with pytest.raises(KeyValueOperationError, match="returned list"):
        await WrongResultStore().get("key")


async def test_argument_errors_are_ours() -> None:
    store = MemoryStore()
    bad: Any = 5
    with pytest.raises(InvalidKeyError):
        await store.get(bad)
    with pytest.raises(InvalidTTLError):
        await store.put("key", {}, ttl="soon")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        await store.keys(limit="3")  # type: ignore[arg-type]

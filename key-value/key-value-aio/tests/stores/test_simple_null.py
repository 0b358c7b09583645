"""SimpleStore runs the contract; NullStore checks input like any store and keeps nothing."""

from __future__ import annotations

import pytest

from key_value.aio.stores.null import NullStore
from key_value.aio.stores.simple import SimpleStore
from key_value.shared.errors import InvalidKeyError, InvalidTTLError, SerializationError

from ..support.contract import ContractTests


class TestSimpleStore(ContractTests):
    @pytest.fixture
    async def store(self) -> SimpleStore:
        return SimpleStore()


class TestNullStore:
    async def test_keeps_nothing(self) -> None:
        store = NullStore()
        await store.put("key", {"v": 1})
        await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}], ttl=5)
        assert await store.get("key") is None
        assert await store.get_many(["a", "b"]) == [None, None]
        assert await store.ttl("key") == (None, None)
        assert await store.delete("key") is False
        assert await store.delete_many(["a", "b"]) == 0

    async def test_checks_input(self) -> None:
        store = NullStore()
        with pytest.raises(InvalidKeyError):
            await store.put("", {"v": 1})
        with pytest.raises(InvalidTTLError):
            await store.put("key", {"v": 1}, ttl=0)
        with pytest.raises(SerializationError):
            await store.put("key", {"v": {1, 2}})

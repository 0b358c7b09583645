"""SimpleStore runs the contract; NullStore checks input like any store and keeps nothing."""

from __future__ import annotations

import pytest

from key_value.aio.conditional import ABSENT, CHANGED, Atomicity, ConditionalResult
from key_value.aio.stores.null import NullStore
from key_value.aio.stores.simple import SimpleStore
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError, InvalidTTLError, SerializationError

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


class TestNullStoreConditional:
    """Every key is absent: conditions are decided against ABSENT, and nothing is kept."""

    async def test_every_key_absent(self) -> None:
        store = NullStore()
        assert store.atomicity is Atomicity.ACROSS_PROCESSES
        assert await store.get_entry("key") is None
        inserted = await store.put_if("key", {"v": 1}, etag=ABSENT)
        assert inserted == ConditionalResult(True, ABSENT, ABSENT, None)
        assert await store.get("key") is None
        assert not await store.put_if("key", {"v": 1}, etag="some-etag")
        assert await store.put_if("key", {"v": 1}, etag="some-etag", condition=CHANGED)
        assert not await store.delete_if("key", etag="some-etag")
        assert await store.put_if_absent("key", {"v": 1}) is True
        assert (await store.transform("key", lambda value: {"seen": value})).value is None

    async def test_checks_conditional_input(self) -> None:
        store = NullStore()
        with pytest.raises(InvalidArgumentError):
            await store.put_if("key", {"v": 1}, etag="")
        with pytest.raises(InvalidTTLError):
            await store.put_if("key", {"v": 1}, etag=ABSENT, ttl=-1)
        with pytest.raises(SerializationError):
            await store.put_if("key", {"v": {1}}, etag=ABSENT)

"""RaiseOnMissingAdapter: the contract with the default `raise_on_missing=False`, and MissingKeyError when asked."""

from __future__ import annotations

import pytest

from key_value.aio.adapters.raise_on_missing import RaiseOnMissingAdapter
from key_value.aio.stores.memory import MemoryStore
from key_value.shared.errors import InvalidKeyError, MissingKeyError

from ..support.contract import ContractTests


class TestRaiseOnMissingContract(ContractTests):
    @pytest.fixture
    async def store(self) -> RaiseOnMissingAdapter:
        return RaiseOnMissingAdapter(MemoryStore())


@pytest.fixture
async def adapter() -> RaiseOnMissingAdapter:
    adapter = RaiseOnMissingAdapter(MemoryStore())
    await adapter.put("here", {"v": 1}, collection="c", ttl=100)
    return adapter


async def test_present_values_returned(adapter: RaiseOnMissingAdapter) -> None:
    assert await adapter.get("here", collection="c", raise_on_missing=True) == {"v": 1}
    assert await adapter.get_many(["here", "here"], collection="c", raise_on_missing=True) == [{"v": 1}] * 2
    value, remaining = await adapter.ttl("here", collection="c", raise_on_missing=True)
    assert value == {"v": 1}
    assert remaining is not None
    assert 99 < remaining <= 100
    [(many_value, many_remaining)] = await adapter.ttl_many(["here"], collection="c", raise_on_missing=True)
    assert many_value == {"v": 1}
    assert many_remaining is not None


async def test_missing_without_raising(adapter: RaiseOnMissingAdapter) -> None:
    assert await adapter.get("gone", collection="c") is None
    assert await adapter.get("here") is None  # other collection
    assert await adapter.get_many(["here", "gone"], collection="c", raise_on_missing=False) == [{"v": 1}, None]
    assert await adapter.ttl("gone", collection="c") == (None, None)
    assert await adapter.ttl_many(["gone"], collection="c") == [(None, None)]


async def test_missing_raises(adapter: RaiseOnMissingAdapter) -> None:
    with pytest.raises(MissingKeyError, match="'gone'") as caught:
        await adapter.get("gone", collection="c", raise_on_missing=True)
    assert caught.value.extra_info == {"operation": "get", "collection": "c", "key": "gone"}
    with pytest.raises(MissingKeyError, match="'first'") as caught:
        await adapter.get_many(["here", "first", "second"], collection="c", raise_on_missing=True)
    assert caught.value.extra_info is not None
    assert caught.value.extra_info["operation"] == "get_many"
    with pytest.raises(MissingKeyError, match="'here'") as caught:
        await adapter.ttl("here", raise_on_missing=True)
    assert caught.value.extra_info == {"operation": "ttl", "collection": None, "key": "here"}
    with pytest.raises(MissingKeyError, match="'gone'"):
        await adapter.ttl_many(["here", "gone"], collection="c", raise_on_missing=True)


async def test_expired_counts_as_missing() -> None:
    store = MemoryStore()
    adapter = RaiseOnMissingAdapter(store)
    await adapter.put("brief", {"v": 1}, ttl=10)
    start = store.clock()
    store.clock = lambda: start + 11
    with pytest.raises(MissingKeyError):
        await adapter.get("brief", raise_on_missing=True)


async def test_writes_forward(adapter: RaiseOnMissingAdapter) -> None:
    await adapter.put_many(["a", "b"], [{"v": "a"}, {"v": "b"}])
    assert await adapter.key_value.get("a") == {"v": "a"}
    assert await adapter.delete("a") is True
    assert await adapter.delete_many(["a", "b"]) == 1
    with pytest.raises(InvalidKeyError):
        await adapter.get("", raise_on_missing=True)

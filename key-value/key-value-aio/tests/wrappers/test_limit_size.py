"""LimitSizeWrapper: the contract within generous limits; refusals raise or skip, never truncate or leave stale data."""

from __future__ import annotations

from typing import Any

import pytest

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.wrappers.limit_size import LimitSizeWrapper
from key_value.shared.codec import encode_value
from key_value.shared.errors import (
    EntryTooLargeError,
    EntryTooSmallError,
    InvalidArgumentError,
    InvalidKeyError,
    InvalidTTLError,
    SerializationError,
)
from testing.ids import stable_id

from ..support.contract import ContractTests

SMALL: dict[str, Any] = {"v": 1}
LARGE: dict[str, Any] = {"v": "x" * 200}
LIMIT = 100


class TestLimitSize(ContractTests):
    """Limits that every contract value fits in (`{}` is 2 bytes, the large value about 1.05 MB)."""

    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> LimitSizeWrapper:
        return LimitSizeWrapper(inner_store, min_size=2, max_size=2_000_000, raise_on_too_small=True)


class TestStackOfThree(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> LimitSizeWrapper:
        return LimitSizeWrapper(LimitSizeWrapper(LimitSizeWrapper(inner_store, max_size=3_000_000)), min_size=1)


def size(value: dict[str, Any]) -> int:
    return len(encode_value(value))


async def test_size_is_bytes_of_the_encoded_json() -> None:
    inner = MemoryStore()
    value = {"v": "é" * 10}  # encoded as \u00e9: 6 bytes each
    store = LimitSizeWrapper(inner, max_size=size(value))
    await store.put("fits", value)
    assert size(value) == len('{"v":""}') + 60
    with pytest.raises(EntryTooLargeError):
        await LimitSizeWrapper(inner, max_size=size(value) - 1).put("over", value)
    assert await inner.get_many(["fits", "over"]) == [value, None]


async def test_min_size_boundary() -> None:
    inner = MemoryStore()
    await LimitSizeWrapper(inner, min_size=size(SMALL), raise_on_too_small=True).put("fits", SMALL)
    with pytest.raises(EntryTooSmallError):
        await LimitSizeWrapper(inner, min_size=size(SMALL) + 1, raise_on_too_small=True).put("under", SMALL)
    assert await inner.get_many(["fits", "under"]) == [SMALL, None]


async def test_raising_refusal_writes_nothing() -> None:
    inner = MemoryStore()
    await inner.put("k", SMALL)
    store = LimitSizeWrapper(inner, max_size=LIMIT)
    with pytest.raises(EntryTooLargeError) as raised:
        await store.put("k", LARGE)
    assert raised.value.extra_info is not None
    assert raised.value.extra_info["size"] == size(LARGE)
    assert raised.value.extra_info["key"] == "k"
    assert await inner.get("k") == SMALL


async def test_silent_refusal_stores_nothing_and_clears_the_old_value() -> None:
    inner = MemoryStore()
    await inner.put_many(["big", "tiny"], [SMALL, LARGE])
    store = LimitSizeWrapper(inner, min_size=5, max_size=LIMIT, raise_on_too_large=False)
    await store.put("big", LARGE)
    await store.put("tiny", {})
    assert await inner.get_many(["big", "tiny"]) == [None, None]  # neither stale nor truncated
    await store.put("big", SMALL)
    assert await store.get("big") == SMALL


async def test_put_many_refuses_all_when_one_entry_raises() -> None:
    inner = MemoryStore()
    await inner.put("a", {"old": 1})
    store = LimitSizeWrapper(inner, max_size=LIMIT)
    with pytest.raises(EntryTooLargeError):
        await store.put_many(["a", "b", "c"], [SMALL, LARGE, SMALL])
    assert await inner.get_many(["a", "b", "c"]) == [{"old": 1}, None, None]


async def test_put_many_writes_the_valid_entries_when_not_raising() -> None:
    inner = MemoryStore()
    await inner.put_many(["a", "b"], [{"old": 1}, {"old": 2}])
    store = LimitSizeWrapper(inner, max_size=LIMIT, raise_on_too_large=False)
    await store.put_many(["a", "b", "c"], [SMALL, LARGE, {"v": 3}], ttl=60)
    assert await inner.get_many(["a", "b", "c"]) == [SMALL, None, {"v": 3}]
    value, remaining = await inner.ttl("c")
    assert value == {"v": 3}
    assert remaining is not None


async def test_put_many_duplicates_last_wins() -> None:
    inner = MemoryStore()
    store = LimitSizeWrapper(inner, max_size=LIMIT, raise_on_too_large=False)
    await store.put_many(["a", "a", "b", "b"], [LARGE, SMALL, SMALL, LARGE])
    assert await inner.get_many(["a", "b"]) == [SMALL, None]
    with pytest.raises(EntryTooLargeError):
        await LimitSizeWrapper(inner, max_size=LIMIT).put_many(["c", "c"], [LARGE, SMALL])
    assert await inner.get("c") is None


async def test_reads_are_not_limited() -> None:
    inner = MemoryStore()
    await inner.put("k", LARGE)
    store = LimitSizeWrapper(inner, max_size=LIMIT)
    assert await store.get("k") == LARGE
    assert await store.get_many(["k"]) == [LARGE]


@pytest.mark.parametrize("raising", [True, False])
async def test_input_errors_raise_before_the_size_check(raising: bool) -> None:
    inner = MemoryStore()
    await inner.put("k", SMALL)
    store = LimitSizeWrapper(inner, max_size=LIMIT, raise_on_too_large=raising)
    with pytest.raises(InvalidTTLError):
        await store.put("k", LARGE, ttl=0)
    with pytest.raises(InvalidKeyError):
        await store.put("", LARGE)
    with pytest.raises(InvalidKeyError):
        await store.put("k", LARGE, collection="")
    with pytest.raises(SerializationError):
        await store.put("k", {"bad": {1}})
    with pytest.raises(InvalidTTLError):
        await store.put_many(["k"], [LARGE], ttl=-1)
    with pytest.raises(InvalidArgumentError):
        await store.put_many(["k", "j"], [LARGE])
    with pytest.raises(InvalidKeyError):
        await store.put_many("kk", [LARGE, LARGE])
    assert await inner.get("k") == SMALL


@pytest.mark.parametrize(
    "options",
    [{"min_size": -1}, {"max_size": -1}, {"max_size": 1.5}, {"min_size": True}, {"min_size": 10, "max_size": 5}],
    ids=stable_id,
)
def test_bad_options(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError):
        LimitSizeWrapper(MemoryStore(), **options)

"""TTLClampWrapper: the contract holds with wide bounds; TTLs are clamped, garbage TTLs are still refused."""

from __future__ import annotations

import math
from typing import Any

import pytest

from key_value.aio.protocols.key_value import AsyncEnumerateKeysProtocol, AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.null import NullStore
from key_value.aio.wrappers.base import ALL_SEGMENTS
from key_value.aio.wrappers.ttl_clamp import TTLClampWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.errors import InvalidArgumentError, InvalidTTLError
from testing.ids import stable_id

from ..support.contract import BAD_TTLS, ContractTests
from ..support.doubles import RecordingStore


class TestTTLClamp(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> TTLClampWrapper:
        return TTLClampWrapper(inner_store, min_ttl=0.05, max_ttl=3600)


class TestStackOfThree(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> TTLClampWrapper:
        inner = TTLClampWrapper(inner_store, min_ttl=0.01, max_ttl=10_000)
        return TTLClampWrapper(TTLClampWrapper(inner, 0.02, 5000), 0.05, 3600)


def assert_remaining(found: tuple[dict[str, Any] | None, float | None], expected: float) -> None:
    value, remaining = found
    assert value is not None
    assert remaining is not None
    assert expected - 0.5 < remaining <= expected


async def test_ttls_clamped(inner_store: AsyncKeyValue) -> None:
    wrapper = TTLClampWrapper(inner_store, min_ttl=10, max_ttl=100)
    await wrapper.put("low", {"v": 1}, ttl=0.01)
    await wrapper.put("high", {"v": 1}, ttl=10**9)
    await wrapper.put("inside", {"v": 1}, ttl=42.5)
    await wrapper.put_many(["many-low", "many-high"], [{"v": 1}, {"v": 2}], ttl=1)
    await wrapper.put_many(["many-high"], [{"v": 2}], ttl=1000)
    assert_remaining(await inner_store.ttl("low"), 10)
    assert_remaining(await inner_store.ttl("high"), 100)
    assert_remaining(await inner_store.ttl("inside"), 42.5)
    assert_remaining(await inner_store.ttl("many-low"), 10)
    assert_remaining(await inner_store.ttl("many-high"), 100)
    await wrapper.put("forever", {"v": 1})
    assert await wrapper.ttl("forever") == ({"v": 1}, None)


async def test_missing_ttl_applied() -> None:
    inner = MemoryStore()
    wrapper = TTLClampWrapper(inner, min_ttl=1, max_ttl=100, missing_ttl=50)
    await wrapper.put("one", {"v": 1})
    await wrapper.put_many(["two"], [{"v": 2}])
    assert_remaining(await inner.ttl("one"), 50)
    assert_remaining(await inner.ttl("two"), 50)
    await wrapper.put("given", {"v": 3}, ttl=5)
    assert_remaining(await inner.ttl("given"), 5)


@pytest.mark.parametrize("ttl", BAD_TTLS, ids=stable_id)
async def test_bad_ttl_never_clamped_into_a_good_one(ttl: Any) -> None:
    inner = MemoryStore()
    wrapper = TTLClampWrapper(inner, min_ttl=1, max_ttl=100, missing_ttl=50)
    with pytest.raises(InvalidTTLError):
        await wrapper.put("key", {"v": 1}, ttl=ttl)
    with pytest.raises(InvalidTTLError):
        await wrapper.put_many(["key"], [{"v": 1}], ttl=ttl)
    assert await inner.get("key") is None


@pytest.mark.parametrize(
    ("min_ttl", "max_ttl", "missing_ttl"),
    [
        (10, 5, None),
        (-1, 5, None),
        (1, math.inf, None),
        (math.nan, 5, None),
        (True, 5, None),
        ("1", 5, None),
        (None, 5, None),
        (1, None, None),
        (1, 5, 0),
        (1, 5, -3),
        (1, 5, math.nan),
    ],
    ids=stable_id,
)
def test_bad_options(min_ttl: Any, max_ttl: Any, missing_ttl: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        TTLClampWrapper(MemoryStore(), min_ttl, max_ttl, missing_ttl)


async def test_min_ttl_zero_means_no_lower_bound() -> None:
    """py-key-value code passes min_ttl=0; every valid TTL is above it, so only max_ttl clamps."""
    store = MemoryStore()
    wrapper = TTLClampWrapper(store, 0, 5)
    await wrapper.put("short", {"v": 1}, ttl=0.5)
    await wrapper.put("long", {"v": 1}, ttl=50)
    _, short = await store.ttl("short")
    _, long = await store.ttl("long")
    assert short is not None
    assert 0.4 < short <= 0.5
    assert long is not None
    assert 4.9 < long <= 5
    with pytest.raises(InvalidArgumentError):
        await wrapper.put("zero", {"v": 1}, ttl=0)


def test_equal_bounds_allowed() -> None:
    wrapper = TTLClampWrapper(MemoryStore(), 5, 5)
    assert (wrapper.min_ttl, wrapper.max_ttl, wrapper.missing_ttl) == (5.0, 5.0, None)


async def test_none_passed_through() -> None:
    inner = MemoryStore(default_collection="x")
    wrapper = TTLClampWrapper(inner, 1, 10)
    await wrapper.put("a", {"v": 1}, ttl=60)
    assert_remaining(await inner.ttl("a", collection="x"), 10)
    assert wrapper.default_collection == "x"


def test_capabilities_follow_the_inner_store() -> None:
    assert TTLClampWrapper(MemoryStore(), 1, 2).capabilities == ALL_SEGMENTS
    nothing = TTLClampWrapper(TTLClampWrapper(TTLClampWrapper(NullStore(), 1, 2), 1, 2), 1, 2)
    assert nothing.capabilities == Capability.CONDITIONAL  # NullStore's only segment
    assert not isinstance(nothing, AsyncEnumerateKeysProtocol)


async def test_lifecycle_forwarded() -> None:
    inner = RecordingStore()
    async with TTLClampWrapper(TTLClampWrapper(inner, 1, 2), 1, 2) as wrapper:
        await wrapper.put("k", {"v": 1})
    await wrapper.close()
    assert inner.events == ["enter", "exit", "close"]

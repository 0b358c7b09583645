"""TimeoutWrapper: the contract holds; a call slower than the limit raises StoreTimeoutError without waiting it out."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Mapping
from typing import Any, SupportsFloat

import pytest

from key_value.aio.protocols.key_value import AsyncEnumerateKeysProtocol, AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.null import NullStore
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.aio.wrappers.timeout import TimeoutWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError, StoreConnectionError, StoreTimeoutError
from testing.ids import stable_id

from ..support.contract import ContractTests
from ..support.doubles import RecordingStore, full

#: Far longer than any limit below: a test that waited for it would be seen to have waited.
SLOW = 30.0

caller_name: contextvars.ContextVar[str] = contextvars.ContextVar("caller_name", default="unset")


class Slow(BaseWrapper):
    """Sleeps `delay` seconds before get, put and keys; records what it saw and whether it finished."""

    def __init__(self, key_value: AsyncKeyValue, delay: float) -> None:
        super().__init__(key_value)
        self.delay = delay
        self.started = 0
        self.finished = 0
        self.seen_caller = ""

    async def _pause(self) -> None:
        self.started += 1
        self.seen_caller = caller_name.get()
        await asyncio.sleep(self.delay)
        self.finished += 1

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        await self._pause()
        return await super().get(key, collection=collection)

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        await self._pause()
        await super().put(key, value, collection=collection, ttl=ttl)

    async def _keys(self, collection: str | None, *, limit: int | None) -> list[str]:
        await self._pause()
        return await super()._keys(collection, limit=limit)


class OwnTimeout(BaseWrapper):
    """Raises its own TimeoutError at once, as a client library might."""

    error = TimeoutError("the client's own timeout")

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        raise self.error


class TestTimeout(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> TimeoutWrapper:
        return TimeoutWrapper(inner_store, timeout=60)


class TestStackOfThree(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> TimeoutWrapper:
        return TimeoutWrapper(TimeoutWrapper(TimeoutWrapper(inner_store, timeout=60), timeout=90), timeout=120)


async def test_slow_call_raises_store_timeout_error() -> None:
    inner = MemoryStore()
    slow = Slow(inner, delay=SLOW)
    wrapper = TimeoutWrapper(slow, timeout=0.05)
    with pytest.raises(StoreTimeoutError) as raised:
        await wrapper.put("k", {"v": 1})
    assert isinstance(raised.value, StoreConnectionError)
    assert isinstance(raised.value, TimeoutError)
    assert raised.value.extra_info == {"timeout": 0.05}
    assert slow.finished == 0  # we stopped waiting; the call did not finish first
    if True:  # ASYNC
        assert slow.started == 1
        assert await inner.get("k") is None  # the call was cancelled before it wrote
    with pytest.raises(TimeoutError):
        await wrapper.get("k")
    with pytest.raises(StoreConnectionError):
        await full(wrapper).keys()


async def test_fast_calls_pass() -> None:
    slow = Slow(MemoryStore(), delay=0.001)
    wrapper = TimeoutWrapper(slow, timeout=SLOW)
    await wrapper.put("k", {"v": 1})
    assert await wrapper.get("k") == {"v": 1}
    assert await full(wrapper).keys() == ["k"]
    assert (slow.started, slow.finished) == (3, 3)


async def test_store_errors_pass_through_unchanged() -> None:
    wrapper = TimeoutWrapper(OwnTimeout(MemoryStore()), timeout=SLOW)
    with pytest.raises(TimeoutError) as raised:
        await wrapper.get("k")
    assert raised.value is OwnTimeout.error
    with pytest.raises(InvalidKeyError):
        await wrapper.put("", {"v": 1})


async def test_inner_limit_reported_by_the_inner_wrapper() -> None:
    wrapper = TimeoutWrapper(TimeoutWrapper(Slow(MemoryStore(), delay=SLOW), timeout=0.05), timeout=SLOW)
    with pytest.raises(StoreTimeoutError) as raised:
        await wrapper.get("k")
    assert raised.value.extra_info == {"timeout": 0.05}


async def test_context_reaches_the_store() -> None:
    slow = Slow(MemoryStore(), delay=0.001)
    token = caller_name.set("test")
    try:
        await TimeoutWrapper(slow, timeout=SLOW).get("k")
    finally:
        caller_name.reset(token)
    assert slow.seen_caller == "test"


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "5", True, None], ids=stable_id)
def test_bad_timeout(timeout: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        TimeoutWrapper(MemoryStore(), timeout=timeout)


def test_upstream_default() -> None:
    assert TimeoutWrapper(MemoryStore()).timeout == 5.0


async def test_none_passed_through() -> None:
    inner = MemoryStore(default_collection="x")
    wrapper = TimeoutWrapper(TimeoutWrapper(inner))
    await wrapper.put("a", {"v": 1})
    assert await inner.get("a", collection="x") == {"v": 1}
    assert wrapper.default_collection == "x"


def test_capabilities_follow_the_inner_store() -> None:
    assert TimeoutWrapper(MemoryStore()).capabilities == ALL_SEGMENTS
    nothing = TimeoutWrapper(TimeoutWrapper(TimeoutWrapper(NullStore())))
    assert nothing.capabilities == Capability.CONDITIONAL  # NullStore's only segment: every key absent
    assert not isinstance(nothing, AsyncEnumerateKeysProtocol)


async def test_lifecycle_forwarded() -> None:
    inner = RecordingStore()
    async with TimeoutWrapper(TimeoutWrapper(inner)) as wrapper:
        await wrapper.put("k", {"v": 1})
    await wrapper.close()
    assert inner.events == ["enter", "exit", "close"]

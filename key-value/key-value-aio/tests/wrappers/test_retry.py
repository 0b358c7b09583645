"""RetryWrapper: the contract holds even when every first attempt fails; backoff is capped; input errors never retry."""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat

import pytest

from key_value.aio.protocols.key_value import AsyncEnumerateKeysProtocol, AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.null import NullStore
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.aio.wrappers.retry import DEFAULT_RETRY_ON, RetryWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.errors import (
    InvalidArgumentError,
    InvalidKeyError,
    ReadOnlyError,
    StoreConnectionError,
    StoreTimeoutError,
)
from testing.ids import stable_id

from ..support.contract import ContractTests
from ..support.doubles import RecordingStore, full


class Flaky(BaseWrapper):
    """Fails calls with `error` before they reach the wrapped store: the first `failures` calls, or when `once`,
    the first call with each distinct set of arguments (so every call succeeds on its second attempt)."""

    def __init__(self, key_value: AsyncKeyValue, *, error: Exception, failures: int = 0, once: bool = False) -> None:
        super().__init__(key_value)
        self.error = error
        self.failures = failures
        self.once = once
        self.calls = 0
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def _trip(self, *call: object) -> None:
        with self._lock:
            self.calls += 1
            if self.once:
                signature = repr(call)
                fail = signature not in self._seen
                self._seen.add(signature)
            else:
                fail = self.calls <= self.failures
        if fail:
            raise self.error

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        self._trip("get", key, collection)
        return await super().get(key, collection=collection)

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        self._trip("get_many", keys, collection)
        return await super().get_many(keys, collection=collection)

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        self._trip("ttl", key, collection)
        return await super().ttl(key, collection=collection)

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        self._trip("ttl_many", keys, collection)
        return await super().ttl_many(keys, collection=collection)

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        self._trip("put", key, id(value), collection, ttl)
        await super().put(key, value, collection=collection, ttl=ttl)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        self._trip("put_many", keys, id(values), collection, ttl)
        await super().put_many(keys, values, collection=collection, ttl=ttl)

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        self._trip("delete", key, collection)
        return await super().delete(key, collection=collection)

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        self._trip("delete_many", keys, collection)
        return await super().delete_many(keys, collection=collection)

    async def _keys(self, collection: str | None, *, limit: int | None) -> list[str]:
        self._trip("keys", collection, limit)
        return await super()._keys(collection, limit=limit)

    async def _collections(self, *, limit: int | None) -> list[str]:
        self._trip("collections", limit)
        return await super()._collections(limit=limit)

    async def _destroy(self) -> bool:
        self._trip("destroy")
        return await super()._destroy()

    async def _destroy_collection(self, collection: str) -> bool:
        self._trip("destroy_collection", collection)
        return await super()._destroy_collection(collection)

    async def _cull(self) -> None:
        self._trip("cull")
        await super()._cull()


class TestRetry(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> RetryWrapper:
        return RetryWrapper(inner_store)


class TestEveryFirstAttemptFails(ContractTests):
    """Each distinct call fails once with a connection error first: the contract holds only if retries work."""

    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> RetryWrapper:
        flaky = Flaky(inner_store, error=StoreConnectionError("connection reset"), once=True)
        return RetryWrapper(flaky, max_retries=1, initial_delay=0)


class TestStackOfThree(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> RetryWrapper:
        flaky = Flaky(inner_store, error=ConnectionResetError("reset"), once=True)
        return RetryWrapper(RetryWrapper(RetryWrapper(flaky, initial_delay=0), max_retries=0), max_retries=0)


def recording(wrapper: RetryWrapper) -> list[float]:
    """Make `wrapper` record its waits instead of sleeping; return the list it appends to."""
    delays: list[float] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)

    wrapper.sleep = record
    return delays


@pytest.mark.parametrize(
    "error", [StoreConnectionError("down"), StoreTimeoutError("slow"), ConnectionRefusedError(), TimeoutError()]
)
async def test_fails_n_times_then_succeeds(error: Exception) -> None:
    inner = MemoryStore()
    await inner.put("k", {"v": 1})
    flaky = Flaky(inner, error=error, failures=3)
    wrapper = RetryWrapper(flaky, max_retries=3)
    delays = recording(wrapper)
    assert await wrapper.get("k") == {"v": 1}
    assert flaky.calls == 4
    assert len(delays) == 3


async def test_gives_up_after_max_retries() -> None:
    flaky = Flaky(MemoryStore(), error=StoreConnectionError("down"), failures=5)
    wrapper = RetryWrapper(flaky, max_retries=4)
    delays = recording(wrapper)
    with pytest.raises(StoreConnectionError):
        await wrapper.put("k", {"v": 1})
    assert flaky.calls == 5
    assert len(delays) == 4
    assert await flaky.get("k") is None  # the sixth call gets through: nothing was written before


async def test_no_retries() -> None:
    flaky = Flaky(MemoryStore(), error=StoreConnectionError("down"), failures=1)
    wrapper = RetryWrapper(flaky, max_retries=0)
    delays = recording(wrapper)
    with pytest.raises(StoreConnectionError):
        await wrapper.get("k")
    assert (flaky.calls, delays) == (1, [])


async def test_delays_grow_and_are_capped() -> None:
    flaky = Flaky(MemoryStore(), error=StoreConnectionError("down"), failures=8)
    wrapper = RetryWrapper(flaky, max_retries=8, initial_delay=1, max_delay=5, exponential_base=2)
    delays = recording(wrapper)
    assert await wrapper.get("k") is None
    caps = [1, 2, 4, 5, 5, 5, 5, 5]
    assert len(delays) == len(caps)
    for delay, cap in zip(delays, caps, strict=True):
        assert cap / 2 <= delay <= cap
    assert max(delays) <= 5


async def test_jitter_scales_each_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    factors = iter([0.5, 1.0, 0.75, 0.625])
    asked: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        asked.append((low, high))
        return next(factors)

    monkeypatch.setattr(random, "uniform", uniform)
    flaky = Flaky(MemoryStore(), error=StoreConnectionError("down"), failures=4)
    wrapper = RetryWrapper(flaky, max_retries=4, initial_delay=1, max_delay=5, exponential_base=2)
    delays = recording(wrapper)
    assert await wrapper.get("k") is None
    assert delays == [0.5, 2.0, 3.0, 3.125]
    assert asked == [(0.5, 1.0)] * 4


async def test_large_exponents_stay_capped() -> None:
    flaky = Flaky(MemoryStore(), error=TimeoutError(), failures=2000)
    wrapper = RetryWrapper(flaky, max_retries=2000, initial_delay=1, max_delay=2, exponential_base=10)
    delays = recording(wrapper)
    assert await wrapper.get("k") is None
    assert len(delays) == 2000
    assert all(0.5 <= delay <= 2 for delay in delays)


@pytest.mark.parametrize("retry_on", [DEFAULT_RETRY_ON, (Exception,), (InvalidKeyError, ReadOnlyError)])
async def test_input_errors_never_retried(retry_on: tuple[type[Exception], ...]) -> None:
    flaky = Flaky(MemoryStore(), error=StoreConnectionError("down"))
    wrapper = RetryWrapper(flaky, retry_on=retry_on)
    delays = recording(wrapper)
    with pytest.raises(InvalidKeyError):
        await wrapper.put("", {"v": 1})
    assert (flaky.calls, delays) == (1, [])
    read_only = Flaky(MemoryStore(), error=ReadOnlyError("no"), failures=1)
    with pytest.raises(ReadOnlyError):
        await RetryWrapper(read_only, retry_on=retry_on).get("k")
    assert read_only.calls == 1


async def test_other_errors_not_retried() -> None:
    flaky = Flaky(MemoryStore(), error=ValueError("bug"), failures=1)
    wrapper = RetryWrapper(flaky)
    delays = recording(wrapper)
    with pytest.raises(ValueError, match="bug"):
        await wrapper.get("k")
    assert (flaky.calls, delays) == (1, [])


async def test_segments_retried() -> None:
    inner = MemoryStore()
    flaky = Flaky(inner, error=StoreConnectionError("down"), once=True)
    wrapper = full(RetryWrapper(flaky, initial_delay=0))
    await wrapper.put("k", {"v": 1}, collection="c")
    assert await wrapper.keys("c") == ["k"]
    assert await wrapper.collections() == ["c"]
    await wrapper.cull()
    assert await wrapper.destroy_collection("c") is True
    await wrapper.put("k", {"v": 1}, collection="c")
    assert await wrapper.destroy() is True
    assert await inner.collections() == []


def test_default_retry_on() -> None:
    assert RetryWrapper(MemoryStore()).retry_on == (ConnectionError, TimeoutError, StoreConnectionError)
    assert issubclass(StoreTimeoutError, DEFAULT_RETRY_ON)


@pytest.mark.parametrize(
    "options",
    [
        {"max_retries": -1},
        {"max_retries": 1.5},
        {"max_retries": True},
        {"initial_delay": -0.1},
        {"initial_delay": float("nan")},
        {"initial_delay": "1"},
        {"max_delay": float("inf")},
        {"initial_delay": 2, "max_delay": 1},
        {"exponential_base": 0.5},
        {"retry_on": ConnectionError},
        {"retry_on": [ConnectionError]},
        {"retry_on": (ConnectionError, "x")},
        {"retry_on": (KeyboardInterrupt,)},
    ],
    ids=stable_id,
)
def test_bad_options(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError):
        RetryWrapper(MemoryStore(), **options)


def test_upstream_defaults() -> None:
    wrapper = RetryWrapper(MemoryStore())
    assert (wrapper.max_retries, wrapper.initial_delay, wrapper.max_delay, wrapper.exponential_base) == (3, 0.1, 10, 2)


async def test_none_passed_through() -> None:
    inner = MemoryStore(default_collection="x")
    wrapper = RetryWrapper(RetryWrapper(inner))
    await wrapper.put("a", {"v": 1})
    assert await inner.get("a", collection="x") == {"v": 1}
    assert wrapper.default_collection == "x"


def test_capabilities_follow_the_inner_store() -> None:
    assert RetryWrapper(MemoryStore()).capabilities == ALL_SEGMENTS
    nothing = RetryWrapper(RetryWrapper(RetryWrapper(NullStore())))
    assert nothing.capabilities == Capability.CONDITIONAL  # NullStore's only segment: every key absent
    assert not isinstance(nothing, AsyncEnumerateKeysProtocol)


async def test_lifecycle_forwarded() -> None:
    inner = RecordingStore()
    async with RetryWrapper(RetryWrapper(inner)) as wrapper:
        await wrapper.put("k", {"v": 1})
    await wrapper.close()
    assert inner.events == ["enter", "exit", "close"]

"""PassthroughCacheWrapper: the contract around each inner store (as primary and as cache); fills, TTLs and races.

The race tests hold one operation at a gate (an Event) between two of its steps while another runs to
completion, then check that the cache holds nothing the primary no longer has. In the async twin the
two operations are tasks on one loop; in the sync twin they are threads.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, SupportsFloat, TypeVar

import pytest

from key_value.aio.protocols.key_value import (
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncKeyValue,
)
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.null import NullStore
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.aio.wrappers.passthrough_cache import PassthroughCacheWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.errors import InvalidKeyError, InvalidTTLError
from testing.ids import stable_id

from ..support.contract import ContractTests
from ..support.doubles import CallRecorder

T = TypeVar("T")
TIMEOUT = 10.0

if True:  # ASYNC
    from collections.abc import Coroutine

    Event = asyncio.Event

    async def wait(event: asyncio.Event) -> None:
        await asyncio.wait_for(event.wait(), TIMEOUT)

    class Background(Generic[T]):
        """Runs `call` concurrently with the test (as a task); `result()` waits for it."""

        def __init__(self, call: Callable[[], Coroutine[Any, Any, T]]) -> None:
            self._task = asyncio.ensure_future(call())

        def done(self) -> bool:
            return self._task.done()

        async def result(self) -> T:
            return await asyncio.wait_for(self._task, TIMEOUT)

else:
    Event = threading.Event

    def wait(event: threading.Event) -> None:
        if not event.wait(TIMEOUT):
            raise TimeoutError("event not set in time")

    class Background(Generic[T]):
        """Runs `call` concurrently with the test (in a thread); `result()` waits for it."""

        def __init__(self, call: Callable[[], T]) -> None:
            self._outcome: list[Any] = []
            self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
            self._thread.start()

        def _run(self, call: Callable[[], T]) -> None:
            try:
                self._outcome.append((True, call()))
            except BaseException as error:
                self._outcome.append((False, error))

        def done(self) -> bool:
            return not self._thread.is_alive()

        def result(self) -> T:
            self._thread.join(TIMEOUT)
            if not self._outcome:
                raise TimeoutError("background call did not finish in time")
            ok, outcome = self._outcome[0]
            if not ok:
                raise outcome
            return outcome


class Gate:
    """Holds the first call that reaches it until the test opens it; later calls pass straight through."""

    def __init__(self) -> None:
        self.reached = Event()
        self.opened = Event()
        self._used = False
        self._lock = threading.Lock()

    async def hold(self) -> None:
        with self._lock:
            first, self._used = not self._used, True
        if first:
            self.reached.set()
            await wait(self.opened)


class HeldAfterPrimaryRead(BaseWrapper):
    """A primary whose bulk read returns only when the gate opens (after reading the value)."""

    def __init__(self, key_value: AsyncKeyValue, gate: Gate) -> None:
        super().__init__(key_value)
        self.gate = gate

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        results = await self.key_value.ttl_many(keys, collection=collection)
        await self.gate.hold()
        return results


class HeldBeforeCacheFill(BaseWrapper):
    """A cache whose bulk write waits for the gate before it writes."""

    def __init__(self, key_value: AsyncKeyValue, gate: Gate) -> None:
        super().__init__(key_value)
        self.gate = gate

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        await self.gate.hold()
        await self.key_value.put_many(keys, values, collection=collection, ttl=ttl)


class HeldBeforePrimaryWrite(BaseWrapper):
    """A primary whose write waits for the gate before it writes."""

    def __init__(self, key_value: AsyncKeyValue, gate: Gate) -> None:
        super().__init__(key_value)
        self.gate = gate

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        await self.gate.hold()
        await self.key_value.put(key, value, collection=collection, ttl=ttl)


class HeldAfterInvalidation(BaseWrapper):
    """A cache whose delete returns only when the gate opens (after deleting)."""

    def __init__(self, key_value: AsyncKeyValue, gate: Gate) -> None:
        super().__init__(key_value)
        self.gate = gate

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        deleted = await self.key_value.delete(key, collection=collection)
        await self.gate.hold()
        return deleted


class TestPassthroughCache(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> PassthroughCacheWrapper:
        return PassthroughCacheWrapper(inner_store, MemoryStore())


class TestInnerStoreAsCache(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> PassthroughCacheWrapper:
        return PassthroughCacheWrapper(MemoryStore(), inner_store, maximum_ttl=60, missing_ttl=30)


class TestStackOfThree(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> PassthroughCacheWrapper:
        inner = PassthroughCacheWrapper(PassthroughCacheWrapper(inner_store, MemoryStore()), MemoryStore())
        return PassthroughCacheWrapper(inner, MemoryStore())


def cached(**options: Any) -> tuple[MemoryStore, MemoryStore, PassthroughCacheWrapper]:
    primary, cache = MemoryStore(), MemoryStore()
    return primary, cache, PassthroughCacheWrapper(primary, cache, **options)


async def test_reads_fill_the_cache_and_hit_it_afterwards() -> None:
    primary = CallRecorder(MemoryStore())
    await primary.put("k", {"v": 1})
    primary.calls.clear()
    cache = MemoryStore()
    store = PassthroughCacheWrapper(primary, cache)
    assert await store.get("k") == {"v": 1}
    assert await store.get("k") == {"v": 1}
    assert await store.ttl("k") == ({"v": 1}, None)
    assert primary.calls == ["ttl_many"]
    assert await cache.keys() == ["k"]


async def test_an_empty_value_is_a_hit() -> None:
    primary = CallRecorder(MemoryStore())
    await primary.put("empty", {})
    primary.calls.clear()
    store = PassthroughCacheWrapper(primary, MemoryStore())
    assert await store.get("empty") == {}
    assert await store.get("empty") == {}
    assert await store.get_many(["empty"]) == [{}]
    assert primary.calls == ["ttl_many"]


async def test_misses_are_not_cached() -> None:
    primary, cache, store = cached()
    assert await store.get("absent") is None
    assert await cache.keys() == []
    await primary.put("absent", {"v": 1})
    assert await store.get("absent") == {"v": 1}


async def test_get_many_fills_the_cache_with_one_bulk_put() -> None:
    primary = MemoryStore()
    await primary.put_many(["a", "b", "c"], [{"v": 1}, {"v": 2}, {"v": 3}])
    await primary.put("d", {"v": 4}, ttl=30)
    cache = CallRecorder(MemoryStore())
    store = PassthroughCacheWrapper(primary, cache)
    assert await store.get("a") == {"v": 1}
    cache.calls.clear()
    assert await store.get_many(["a", "b", "missing", "c", "d", "b"]) == [
        {"v": 1},
        {"v": 2},
        None,
        {"v": 3},
        {"v": 4},
        {"v": 2},
    ]
    assert cache.calls == ["get_many", "put_many"]
    cache.calls.clear()
    results = await store.ttl_many(["a", "b", "c", "d"])
    assert [value for value, _ in results] == [{"v": 1}, {"v": 2}, {"v": 3}, {"v": 4}]
    assert cache.calls == ["get_many"]


async def test_cache_entries_never_outlive_the_primary() -> None:
    primary, cache, store = cached(maximum_ttl=600, missing_ttl=300)
    await primary.put("short", {"v": 1}, ttl=5)
    await primary.put("forever", {"v": 2})
    await store.get_many(["short", "forever"])  # one bulk fill: the shortest TTL is used for both
    for key in ("short", "forever"):
        _, remaining = await cache.ttl(key)
        assert remaining is not None
        assert remaining <= 5
    value, remaining = await store.ttl("short")  # reported from the cache, as the primary's remaining time
    assert value == {"v": 1}
    assert remaining is not None
    assert 4.5 < remaining <= 5
    assert await store.ttl("forever") == ({"v": 2}, None)


@pytest.mark.parametrize(
    ("options", "limit"),
    [({}, 1800), ({"maximum_ttl": 10}, 10), ({"missing_ttl": 20}, 20), ({"maximum_ttl": 10, "missing_ttl": 20}, 10)],
    ids=stable_id,
)
async def test_entries_without_ttl_are_cached_for_missing_ttl_at_most_maximum(
    options: dict[str, Any], limit: float
) -> None:
    primary, cache, store = cached(**options)
    await primary.put("k", {"v": 1})
    await store.get("k")
    _, remaining = await cache.ttl("k")
    assert remaining is not None
    assert limit - 1 < remaining <= limit
    assert await store.ttl("k") == ({"v": 1}, None)


async def test_writes_invalidate_the_cache() -> None:
    primary, cache, store = cached()
    await store.put_many(["a", "b", "c"], [{"v": 1}, {"v": 2}, {"v": 3}])
    assert await store.get_many(["a", "b", "c"]) == [{"v": 1}, {"v": 2}, {"v": 3}]
    await store.put("a", {"v": 10})
    await store.put_many(["b"], [{"v": 20}], ttl=60)
    assert await store.delete("c") is True
    assert await store.get_many(["a", "b", "c"]) == [{"v": 10}, {"v": 20}, None]
    assert await store.delete_many(["a", "b"]) == 2
    assert await store.get_many(["a", "b"]) == [None, None]
    assert await cache.keys() == []
    assert await primary.keys() == []


async def test_none_reaches_the_cache_as_the_primarys_default() -> None:
    primary = MemoryStore(default_collection="main")
    cache = MemoryStore()
    store = PassthroughCacheWrapper(primary, cache)
    await store.put("k", {"v": 1})
    assert await store.get("k", collection="main") == {"v": 1}
    assert await cache.collections() == ["main"]
    await store.put("k", {"v": 2}, collection="main")  # invalidates what a read with None filled
    assert await store.get("k") == {"v": 2}
    await store.put("k", {"v": 3})  # and the other way round
    assert await store.get("k", collection="main") == {"v": 3}
    assert await primary.get("k") == {"v": 3}


async def test_foreign_cache_records_are_misses() -> None:
    primary, cache, store = cached()
    await primary.put("k", {"v": 1})
    await cache.put("k", {"v": "not a cache record"})
    assert await store.get("k") == {"v": 1}
    assert await cache.get("k") != {"v": "not a cache record"}


async def test_a_read_that_raced_a_write_does_not_cache_the_replaced_value() -> None:
    gate = Gate()
    primary = MemoryStore()
    await primary.put("k", {"v": "old"})
    cache = MemoryStore()
    store = PassthroughCacheWrapper(HeldAfterPrimaryRead(primary, gate), cache)
    reader = Background(lambda: store.get("k"))
    await wait(gate.reached)  # the read has the old value from the primary and has not filled the cache yet
    await store.put("k", {"v": "new"})  # a whole write: primary, then cache invalidation
    gate.opened.set()
    assert await reader.result() == {"v": "old"}  # the read began before the write
    assert await cache.get("k") is None  # ...but did not cache what the write replaced
    assert await store.get("k") == {"v": "new"}


async def test_a_read_during_a_held_write_leaves_nothing_cached() -> None:
    """The write is held between its steps: before its primary write, then after its cache invalidation.

    A read that starts in between sees the old value in the primary; whatever it tries to cache (held
    until the write has invalidated) must not outlive the write.
    """
    before_write, fill, after_invalidation = Gate(), Gate(), Gate()
    primary = MemoryStore()
    await primary.put("k", {"v": "old"})
    cache = MemoryStore()
    store = PassthroughCacheWrapper(
        HeldBeforePrimaryWrite(primary, before_write),
        HeldAfterInvalidation(HeldBeforeCacheFill(cache, fill), after_invalidation),
    )
    writer = Background(lambda: store.put("k", {"v": "new"}))
    await wait(before_write.reached)  # the write has begun; the primary still holds the old value
    reader = Background(lambda: store.get("k"))
    deadline = time.monotonic() + TIMEOUT
    while not (reader.done() or fill.reached.is_set()):  # the read either gave up filling or waits to fill
        assert time.monotonic() < deadline
        await asyncio.sleep(0.001)
    before_write.opened.set()
    await wait(after_invalidation.reached)  # primary written, cache invalidated; the write is still in flight
    fill.opened.set()
    assert await reader.result() == {"v": "old"}
    after_invalidation.opened.set()
    await writer.result()
    assert await cache.get("k") is None
    assert await store.get("k") == {"v": "new"}


async def test_a_delete_that_raced_a_read_leaves_nothing_cached() -> None:
    gate = Gate()
    primary = MemoryStore()
    await primary.put_many(["a", "b"], [{"v": 1}, {"v": 2}])
    cache = MemoryStore()
    store = PassthroughCacheWrapper(HeldAfterPrimaryRead(primary, gate), cache)
    reader = Background(lambda: store.get_many(["a", "b"]))
    await wait(gate.reached)
    assert await store.delete("a") is True
    gate.opened.set()
    assert await reader.result() == [{"v": 1}, {"v": 2}]
    assert await cache.keys() == ["b"]  # the untouched key is cached, the deleted one is not
    assert await store.get_many(["a", "b"]) == [None, {"v": 2}]


async def test_a_fill_that_lands_after_the_invalidation_is_removed() -> None:
    gate = Gate()
    primary = MemoryStore()
    await primary.put("k", {"v": "old"})
    cache = MemoryStore()
    store = PassthroughCacheWrapper(primary, HeldBeforeCacheFill(cache, gate))
    reader = Background(lambda: store.get("k"))
    await wait(gate.reached)  # the read decided to fill the cache and is about to write it
    await store.put("k", {"v": "new"})  # its invalidation finds nothing to delete yet
    gate.opened.set()
    assert await reader.result() == {"v": "old"}
    assert await cache.get("k") is None  # the late fill was taken back
    assert await store.get("k") == {"v": "new"}


async def test_a_read_during_a_destroy_caches_nothing() -> None:
    gate = Gate()
    primary = MemoryStore()
    await primary.put("k", {"v": 1})
    cache = MemoryStore()
    store = PassthroughCacheWrapper(primary, HeldBeforeCacheFill(cache, gate))
    reader = Background(lambda: store.get("k"))
    await wait(gate.reached)
    assert isinstance(store, AsyncDestroyStoreProtocol)
    assert await store.destroy() is True
    gate.opened.set()
    assert await reader.result() == {"v": 1}
    assert await cache.get("k") is None
    assert await store.get("k") is None


async def test_destroy_clears_both_stores() -> None:
    primary, cache, store = cached()
    await store.put("k", {"v": 1}, collection="c")
    await store.put("k", {"v": 1}, collection="d")
    await store.get("k", collection="c")
    await store.get("k", collection="d")
    assert isinstance(store, AsyncDestroyCollectionProtocol)
    assert await store.destroy_collection("c") is True
    assert await cache.collections() == ["d"]
    assert isinstance(store, AsyncDestroyStoreProtocol)
    assert await store.destroy() is True
    assert await cache.collections() == []
    assert await primary.collections() == []


def test_capabilities_follow_primary_and_destroy_needs_the_cache() -> None:
    assert PassthroughCacheWrapper(MemoryStore(), MemoryStore()).capabilities == ALL_SEGMENTS
    assert PassthroughCacheWrapper(NullStore(), MemoryStore()).capabilities == Capability.CONDITIONAL
    without_destroy = PassthroughCacheWrapper(MemoryStore(), NullStore())
    kept = Capability.KEYS | Capability.COLLECTIONS | Capability.CULL | Capability.CONDITIONAL
    assert without_destroy.capabilities == kept
    assert not isinstance(without_destroy, AsyncDestroyStoreProtocol)
    assert not isinstance(without_destroy, AsyncDestroyCollectionProtocol)


async def test_input_errors_touch_nothing() -> None:
    primary = MemoryStore()
    cache = CallRecorder(MemoryStore())
    store = PassthroughCacheWrapper(primary, cache)
    with pytest.raises(InvalidKeyError):
        await store.put("", {"v": 1})
    with pytest.raises(InvalidTTLError):
        await store.put("k", {"v": 1}, ttl=0)
    with pytest.raises(InvalidKeyError):
        await store.put_many("ab", [{"v": 1}, {"v": 2}])
    with pytest.raises(InvalidKeyError):
        await store.delete("k", collection="")
    assert cache.calls == []
    with pytest.raises(InvalidKeyError):
        await store.get_many("ab")
    assert await primary.keys() == []


@pytest.mark.parametrize("option", ["maximum_ttl", "missing_ttl"])
@pytest.mark.parametrize("value", [0, -1, True, float("inf"), "10"], ids=stable_id)
def test_bad_ttl_options(option: str, value: Any) -> None:
    with pytest.raises(InvalidTTLError):
        PassthroughCacheWrapper(MemoryStore(), MemoryStore(), **{option: value})

"""ImmutableCacheWrapper: the contract around each inner store (writes all go through the wrapper); hits make
no request, misses are read in one call, TTLs expire locally, and a read that raced a write caches nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.wrappers.append_only import AppendOnlyWrapper
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.aio.wrappers.immutable_cache import ImmutableCacheWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.errors import ImmutableEntryError, InvalidArgumentError, InvalidKeyError

from ..support.conditional import conditional
from ..support.contract import ContractTests
from ..support.doubles import CallRecorder
from ..support.insert_only import InsertOnlyContractTests
from ..support.timing import sleep


class TestImmutableCacheContract(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> ImmutableCacheWrapper:
        return ImmutableCacheWrapper(inner_store, max_entries=64)


class TestImmutableCacheOverAppendOnly(InsertOnlyContractTests):
    """The pairing the docs recommend, through the part of the contract that append-only data keeps."""

    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> ImmutableCacheWrapper:
        return ImmutableCacheWrapper(AppendOnlyWrapper(inner_store))


async def test_hits_make_no_request() -> None:
    inner = MemoryStore()
    recorder = CallRecorder(inner)
    cached = ImmutableCacheWrapper(recorder)
    await inner.put_many(["a", "b"], [{"v": "a"}, {"v": "b"}], collection="c")
    assert await cached.get_many(["a", "b", "missing"], collection="c") == [{"v": "a"}, {"v": "b"}, None]
    assert recorder.calls == ["ttl_many"]  # the misses, in one call
    assert await cached.get("a", collection="c") == {"v": "a"}
    assert await cached.get_many(["b", "a"], collection="c") == [{"v": "b"}, {"v": "a"}]
    assert await cached.ttl_many(["a"], collection="c") == [({"v": "a"}, None)]
    assert recorder.calls == ["ttl_many"]
    assert await cached.get("missing", collection="c") is None  # absent keys are not cached
    assert recorder.calls == ["ttl_many", "ttl_many"]


async def test_a_change_by_another_client_is_not_seen() -> None:
    """What the docs warn about: hits are trusted, so this wrapper is only for data never overwritten."""
    inner = MemoryStore()
    cached = ImmutableCacheWrapper(inner)
    await inner.put("k", {"v": 1})
    assert await cached.get("k") == {"v": 1}
    await inner.put("k", {"v": 2})
    assert await cached.get("k") == {"v": 1}


async def test_ttl_entries_expire_locally() -> None:
    inner = MemoryStore()
    recorder = CallRecorder(inner)
    cached = ImmutableCacheWrapper(recorder)
    await inner.put("k", {"v": 1}, ttl=10)
    assert await cached.get("k") == {"v": 1}
    await sleep(4)
    value, remaining = await cached.ttl("k")
    assert recorder.calls == ["ttl_many"]  # answered by the cache
    assert value == {"v": 1}
    assert remaining is not None
    assert 5 < remaining <= 6
    await sleep(7)
    assert await cached.get("k") is None
    assert recorder.calls == ["ttl_many", "ttl_many"]


async def test_bounded_least_recently_used_first() -> None:
    inner = MemoryStore()
    recorder = CallRecorder(inner)
    cached = ImmutableCacheWrapper(recorder, max_entries=2)
    await inner.put_many(["a", "b", "c"], [{"v": "a"}, {"v": "b"}, {"v": "c"}])
    for key in ("a", "b", "a", "c"):  # c evicts b, the least recently used
        await cached.get(key)
    recorder.calls.clear()
    await cached.get("a")
    assert recorder.calls == []
    await cached.get("b")
    assert recorder.calls == ["ttl_many"]


async def test_returned_values_are_copies() -> None:
    cached = ImmutableCacheWrapper(MemoryStore())
    await cached.put("k", {"list": [1]})
    first = await cached.get("k")
    assert first is not None
    first["list"].append(2)
    assert await cached.get("k") == {"list": [1]}


async def test_writes_through_the_wrapper_drop_the_cached_entry() -> None:
    inner = MemoryStore()
    cached = ImmutableCacheWrapper(inner)
    wrapper = conditional(cached)
    writes: dict[str, Callable[[str], Any]] = {
        "put": lambda key: cached.put(key, {"v": 2}),
        "put_many": lambda key: cached.put_many([key], [{"v": 3}]),
        "transform": lambda key: wrapper.transform(key, lambda value: {"v": 4}),
        "delete": cached.delete,
        "delete_many": lambda key: cached.delete_many([key]),
    }
    for key, write in writes.items():
        await inner.put(key, {"v": 1})
        assert await cached.get(key) == {"v": 1}
        await write(key)
        assert await inner.get(key) != {"v": 1}
        assert await cached.get(key) == await inner.get(key)


class WriteDuringRead(BaseWrapper):
    """Runs `during` inside the next `ttl_many`, after the store has answered: a write racing a cache fill."""

    def __init__(self, key_value: AsyncKeyValue) -> None:
        super().__init__(key_value)
        self.during: Any = None

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        found = await super().ttl_many(keys, collection=collection)
        during, self.during = self.during, None
        if during is not None:
            await during()
        return found


async def test_a_read_that_raced_a_write_caches_nothing() -> None:
    inner = MemoryStore()
    racing = WriteDuringRead(inner)
    cached = ImmutableCacheWrapper(racing)
    await inner.put("k", {"v": 1})
    racing.during = lambda: cached.put("k", {"v": 2})
    assert await cached.get("k") == {"v": 1}  # what the read found before the write
    assert await cached.get("k") == {"v": 2}  # not cached: read again


async def test_over_append_only_refusals_keep_the_cache() -> None:
    cached = ImmutableCacheWrapper(AppendOnlyWrapper(MemoryStore()))
    await cached.put("k", {"v": 1})
    assert await cached.get("k") == {"v": 1}
    with pytest.raises(ImmutableEntryError):
        await cached.put("k", {"v": 2})
    assert await cached.get("k") == {"v": 1}


def test_capabilities_are_the_stores() -> None:
    assert ImmutableCacheWrapper(MemoryStore()).capabilities == ALL_SEGMENTS
    paired = ImmutableCacheWrapper(AppendOnlyWrapper(MemoryStore()))
    assert paired.capabilities == Capability.KEYS | Capability.COLLECTIONS | Capability.CULL | Capability.CONDITIONAL


@pytest.mark.parametrize("max_entries", [0, -1, 1.5, True, "10", None])
def test_bad_max_entries(max_entries: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        ImmutableCacheWrapper(MemoryStore(), max_entries=max_entries)


async def test_bad_input_reports_the_input_error() -> None:
    cached = ImmutableCacheWrapper(MemoryStore())
    with pytest.raises(InvalidKeyError):
        await cached.get("")
    with pytest.raises(InvalidKeyError):
        await cached.get_many("ab")
    with pytest.raises(InvalidKeyError):
        await cached.get("k", collection="")
    with pytest.raises(InvalidKeyError):
        await cached.put("k", {"v": 1}, collection="")
    assert await cached.get("k") is None

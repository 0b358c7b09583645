"""ReadOnlyWrapper: reads match the wrapped store, every write is refused (or ignored) and changes nothing.

The contract suite does not run here: it writes, and refusing writes is this wrapper's purpose. Its
reads are checked against the wrapped store instead, on a MemoryStore and a DiskStore.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from key_value.aio.protocols.key_value import (
    AsyncCullProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValue,
)
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.null import NullStore
from key_value.aio.wrappers.read_only import ReadOnlyWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.errors import (
    InvalidArgumentError,
    InvalidKeyError,
    InvalidTTLError,
    ReadOnlyError,
    SerializationError,
)

from ..support.doubles import RecordingStore

SEEDED = {None: ["a", "b"], "one": ["a", "c"], "two": ["z"]}


async def seed(inner: AsyncKeyValue) -> None:
    for collection, keys in SEEDED.items():
        await inner.put_many(keys, [{"key": key, "in": collection} for key in keys], collection=collection)
    await inner.put("expiring", {"v": 1}, collection="one", ttl=60)


async def snapshot(store: AsyncKeyValue) -> dict[str, dict[str, Any]]:
    assert isinstance(store, AsyncEnumerateCollectionsProtocol)
    assert isinstance(store, AsyncEnumerateKeysProtocol)
    found: dict[str, dict[str, Any]] = {}
    for collection in await store.collections():
        keys = sorted(await store.keys(collection))
        found[collection] = dict(zip(keys, await store.get_many(keys, collection=collection), strict=True))
    return found


@pytest.fixture
async def inner(inner_store: AsyncKeyValue) -> AsyncKeyValue:
    await seed(inner_store)
    return inner_store


async def test_reads_match_the_wrapped_store(inner: AsyncKeyValue) -> None:
    assert isinstance(inner, AsyncEnumerateKeysProtocol)
    assert isinstance(inner, AsyncEnumerateCollectionsProtocol)
    wrapper = ReadOnlyWrapper(inner)
    assert isinstance(wrapper, AsyncEnumerateKeysProtocol)
    assert isinstance(wrapper, AsyncEnumerateCollectionsProtocol)
    for collection, keys in SEEDED.items():
        probe = [*keys, "missing"]
        assert await wrapper.get(keys[0], collection=collection) == {"key": keys[0], "in": collection}
        assert await wrapper.get_many(probe, collection=collection) == await inner.get_many(
            probe, collection=collection
        )
        assert await wrapper.ttl_many(probe, collection=collection) == [
            ({"key": key, "in": collection}, None) for key in keys
        ] + [(None, None)]
        assert sorted(await wrapper.keys(collection)) == sorted(await inner.keys(collection))
    value, remaining = await wrapper.ttl("expiring", collection="one")
    assert value == {"v": 1}
    assert remaining is not None
    assert 59 < remaining <= 60
    assert sorted(await wrapper.collections()) == sorted(await inner.collections())
    assert len(await wrapper.collections(limit=1)) == 1


async def attempt_every_write(wrapper: ReadOnlyWrapper) -> list[object]:
    """Every kind of write through `wrapper`; what each returned."""
    return [
        await wrapper.put("a", {"v": "new"}),
        await wrapper.put("new", {"v": "new"}, collection="one", ttl=5),
        await wrapper.put_many(["a", "n"], [{"v": 1}, {"v": 2}], collection="two"),
        await wrapper.delete("a"),
        await wrapper.delete_many(["a", "b"], collection="one"),
    ]


async def test_writes_raise_and_change_nothing(inner: AsyncKeyValue) -> None:
    before = await snapshot(inner)
    wrapper = ReadOnlyWrapper(inner)
    refused: list[object] = []
    with pytest.raises(ReadOnlyError) as raised:
        await wrapper.put("a", {"v": "new"})
    refused.append(raised.value.extra_info)
    with pytest.raises(ReadOnlyError) as raised:
        await wrapper.put("new", {"v": 1}, collection="fresh", ttl=5)
    refused.append(raised.value.extra_info)
    with pytest.raises(ReadOnlyError) as raised:
        await wrapper.put_many(["a", "n"], [{"v": 1}, {"v": 2}], collection="two")
    refused.append(raised.value.extra_info)
    with pytest.raises(ReadOnlyError) as raised:
        await wrapper.delete("a")
    refused.append(raised.value.extra_info)
    with pytest.raises(ReadOnlyError) as raised:
        await wrapper.delete_many(["a", "b"], collection="one")
    refused.append(raised.value.extra_info)
    assert refused == [
        {"operation": "put", "collection": None, "key": "a"},
        {"operation": "put", "collection": "fresh", "key": "new"},
        {"operation": "put_many", "collection": "two", "key": "2 keys"},
        {"operation": "delete", "collection": None, "key": "a"},
        {"operation": "delete_many", "collection": "one", "key": "2 keys"},
    ]
    assert await snapshot(inner) == before


async def test_writes_ignored_when_asked(inner: AsyncKeyValue) -> None:
    before = await snapshot(inner)
    assert await attempt_every_write(ReadOnlyWrapper(inner, raise_on_write=False)) == [None, None, None, False, 0]
    assert await attempt_every_write(ReadOnlyWrapper(inner, False)) == [None, None, None, False, 0]
    assert await snapshot(inner) == before


@pytest.mark.parametrize("raise_on_write", [True, False])
async def test_bad_input_reports_the_input_error(raise_on_write: bool) -> None:
    wrapper = ReadOnlyWrapper(MemoryStore(), raise_on_write=raise_on_write)
    with pytest.raises(InvalidKeyError):
        await wrapper.put("", {"v": 1})
    with pytest.raises(InvalidKeyError):
        await wrapper.put("k", {"v": 1}, collection="")
    with pytest.raises(InvalidTTLError):
        await wrapper.put("k", {"v": 1}, ttl=math.nan)
    with pytest.raises(SerializationError):
        await wrapper.put("k", {"v": {1, 2}})
    with pytest.raises(SerializationError):
        await wrapper.put_many(["k", "l"], [{"v": 1}, {"v": b"raw"}])
    with pytest.raises(InvalidArgumentError):
        await wrapper.put_many(["k", "l"], [{"v": 1}])
    with pytest.raises(InvalidKeyError):
        await wrapper.delete_many("ab")
    with pytest.raises(InvalidKeyError):
        await wrapper.delete(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError):
        await wrapper.get("")


def test_claims_listing_and_conditional_only() -> None:
    wrapper = ReadOnlyWrapper(MemoryStore())
    assert wrapper.capabilities == Capability.KEYS | Capability.COLLECTIONS | Capability.CONDITIONAL
    for refused in (AsyncDestroyStoreProtocol, AsyncDestroyCollectionProtocol, AsyncCullProtocol):
        assert not isinstance(wrapper, refused)
        assert not isinstance(ReadOnlyWrapper(MemoryStore(), raise_on_write=False), refused)
    assert ReadOnlyWrapper(ReadOnlyWrapper(ReadOnlyWrapper(MemoryStore()))).capabilities == wrapper.capabilities
    nothing = ReadOnlyWrapper(ReadOnlyWrapper(ReadOnlyWrapper(NullStore())))
    assert nothing.capabilities == Capability.CONDITIONAL  # NullStore's only segment
    assert not isinstance(nothing, AsyncEnumerateKeysProtocol)


def test_bad_option() -> None:
    with pytest.raises(InvalidArgumentError):
        ReadOnlyWrapper(MemoryStore(), raise_on_write="no")  # type: ignore[arg-type]


async def test_none_passed_through() -> None:
    inner = MemoryStore(default_collection="x")
    await inner.put("a", {"v": 1})
    wrapper = ReadOnlyWrapper(ReadOnlyWrapper(inner))
    assert isinstance(wrapper, AsyncEnumerateKeysProtocol)
    assert await wrapper.get("a") == {"v": 1}
    assert await wrapper.get("a", collection="x") == {"v": 1}
    assert await wrapper.keys() == ["a"]
    assert wrapper.default_collection == "x"


async def test_lifecycle_forwarded() -> None:
    inner = RecordingStore()
    async with ReadOnlyWrapper(ReadOnlyWrapper(inner)) as wrapper:
        assert await wrapper.get("k") is None
    await wrapper.close()
    assert inner.events == ["enter", "exit", "close"]

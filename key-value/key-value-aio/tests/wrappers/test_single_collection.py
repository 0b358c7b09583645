"""SingleCollectionWrapper: the contract holds beside foreign data, separators never make names meet."""

from __future__ import annotations

import pytest

from key_value.aio.protocols.key_value import AsyncEnumerateKeysProtocol, AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.null import NullStore
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.aio.wrappers.single_collection import SingleCollectionWrapper
from key_value.shared.capabilities import DEFAULT_COLLECTION_NAME, Capability
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError
from testing.ids import stable_id

from ..support.contract import ContractTests
from ..support.doubles import Limited, RecordingStore, full

#: Keys in the single collection that this wrapper did not write: never listed, touched or destroyed.
FOREIGN_KEYS = ["loose", "__k", "x%ZZ__k", "c__", "%5f__k", "%41__k"]


async def add_foreign(inner: AsyncKeyValue) -> None:
    for key in FOREIGN_KEYS:
        await inner.put(key, {"foreign": key}, collection="single")
    await inner.put("key", {"foreign": True}, collection="other")


class TestSingleCollection(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> SingleCollectionWrapper:
        await add_foreign(inner_store)
        return SingleCollectionWrapper(inner_store, "single")


class TestStackOfThree(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> SingleCollectionWrapper:
        inner = SingleCollectionWrapper(inner_store, "s1")
        middle = SingleCollectionWrapper(inner, "s2", separator="::")
        return SingleCollectionWrapper(middle, "s3", default_collection="top", separator="→")


async def test_stored_name_is_readable() -> None:
    inner = MemoryStore()
    await SingleCollectionWrapper(inner, "single").put("key", {"v": 1}, collection="users")
    assert await inner.collections() == ["single"]
    assert await inner.keys("single") == ["users__key"]


@pytest.mark.parametrize("separator", ["__", "::", "_", "→", "a"])
async def test_separator_inside_names_never_collides(separator: str) -> None:
    wrapper = full(SingleCollectionWrapper(MemoryStore(), "single", separator=separator))
    pairs = [("a", f"b{separator}c"), (f"a{separator}b", "c"), (f"a{separator}", "b"), ("a", f"{separator}b")]
    pairs += [("a%", "b"), ("a%25", "b"), (f"{separator}", f"{separator}")]
    for number, (collection, key) in enumerate(pairs):
        await wrapper.put(key, {"n": number}, collection=collection)
    for number, (collection, key) in enumerate(pairs):
        assert await wrapper.get(key, collection=collection) == {"n": number}
        assert sorted(await wrapper.keys(collection)) == sorted(k for c, k in pairs if c == collection)
    assert sorted(await wrapper.collections()) == sorted({collection for collection, _ in pairs})


async def test_foreign_keys_survive() -> None:
    inner = MemoryStore()
    await add_foreign(inner)
    wrapper = full(SingleCollectionWrapper(inner, "single"))
    assert await wrapper.collections() == []
    assert await wrapper.keys("c") == []
    assert await wrapper.destroy() is False
    await wrapper.put("k", {"v": 1}, collection="c")
    assert await wrapper.collections() == ["c"]
    assert await wrapper.destroy_collection("c") is True
    await wrapper.put("k", {"v": 1}, collection="d")
    assert await wrapper.destroy() is True
    assert sorted(await inner.keys("single")) == sorted(FOREIGN_KEYS)
    assert await inner.get("key", collection="other") == {"foreign": True}


async def test_own_default_collection() -> None:
    inner = MemoryStore(default_collection="inner-default")
    wrapper = SingleCollectionWrapper(inner, "single", default_collection="mine")
    assert wrapper.default_collection == "mine"
    await wrapper.put("k", {"v": 1})
    assert await wrapper.get("k", collection="mine") == {"v": 1}
    assert await inner.keys("single") == ["mine__k"]
    assert await full(wrapper).keys() == ["k"]


async def test_none_follows_the_inner_default() -> None:
    inner = MemoryStore(default_collection="inner-default")
    wrapper = SingleCollectionWrapper(inner, "single")
    assert wrapper.default_collection == "inner-default"
    await wrapper.put("k", {"v": 1})
    assert await inner.keys("single") == ["inner-default__k"]
    assert await wrapper.get("k", collection="inner-default") == {"v": 1}
    outer = SingleCollectionWrapper(wrapper, "outer")
    assert outer.default_collection == "inner-default"


def test_shared_default_when_the_inner_store_names_none() -> None:
    class Anonymous(BaseWrapper):
        """Hides the wrapped store's default collection name."""

        @property
        def default_collection(self) -> str | None:
            return None

    wrapper = SingleCollectionWrapper(Anonymous(MemoryStore(default_collection="hidden")), "single")
    assert wrapper.default_collection == DEFAULT_COLLECTION_NAME


@pytest.mark.parametrize(
    "options",
    [
        {"single_collection": ""},
        {"single_collection": 1},
        {"default_collection": ""},
        {"separator": ""},
        {"separator": "%"},
        {"separator": "1:"},
        {"separator": "F"},
        {"separator": 1},
    ],
    ids=stable_id,
)
def test_bad_options(options: dict[str, object]) -> None:
    arguments: dict[str, object] = {"single_collection": "single", **options}
    with pytest.raises(InvalidArgumentError):
        SingleCollectionWrapper(MemoryStore(), **arguments)  # type: ignore[arg-type]


async def test_bad_input_raises_before_writing() -> None:
    inner = MemoryStore()
    wrapper = SingleCollectionWrapper(inner, "single")
    with pytest.raises(InvalidKeyError):
        await wrapper.put("", {"v": 1})
    with pytest.raises(InvalidKeyError):
        await wrapper.put("k", {"v": 1}, collection="")
    with pytest.raises(InvalidKeyError):
        await wrapper.put_many(["ok", None], [{"v": 1}, {"v": 2}])  # type: ignore[list-item]
    assert await inner.collections() == []


def test_capabilities_follow_the_inner_store() -> None:
    assert SingleCollectionWrapper(MemoryStore(), "s").capabilities == ALL_SEGMENTS
    nothing = SingleCollectionWrapper(SingleCollectionWrapper(SingleCollectionWrapper(NullStore(), "a"), "b"), "c")
    assert nothing.capabilities == Capability.CONDITIONAL  # NullStore's only segment
    assert not isinstance(nothing, AsyncEnumerateKeysProtocol)
    keys_only = SingleCollectionWrapper(Limited(MemoryStore(), Capability.KEYS), "s")
    assert keys_only.capabilities == ALL_SEGMENTS & ~Capability.CULL & ~Capability.CONDITIONAL
    no_keys = SingleCollectionWrapper(Limited(MemoryStore(), ALL_SEGMENTS & ~Capability.KEYS), "s")
    assert no_keys.capabilities == Capability.CULL  # `Limited` (a BaseWrapper) offers no conditional calls


async def test_lifecycle_forwarded() -> None:
    inner = RecordingStore()
    async with SingleCollectionWrapper(SingleCollectionWrapper(inner, "a"), "b") as wrapper:
        await wrapper.put("k", {"v": 1})
    await wrapper.close()
    assert inner.events == ["enter", "exit", "close"]

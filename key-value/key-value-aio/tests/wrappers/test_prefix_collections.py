"""PrefixCollectionsWrapper: the contract around each inner store; only its own collections, by the caller's names."""

from __future__ import annotations

from typing import Any

import pytest

from key_value.aio.protocols.key_value import (
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValue,
)
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.wrappers.base import BaseWrapper
from key_value.aio.wrappers.prefix_collections import PrefixCollectionsWrapper
from key_value.shared.capabilities import DEFAULT_COLLECTION_NAME, Capability
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError
from testing.ids import stable_id

from ..support.contract import ContractTests


class TestPrefixCollections(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> PrefixCollectionsWrapper:
        return PrefixCollectionsWrapper(inner_store, "app")


class TestPrefixWithUnderscoresAndDefault(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> PrefixCollectionsWrapper:
        return PrefixCollectionsWrapper(inner_store, "my_app%__", default_collection="main")


class TestSharedStore(ContractTests):
    """Another prefix's data and unprefixed data in the same store stay invisible to this wrapper."""

    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> PrefixCollectionsWrapper:
        await PrefixCollectionsWrapper(inner_store, "ap").put("k", {"other": "prefix"}, collection="p__x")
        await inner_store.put("k", {"other": "unprefixed"}, collection="elsewhere")
        return PrefixCollectionsWrapper(inner_store, "app")

    async def test_neighbours_untouched(self, store: PrefixCollectionsWrapper) -> None:
        inner = store.key_value
        await store.put("k", {"v": 1}, collection="p__x")
        assert isinstance(store, AsyncDestroyStoreProtocol)
        assert await store.destroy() is True
        assert await inner.get("k", collection="elsewhere") == {"other": "unprefixed"}
        assert await PrefixCollectionsWrapper(inner, "ap").get("k", collection="p__x") == {"other": "prefix"}


class TestStackOfThree(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> PrefixCollectionsWrapper:
        return PrefixCollectionsWrapper(PrefixCollectionsWrapper(PrefixCollectionsWrapper(inner_store, "a"), "b"), "c")


async def test_stored_names_match_py_key_value_for_plain_prefixes() -> None:
    inner = MemoryStore()
    store = PrefixCollectionsWrapper(inner, "app")
    await store.put("k", {"v": 1}, collection="users")
    await store.put("k", {"v": 2})
    assert sorted(await inner.collections()) == ["app__default_collection", "app__users"]
    assert isinstance(store, AsyncEnumerateCollectionsProtocol)
    assert sorted(await store.collections()) == ["default_collection", "users"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("a", "b__c"), ("a__b", "c")),
        (("a", "_b"), ("a_", "b")),
        (("a", "%5Fb"), ("a_", "b")),
        (("a_", "_b"), ("a", "__b")),
        (("a%5F", "b"), ("a_", "b")),
    ],
    ids=stable_id,
)
async def test_prefix_and_name_never_collide(first: tuple[str, str], second: tuple[str, str]) -> None:
    inner = MemoryStore()
    one = PrefixCollectionsWrapper(inner, first[0])
    two = PrefixCollectionsWrapper(inner, second[0])
    await one.put("k", {"who": "one"}, collection=first[1])
    assert await two.get("k", collection=second[1]) is None
    await two.put("k", {"who": "two"}, collection=second[1])
    assert await one.get("k", collection=first[1]) == {"who": "one"}
    assert isinstance(one, AsyncEnumerateCollectionsProtocol)
    assert isinstance(two, AsyncEnumerateCollectionsProtocol)
    assert await one.collections() == [first[1]]
    assert await two.collections() == [second[1]]
    assert len(await inner.collections()) == 2


async def test_none_maps_to_the_inner_default_prefixed() -> None:
    inner = MemoryStore(default_collection="inner-default")
    store = PrefixCollectionsWrapper(inner, "app")
    assert store.default_collection == "inner-default"
    await store.put("k", {"v": 1})
    assert await inner.get("k", collection="app__inner-default") == {"v": 1}
    assert await inner.get("k") is None  # never the unprefixed default
    assert await store.get("k", collection="inner-default") == {"v": 1}


async def test_none_maps_to_the_default_collection_option_prefixed() -> None:
    inner = MemoryStore(default_collection="inner-default")
    store = PrefixCollectionsWrapper(inner, "app", default_collection="main")
    assert store.default_collection == "main"
    await store.put("k", {"v": 1})
    assert await inner.get("k", collection="app__main") == {"v": 1}
    assert isinstance(store, AsyncEnumerateKeysProtocol)
    assert await store.keys() == ["k"]
    assert await store.keys("main") == ["k"]


async def test_default_when_the_inner_store_names_none() -> None:
    class Anonymous(BaseWrapper):
        """Hides the wrapped store's default collection name."""

        @property
        def default_collection(self) -> str | None:
            return None

    inner = MemoryStore(default_collection="hidden")
    store = PrefixCollectionsWrapper(Anonymous(inner), "app")
    await store.put("k", {"v": 1})
    assert await inner.get("k", collection=f"app__{DEFAULT_COLLECTION_NAME}") == {"v": 1}


async def test_collections_limit_counts_only_own_collections() -> None:
    inner = MemoryStore()
    for index in range(5):
        await inner.put("k", {"v": index}, collection=f"other-{index}")
    store = PrefixCollectionsWrapper(inner, "app")
    for name in ("x", "y", "z"):
        await store.put("k", {"v": 1}, collection=name)
    assert isinstance(store, AsyncEnumerateCollectionsProtocol)
    assert sorted(await store.collections()) == ["x", "y", "z"]
    assert len(await store.collections(limit=2)) == 2
    assert await store.collections(limit=0) == []
    with pytest.raises(InvalidArgumentError):
        await store.collections(limit=-1)


async def test_destroy_needs_collection_listing() -> None:
    class NoListing(BaseWrapper):
        supported_segments = Capability.DESTROY | Capability.DESTROY_COLLECTION | Capability.KEYS

    store = PrefixCollectionsWrapper(NoListing(MemoryStore()), "app")
    assert store.capabilities == Capability.DESTROY_COLLECTION | Capability.KEYS
    assert not isinstance(store, AsyncDestroyStoreProtocol)


async def test_bad_collection_names_raise_even_when_prefixed() -> None:
    store = PrefixCollectionsWrapper(MemoryStore(), "app")
    with pytest.raises(InvalidKeyError):
        await store.put("k", {"v": 1}, collection="")
    with pytest.raises(InvalidKeyError):
        await store.get("k", collection="")
    assert isinstance(store, AsyncDestroyCollectionProtocol)
    with pytest.raises(InvalidKeyError):
        await store.destroy_collection("")
    assert isinstance(store, AsyncEnumerateKeysProtocol)
    with pytest.raises(InvalidKeyError):
        await store.keys("")


@pytest.mark.parametrize(
    "options",
    [{"prefix": ""}, {"prefix": 5}, {"prefix": "\ud800"}, {"prefix": "a", "default_collection": ""}],
    ids=stable_id,
)
def test_bad_options(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError):
        PrefixCollectionsWrapper(MemoryStore(), **options)

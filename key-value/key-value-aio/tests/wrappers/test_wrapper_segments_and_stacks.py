"""Rules the wrappers in `WRAPPERS` keep: each claims only the segments its store has, forwards segments and
lifecycle, and stacks (mixed stacks of three run the whole contract)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from cryptography.fernet import Fernet

from key_value.aio.protocols.capabilities import implemented_segments
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
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.aio.wrappers.compression import CompressionWrapper
from key_value.aio.wrappers.default_value import DefaultValueWrapper
from key_value.aio.wrappers.encryption import FernetEncryptionWrapper
from key_value.aio.wrappers.fallback import FallbackWrapper
from key_value.aio.wrappers.immutable_cache import ImmutableCacheWrapper
from key_value.aio.wrappers.limit_size import LimitSizeWrapper
from key_value.aio.wrappers.logging import LoggingWrapper
from key_value.aio.wrappers.passthrough_cache import PassthroughCacheWrapper
from key_value.aio.wrappers.prefix_collections import PrefixCollectionsWrapper
from key_value.aio.wrappers.retry import RetryWrapper
from key_value.aio.wrappers.statistics import StatisticsWrapper
from key_value.aio.wrappers.timeout import TimeoutWrapper
from key_value.aio.wrappers.ttl_clamp import TTLClampWrapper
from key_value.aio.wrappers.validated_cache import ValidatedCacheWrapper
from key_value.shared.capabilities import Capability

from ..support.contract import ContractTests
from ..support.doubles import RecordingStore

KEY = Fernet.generate_key()

WRAPPERS: dict[str, Callable[[AsyncKeyValue], BaseWrapper]] = {
    "compression": lambda store: CompressionWrapper(store, min_size_to_compress=0),
    "default_value": lambda store: DefaultValueWrapper(store, {"default": True}),
    "encryption": lambda store: FernetEncryptionWrapper(store, fernet=Fernet(KEY)),
    "fallback": lambda store: FallbackWrapper(store, MemoryStore()),
    "limit_size": lambda store: LimitSizeWrapper(store, max_size=10_000),
    "logging": LoggingWrapper,
    "passthrough_cache": lambda store: PassthroughCacheWrapper(store, MemoryStore()),
    "prefix_collections": lambda store: PrefixCollectionsWrapper(store, "p"),
    "retry": RetryWrapper,
    "timeout": TimeoutWrapper,
    "statistics": StatisticsWrapper,
    "ttl_clamp": lambda store: TTLClampWrapper(store, 0.01, 3600),
    "immutable_cache": ImmutableCacheWrapper,
}
# Not here: WriteOnceWrapper and AppendOnlyWrapper never offer destroy or destroy_collection (they delete
# entries), and ValidatedCacheWrapper refuses a store without the conditional segment; their own modules
# check what they offer and run the contract. ValidatedCacheWrapper stacks in the class below.
NAMES = list(WRAPPERS)


def three_deep(name: str, store: AsyncKeyValue) -> BaseWrapper:
    wrap = WRAPPERS[name]
    return wrap(wrap(wrap(store)))


class KeysOnly(BaseWrapper):
    """A store that can list keys and nothing else."""

    supported_segments = Capability.KEYS


@pytest.mark.parametrize("name", NAMES)
def test_nothing_claimed_around_a_store_without_segments(name: str) -> None:
    for wrapper in (WRAPPERS[name](NullStore()), three_deep(name, NullStore())):
        offered = Capability.CONDITIONAL & type(wrapper).supported_segments  # NullStore's only segment
        assert wrapper.capabilities == offered
        assert implemented_segments(wrapper) == offered


@pytest.mark.parametrize("name", NAMES)
def test_everything_claimed_around_a_full_store(name: str) -> None:
    for wrapper in (WRAPPERS[name](MemoryStore()), three_deep(name, MemoryStore())):
        assert wrapper.capabilities == ALL_SEGMENTS  # the conditional segment too: each of these opts in
        assert implemented_segments(wrapper) == ALL_SEGMENTS


@pytest.mark.parametrize("name", NAMES)
def test_only_what_the_store_has_is_claimed(name: str) -> None:
    for wrapper in (WRAPPERS[name](KeysOnly(MemoryStore())), three_deep(name, KeysOnly(MemoryStore()))):
        assert wrapper.capabilities == Capability.KEYS
        assert implemented_segments(wrapper) == Capability.KEYS


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("depth", [1, 3])
async def test_segments_are_forwarded(name: str, depth: int) -> None:
    store: AsyncKeyValue = MemoryStore()
    for _ in range(depth):
        store = WRAPPERS[name](store)
    await store.put("k", {"v": 1}, collection="c")
    await store.put("gone", {"v": 2}, collection="d", ttl=0.05)
    assert isinstance(store, AsyncEnumerateKeysProtocol)
    assert await store.keys("c") == ["k"]
    assert isinstance(store, AsyncEnumerateCollectionsProtocol)
    assert sorted(await store.collections()) == ["c", "d"]
    assert isinstance(store, AsyncCullProtocol)
    await asyncio.sleep(0.1)
    await store.cull()
    assert await store.collections() == ["c"]
    assert isinstance(store, AsyncDestroyCollectionProtocol)
    assert await store.destroy_collection("c") is True
    await store.put("k", {"v": 1}, collection="e")
    assert isinstance(store, AsyncDestroyStoreProtocol)
    assert await store.destroy() is True
    assert await store.collections() == []


@pytest.mark.parametrize("name", NAMES)
async def test_lifecycle_is_forwarded(name: str) -> None:
    inner = RecordingStore()
    wrapper = three_deep(name, inner)
    async with wrapper as entered:
        assert entered is wrapper
        await wrapper.put("k", {"v": 1})
    assert inner.events == ["enter", "exit"]
    await wrapper.close()
    assert inner.events == ["enter", "exit", "close"]


class TestPrefixedCompressedEncrypted(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> PrefixCollectionsWrapper:
        encrypted = FernetEncryptionWrapper(inner_store, fernet=Fernet(KEY))
        return PrefixCollectionsWrapper(CompressionWrapper(encrypted, min_size_to_compress=64), "tenant")


class TestLoggedCacheOverLimitedPrimary(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> LoggingWrapper:
        limited = LimitSizeWrapper(inner_store, max_size=5_000_000)
        return LoggingWrapper(PassthroughCacheWrapper(limited, PrefixCollectionsWrapper(MemoryStore(), "cache")))


class TestValidatedCacheOverCompressedPrefixed(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> ValidatedCacheWrapper:
        return ValidatedCacheWrapper(
            CompressionWrapper(PrefixCollectionsWrapper(inner_store, "p"), min_size_to_compress=64)
        )


class TestFallbackOverPrefixedLogging(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> FallbackWrapper:
        return FallbackWrapper(PrefixCollectionsWrapper(LoggingWrapper(inner_store), "p"), MemoryStore())

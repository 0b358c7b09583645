"""Every wrapper keeps what `collection=None` means: the wrapped store's default collection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.fernet import Fernet

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.wrappers.append_only import AppendOnlyWrapper
from key_value.aio.wrappers.base import BaseWrapper
from key_value.aio.wrappers.compression import CompressionWrapper
from key_value.aio.wrappers.default_value import DefaultValueWrapper
from key_value.aio.wrappers.encryption import FernetEncryptionWrapper
from key_value.aio.wrappers.fallback import FallbackWrapper
from key_value.aio.wrappers.immutable_cache import ImmutableCacheWrapper
from key_value.aio.wrappers.limit_size import LimitSizeWrapper
from key_value.aio.wrappers.logging import LoggingWrapper
from key_value.aio.wrappers.passthrough_cache import PassthroughCacheWrapper
from key_value.aio.wrappers.prefix_collections import PrefixCollectionsWrapper
from key_value.aio.wrappers.prefix_keys import PrefixKeysWrapper
from key_value.aio.wrappers.read_only import ReadOnlyWrapper
from key_value.aio.wrappers.retry import RetryWrapper
from key_value.aio.wrappers.routing import CollectionRoutingWrapper, RoutingWrapper
from key_value.aio.wrappers.single_collection import SingleCollectionWrapper
from key_value.aio.wrappers.statistics import StatisticsWrapper
from key_value.aio.wrappers.timeout import TimeoutWrapper
from key_value.aio.wrappers.ttl_clamp import TTLClampWrapper
from key_value.aio.wrappers.validated_cache import ValidatedCacheWrapper
from key_value.aio.wrappers.write_once import WriteOnceWrapper

KEY = Fernet.generate_key()
VALUE: dict[str, Any] = {"v": 1, "text": "x" * 64}


@dataclass(frozen=True)
class Case:
    """How to build the wrapper, where its entry for key "a" lands in the inner store, and what it does there."""

    wrap: Callable[[AsyncKeyValue], BaseWrapper]
    stored: tuple[str, str] = ("x", "a")
    transforms: bool = False
    writes: bool = True


CASES: dict[str, Case] = {
    "compression": Case(lambda store: CompressionWrapper(store, min_size_to_compress=0), transforms=True),
    "default_value": Case(lambda store: DefaultValueWrapper(store, {"default": True})),
    "encryption": Case(lambda store: FernetEncryptionWrapper(store, fernet=Fernet(KEY)), transforms=True),
    "fallback": Case(lambda store: FallbackWrapper(store, MemoryStore())),
    "limit_size": Case(lambda store: LimitSizeWrapper(store, max_size=10_000)),
    "logging": Case(LoggingWrapper),
    "passthrough_cache": Case(lambda store: PassthroughCacheWrapper(store, MemoryStore())),
    "prefix_collections": Case(lambda store: PrefixCollectionsWrapper(store, "p"), stored=("p__x", "a")),
    "prefix_keys": Case(lambda store: PrefixKeysWrapper(store, "p"), stored=("x", "p__a")),
    "read_only": Case(ReadOnlyWrapper, writes=False),
    "retry": Case(RetryWrapper),
    "routing": Case(lambda store: RoutingWrapper(lambda _: None, store)),
    "collection_routing": Case(lambda store: CollectionRoutingWrapper({"other": MemoryStore()}, store)),
    "single_collection": Case(lambda store: SingleCollectionWrapper(store, "s"), stored=("s", "x__a")),
    "statistics": Case(StatisticsWrapper),
    "timeout": Case(TimeoutWrapper),
    "ttl_clamp": Case(lambda store: TTLClampWrapper(store, 1, 3600)),
    "write_once": Case(WriteOnceWrapper),
    "append_only": Case(AppendOnlyWrapper),
    "validated_cache": Case(ValidatedCacheWrapper),
    "immutable_cache": Case(ImmutableCacheWrapper),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_none_means_the_inner_default(name: str) -> None:
    case = CASES[name]
    inner = MemoryStore(default_collection="x")
    wrapper = case.wrap(inner)
    assert wrapper.default_collection == "x"
    if case.writes:
        await wrapper.put("a", VALUE)
    else:
        await inner.put("a", VALUE, collection="x")
    collection, key = case.stored
    raw = await inner.get(key, collection=collection)
    assert raw is not None
    assert (raw != VALUE) if case.transforms else (raw == VALUE)
    assert await wrapper.get("a") == VALUE
    assert await wrapper.get("a", collection="x") == VALUE

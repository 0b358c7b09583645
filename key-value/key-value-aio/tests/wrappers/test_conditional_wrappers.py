"""What each wrapper means by a conditional call (the contract itself runs through each wrapper's own suite).

Names are rewritten where the wrapper renames entries, values transformed where it stores them in
another form (the ETag stays the stored entry's), writes refused, clamped or limited as plain writes
are, counted and logged, and a cache in front is invalidated by every conditional write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.fernet import Fernet

from key_value.aio.conditional import ABSENT, DELETE_CURRENT, KEEP_CURRENT, NOT_RETRIEVED
from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.wrappers.compression import CompressionWrapper
from key_value.aio.wrappers.default_value import DefaultValueWrapper
from key_value.aio.wrappers.encryption import FernetEncryptionWrapper
from key_value.aio.wrappers.fallback import FallbackWrapper
from key_value.aio.wrappers.limit_size import LimitSizeWrapper
from key_value.aio.wrappers.logging import LoggingWrapper
from key_value.aio.wrappers.passthrough_cache import PassthroughCacheWrapper
from key_value.aio.wrappers.prefix_collections import PrefixCollectionsWrapper
from key_value.aio.wrappers.prefix_keys import PrefixKeysWrapper
from key_value.aio.wrappers.read_only import ReadOnlyWrapper
from key_value.aio.wrappers.routing import CollectionRoutingWrapper
from key_value.aio.wrappers.single_collection import SingleCollectionWrapper
from key_value.aio.wrappers.statistics import StatisticsWrapper
from key_value.aio.wrappers.ttl_clamp import TTLClampWrapper
from key_value.shared.errors import (
    DecryptionError,
    EntryTooLargeError,
    ReadOnlyError,
    StoreConnectionError,
)

from ..support.conditional import conditional
from ..support.doubles import DownStore

BIG = {"text": "x" * 5000}


def _prefix_keys(store: MemoryStore) -> AsyncKeyValue:
    return PrefixKeysWrapper(store, "app")


def _prefix_collections(store: MemoryStore) -> AsyncKeyValue:
    return PrefixCollectionsWrapper(store, "app")


def _single_collection(store: MemoryStore) -> AsyncKeyValue:
    return SingleCollectionWrapper(store, "all")


#: A renaming wrapper, and where it keeps ("c", "k") in the wrapped store.
RENAMING: dict[str, tuple[Callable[[MemoryStore], AsyncKeyValue], str, str]] = {
    "prefix_keys": (_prefix_keys, "app__k", "c"),
    "prefix_collections": (_prefix_collections, "k", "app__c"),
    "single_collection": (_single_collection, "c__k", "all"),
}


@pytest.mark.parametrize("name", list(RENAMING))
async def test_renaming_wrappers_write_under_their_names(name: str) -> None:
    wrap, inner_key, inner_collection = RENAMING[name]
    inner = MemoryStore()
    wrapper = conditional(wrap(inner))
    written = await wrapper.put_if("k", {"v": 1}, etag=ABSENT, collection="c")
    assert written.satisfied
    stored = await inner.get_entry(inner_key, collection=inner_collection)
    assert stored is not None
    assert (stored.value, stored.etag) == ({"v": 1}, written.resulting_etag)
    assert await inner.get("k", collection="c") is None
    entry = await wrapper.get_entry("k", collection="c")
    assert entry is not None
    assert entry.etag == stored.etag
    assert (await wrapper.delete_if("k", etag=entry.etag, collection="c")).satisfied
    assert await inner.get_entry(inner_key, collection=inner_collection) is None


async def test_collection_routing_sends_each_call_to_its_store() -> None:
    routed, default = MemoryStore(), MemoryStore()
    wrapper = conditional(CollectionRoutingWrapper({"special": routed}, default))
    assert await wrapper.put_if_absent("k", {"to": "special"}, collection="special")
    assert await wrapper.put_if_absent("k", {"to": "default"}, collection="other")
    assert await routed.get("k", collection="special") == {"to": "special"}
    assert await default.get("k", collection="other") == {"to": "default"}
    assert await routed.get("k", collection="other") is None


async def test_compression_stores_envelopes_and_returns_values() -> None:
    inner = MemoryStore()
    wrapper = conditional(CompressionWrapper(inner, min_size_to_compress=100))
    written = await wrapper.put_if("k", BIG, etag=ABSENT)
    assert written.value == BIG
    stored = await inner.get_entry("k")
    assert stored is not None
    assert "__compressed_data__" in stored.value
    assert stored.etag == written.resulting_etag
    entry = await wrapper.get_entry("k")
    assert entry is not None
    assert entry.value == BIG
    lost = await wrapper.put_if("k", {"v": 2}, etag=ABSENT)
    assert not lost.satisfied
    assert lost.value == BIG  # the current value, decompressed
    assert (await wrapper.transform("k", lambda value: {"n": len((value or {})["text"])})).value == {"n": 5000}
    assert await inner.get("k") == {"n": 5000}  # small: stored as it is


async def test_encryption_encrypts_conditional_writes_and_raises_on_foreign_values() -> None:
    inner = MemoryStore()
    wrapper = conditional(
        FernetEncryptionWrapper(inner, fernet=Fernet(Fernet.generate_key()), raise_on_decryption_error=False)
    )
    assert await wrapper.put_if_absent("k", {"secret": 1})
    stored = await inner.get("k")
    assert stored is not None
    assert "secret" not in str(stored)
    entry = await wrapper.get_entry("k")
    assert entry is not None
    assert entry.value == {"secret": 1}
    result = await wrapper.transform("k", lambda value: {"secret": (value or {})["secret"] + 1})
    assert result.value == {"secret": 2}
    other_key = FernetEncryptionWrapper(inner, fernet=Fernet(Fernet.generate_key()), raise_on_decryption_error=False)
    other = conditional(other_key)
    assert await other_key.get("k") is None  # plain reads may read it as missing
    with pytest.raises(DecryptionError):
        await other.get_entry("k")  # conditional calls never compare against a value they cannot read
    unchanged = await inner.get_entry("k")
    with pytest.raises(DecryptionError):
        await other.put_if("k", {"secret": 0}, etag=ABSENT)  # unsatisfied; its result holds the foreign value
    assert await inner.get_entry("k") == unchanged


async def test_read_only_refuses_or_ignores_conditional_writes() -> None:
    inner = MemoryStore()
    await inner.put("k", {"v": 1})
    current = await inner.get_entry("k")
    assert current is not None
    refusing = conditional(ReadOnlyWrapper(inner))
    assert await refusing.get_entry("k") == current
    with pytest.raises(ReadOnlyError):
        await refusing.put_if("k", {"v": 2}, etag=current.etag)
    with pytest.raises(ReadOnlyError):
        await refusing.delete_if("k", etag=current.etag)
    with pytest.raises(ReadOnlyError):
        await refusing.transform("k", lambda _: {"v": 3})
    ignoring = conditional(ReadOnlyWrapper(inner, raise_on_write=False))
    ignored = await ignoring.put_if("k", {"v": 2}, etag=current.etag)
    assert (ignored.satisfied, ignored.actual_etag, ignored.resulting_etag, ignored.value) == (
        False,
        current.etag,
        current.etag,
        {"v": 1},
    )
    absent = await ignoring.delete_if("missing", etag=ABSENT, retrieve=False)
    assert (absent.satisfied, absent.actual_etag, absent.value) == (False, ABSENT, NOT_RETRIEVED)
    assert await inner.get_entry("k") == current


async def test_ttl_clamp_clamps_conditional_writes_but_not_a_keep_without_ttl() -> None:
    inner = MemoryStore()
    wrapper = conditional(TTLClampWrapper(inner, min_ttl=10, max_ttl=100, missing_ttl=50))
    await wrapper.put_if("k", {"v": 1}, etag=ABSENT, ttl=1000)
    _, remaining = await inner.ttl("k")
    assert remaining is not None
    assert 99 < remaining <= 100
    first = await inner.get_entry("k")
    assert first is not None
    await wrapper.put_if("k", {"v": 2}, etag=first.etag)
    _, remaining = await inner.ttl("k")
    assert remaining is not None
    assert 49 < remaining <= 50  # no TTL given: missing_ttl
    entry = await wrapper.get_entry("k")
    assert entry is not None
    shorter = await wrapper.put_if("k", {"v": 3}, etag=entry.etag, ttl=20)
    kept = await wrapper.put_if("k", KEEP_CURRENT, etag=shorter.resulting_etag)
    assert (kept.satisfied, kept.resulting_etag) == (True, shorter.resulting_etag)
    _, remaining = await inner.ttl("k")
    assert remaining is not None
    assert 19 < remaining <= 20  # no TTL: nothing written, not a refresh to missing_ttl
    entry = await inner.get_entry("k")
    assert entry is not None
    refreshed = await wrapper.put_if("k", KEEP_CURRENT, etag=entry.etag, ttl=1)
    assert refreshed.satisfied
    _, remaining = await inner.ttl("k")
    assert remaining is not None
    assert 9 < remaining <= 10  # a refresh is clamped to min_ttl


async def test_limit_size_refuses_conditional_writes_like_puts() -> None:
    inner = MemoryStore()
    await inner.put("k", {"v": 1})
    entry = await inner.get_entry("k")
    assert entry is not None
    raising = conditional(LimitSizeWrapper(inner, max_size=100))
    with pytest.raises(EntryTooLargeError):
        await raising.put_if("k", BIG, etag=entry.etag)
    assert await inner.get_entry("k") == entry
    quiet = conditional(LimitSizeWrapper(inner, max_size=100, raise_on_too_large=False))
    stale = await quiet.put_if("k", BIG, etag="stale")
    assert not stale.satisfied
    assert await inner.get("k") == {"v": 1}
    refused = await quiet.put_if("k", BIG, etag=entry.etag)
    assert (refused.satisfied, refused.resulting_etag, refused.value) == (True, ABSENT, None)  # a put that deletes
    assert await inner.get("k") is None


async def test_default_value_transform_starts_from_the_default() -> None:
    inner = MemoryStore()
    wrapper = conditional(DefaultValueWrapper(inner, {"n": 0}))
    assert await wrapper.get_entry("counter") is None  # the default is not an entry: it has no ETag
    for _ in range(3):
        await wrapper.transform("counter", lambda value: {"n": (value or {})["n"] + 1})
    assert await inner.get("counter") == {"n": 3}


async def test_statistics_count_conditional_calls_and_conflicts() -> None:
    stats = StatisticsWrapper(MemoryStore())
    wrapper = conditional(stats)
    assert await wrapper.get_entry("k", collection="c") is None
    assert await wrapper.put_if_absent("k", {"v": 1}, collection="c")
    assert not await wrapper.put_if_absent("k", {"v": 2}, collection="c")
    await wrapper.delete_if("k", etag="stale", collection="c")
    await wrapper.transform("k", lambda _: DELETE_CURRENT, collection="c")
    counters = stats.statistics.get_collection("c").conditional
    # get_entry x2 (ours, and transform's read), put_if x2, delete_if x1, transform's put_if x1
    assert (counters.count, counters.entries_found, counters.entries_missing) == (6, 1, 1)
    assert (counters.satisfied, counters.conflicts) == (2, 2)
    assert stats.statistics.get_collection("c").put.count == 0  # plain counters are left alone


async def test_logging_logs_conditional_calls(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="key_value.logging")
    wrapper = conditional(LoggingWrapper(MemoryStore(), structured_logs=True))
    await wrapper.put_if("k", {"v": 1}, etag=ABSENT, collection="c")
    await wrapper.delete_if("k", etag="stale", collection="c")
    await wrapper.get_entry("k", collection="c")
    lines = [record.getMessage() for record in caplog.records]
    assert any('"action": "PUT_IF"' in line and '"satisfied": true' in line for line in lines)
    assert any('"action": "DELETE_IF"' in line and '"satisfied": false' in line for line in lines)
    assert any('"action": "GET_ENTRY"' in line and '"hit": true' in line for line in lines)


async def test_passthrough_cache_is_invalidated_by_conditional_writes() -> None:
    primary, cache = MemoryStore(), MemoryStore()
    cached = PassthroughCacheWrapper(primary, cache)
    wrapper = conditional(cached)
    await cached.put("k", {"v": 1})
    assert await cached.get("k") == {"v": 1}  # now cached
    assert await cache.keys() != []
    entry = await wrapper.get_entry("k")
    assert entry == await primary.get_entry("k")
    assert (await wrapper.put_if("k", {"v": 2}, etag=entry.etag if entry else ABSENT)).satisfied
    assert await cached.get("k") == {"v": 2}
    await wrapper.transform("k", lambda _: DELETE_CURRENT)
    assert await cached.get("k") is None


async def test_fallback_sends_conditional_calls_to_the_primary_only() -> None:
    primary, fallback = MemoryStore(), MemoryStore()
    assert await conditional(FallbackWrapper(primary, fallback, write_to_fallback=True)).put_if_absent("k", {"v": 1})
    assert await primary.get("k") == {"v": 1}
    assert await fallback.get("k") is None
    assert not hasattr(FallbackWrapper(DownStore(), fallback), "put_if")  # a primary without conditional calls
    await fallback.put("k", {"from": "fallback"})
    with pytest.raises(StoreConnectionError):  # an ETag of the fallback's would mean nothing to the primary
        await conditional(FallbackWrapper(DownStoreWithConditional(), fallback)).get_entry("k")


class DownStoreWithConditional(MemoryStore):
    """A conditional store whose backend is down."""

    async def get_entry(self, key: str, *, collection: str | None = None) -> Any:
        raise StoreConnectionError("backend unreachable (test double)")

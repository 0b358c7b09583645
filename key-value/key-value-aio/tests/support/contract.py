"""The contract every store keeps: subclass `ContractTests` and provide a `store` fixture.

Tests for optional segments (keys, collections, destroy, destroy_collection, cull) run when the
store implements the segment; everything else runs on every store.
"""

from __future__ import annotations

import asyncio
import datetime
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
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError, InvalidTTLError, SerializationError
from testing.ids import stable_id

from .conditional import ConditionalContractTests
from .timing import monotonic, sleep

NESTED: dict[str, Any] = {
    "str": "text",
    "int": 42,
    "big": 2**70,
    "float": 1.25,
    "bool": True,
    "none": None,
    "list": [1, "two", 3.0, [4], {"five": 5}],
    "dict": {"a": {"b": {"c": [None, False]}}},
}
UNICODE: dict[str, Any] = {"greeting": "héllo wörld ✓ 你好 🙂", "emoji🙂": "key with emoji", "nul": "a\x00b"}

#: Keys that are hard for backends that map names onto paths, tokens or patterns.
AWKWARD_NAMES = [
    "plain",
    "UPPER",
    "upper",
    "with space",
    "a/b",
    "/leading",
    "..",
    ".",
    "../../etc/passwd",
    "a:b",
    "a::b",
    "a__b",
    "a.b",
    "https://example.com/path?q=1&r=2#frag",
    "per%2Fcent",
    "*?[]{}",
    "tab\tnew\nline",
    "nul\x00byte",
    "ünïcödé-名前-🙂",
    "k" * 1000,
    "é" * 600,
]

#: (collection, key) pairs that a naive "collection::key" encoding would map onto one slot.
COLLIDING_PAIRS = [
    (("a", "b::c"), ("a::b", "c")),
    (("a", "b/c"), ("a/b", "c")),
    (("a", "b__c"), ("a__b", "c")),
    (("a", "b.c"), ("a.b", "c")),
    (("a", "b:c"), ("a:b", "c")),
    (("a", "b"), ("a:", "b")),
]

NOT_JSON: list[Any] = [
    {"when": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)},
    {"set": {1, 2}},
    {"bytes": b"raw"},
    {"object": object()},
    {"nan": math.nan},
    {"inf": math.inf},
    {"nested": {"deep": [1, {2, 3}]}},
    {"int_keys": {1: "one"}},
    {"tuple": (1, 2)},
]

BAD_TTLS: list[Any] = [True, False, 0, 0.0, -1, -0.5, math.nan, math.inf, -math.inf, "10", b"10", [1]]


def assert_remaining(remaining: float | None, ttl: float, started: float) -> None:
    """`remaining` is within 50 ms of the truth: `ttl` minus the time since the put began (`started`)."""
    assert remaining is not None
    elapsed = monotonic() - started
    assert ttl - elapsed - 0.05 <= remaining <= ttl


class ContractTests(ConditionalContractTests):
    """Behaviour every `AsyncKeyValue` store keeps (the conditional segment's in `ConditionalContractTests`)."""

    #: Substrings that this store's layout cannot hold in a collection name (py-key-value's layouts
    #: join names with `::`): such a collection is refused with `InvalidArgumentError`, writing nothing.
    refused_in_collections: tuple[str, ...] = ()
    #: Keys `test_keys_complete_and_limited` writes and lists: more than ten of S3's 1,000-key listing
    #: pages, several of Redis's SCAN batches and of DynamoDB's 1 MB query pages.
    enumeration_count: int = 10_050
    #: Tasks `test_concurrent_use_loses_nothing` runs at once where it runs tasks (with threads: always 8).
    concurrent_workers: int = 100

    def refuses(self, collection: str) -> bool:
        return any(part in collection for part in self.refused_in_collections)

    async def check_refused(self, store: AsyncKeyValue, key: str, collection: str) -> None:
        with pytest.raises(InvalidArgumentError):
            await store.put(key, {"refused": True}, collection=collection)
        if isinstance(store, AsyncEnumerateCollectionsProtocol):
            assert collection not in await store.collections()

    # -- round trips ------------------------------------------------------------------------------

    @pytest.mark.parametrize("value", [NESTED, UNICODE, {}], ids=["nested", "unicode", "empty"])
    async def test_round_trip(self, store: AsyncKeyValue, value: dict[str, Any]) -> None:
        await store.put("key", value, collection="round")
        assert await store.get("key", collection="round") == value

    async def test_large_value(self, store: AsyncKeyValue) -> None:
        value = {"blob": "x" * 1_000_000, "list": list(range(10_000))}
        await store.put("big", value)
        assert await store.get("big") == value

    async def test_missing(self, store: AsyncKeyValue) -> None:
        assert await store.get("missing") is None
        assert await store.ttl("missing") == (None, None)
        assert await store.get_many(["missing", "also"]) == [None, None]
        assert await store.ttl_many(["missing"]) == [(None, None)]

    async def test_get_returns_copy(self, store: AsyncKeyValue) -> None:
        original: dict[str, Any] = {"list": [1, 2], "dict": {"a": 1}}
        await store.put("key", original)
        original["list"].append(3)
        first = await store.get("key")
        assert first is not None
        assert first == {"list": [1, 2], "dict": {"a": 1}}
        first["list"].append(99)
        first["dict"]["b"] = 2
        many = await store.get_many(["key", "key"])
        assert many == [{"list": [1, 2], "dict": {"a": 1}}] * 2
        assert many[0] is not many[1]
        first_copy, second_copy = many
        assert first_copy is not None
        assert second_copy is not None
        assert first_copy["list"] is not second_copy["list"]
        assert await store.get("key") == {"list": [1, 2], "dict": {"a": 1}}
        await store.put_many(["bulk"], [original])
        original["dict"]["c"] = 3
        assert await store.get("bulk") == {"list": [1, 2, 3], "dict": {"a": 1}}

    async def test_overwrite(self, store: AsyncKeyValue) -> None:
        await store.put("key", {"v": 1})
        await store.put("key", {"v": 2})
        assert await store.get("key") == {"v": 2}

    async def test_mapping_value_accepted(self, store: AsyncKeyValue) -> None:
        from types import MappingProxyType  # noqa: PLC0415

        await store.put("key", MappingProxyType({"v": 1}))
        assert await store.get("key") == {"v": 1}

    # -- collections -----------------------------------------------------------------------------

    async def test_collections_isolated(self, store: AsyncKeyValue) -> None:
        await store.put("key", {"c": 1}, collection="one")
        await store.put("key", {"c": 2}, collection="two")
        assert await store.get("key", collection="one") == {"c": 1}
        assert await store.get("key", collection="two") == {"c": 2}
        assert await store.get("key") is None

    async def test_none_means_default_collection(self, store: AsyncKeyValue) -> None:
        default = getattr(store, "default_collection", None)
        await store.put("key", {"v": 1})
        if isinstance(default, str):
            assert await store.get("key", collection=default) == {"v": 1}
        assert await store.get("key", collection=None) == {"v": 1}

    @pytest.mark.parametrize(("first", "second"), COLLIDING_PAIRS)
    async def test_no_collisions(self, store: AsyncKeyValue, first: tuple[str, str], second: tuple[str, str]) -> None:
        if self.refuses(second[0]):
            await store.put(first[1], {"who": "first"}, collection=first[0])
            await self.check_refused(store, second[1], second[0])
            assert await store.get(first[1], collection=first[0]) == {"who": "first"}
            return
        await store.put(first[1], {"who": "first"}, collection=first[0])
        assert await store.get(second[1], collection=second[0]) is None
        await store.put(second[1], {"who": "second"}, collection=second[0])
        assert await store.get(first[1], collection=first[0]) == {"who": "first"}
        assert await store.get(second[1], collection=second[0]) == {"who": "second"}

    @pytest.mark.parametrize("name", AWKWARD_NAMES, ids=range(len(AWKWARD_NAMES)))
    async def test_awkward_names(self, store: AsyncKeyValue, name: str) -> None:
        if self.refuses(name):
            await self.check_refused(store, name, name)
            await store.put(name, {"name": name}, collection="plain")
            assert await store.get(name, collection="plain") == {"name": name}
            return
        await store.put(name, {"name": name}, collection=name)
        await store.put("other", {"name": "other"}, collection=name)
        assert await store.get(name, collection=name) == {"name": name}
        assert await store.ttl(name, collection=name) == ({"name": name}, None)
        if isinstance(store, AsyncEnumerateKeysProtocol):
            assert sorted(await store.keys(name)) == sorted([name, "other"])
        if isinstance(store, AsyncEnumerateCollectionsProtocol):
            assert name in await store.collections()
        assert await store.delete(name, collection=name) is True
        assert await store.get(name, collection=name) is None

    async def test_case_sensitive_names(self, store: AsyncKeyValue) -> None:
        await store.put("Key", {"v": "upper"}, collection="Coll")
        await store.put("key", {"v": "lower"}, collection="coll")
        assert await store.get("Key", collection="Coll") == {"v": "upper"}
        assert await store.get("key", collection="coll") == {"v": "lower"}
        assert await store.get("key", collection="Coll") is None

    # -- bulk --------------------------------------------------------------------------------------

    async def test_bulk_round_trip(self, store: AsyncKeyValue) -> None:
        keys = [f"k{i}" for i in range(100)]
        await store.put_many(keys, [{"i": i} for i in range(100)], collection="bulk")
        assert await store.get_many(keys, collection="bulk") == [{"i": i} for i in range(100)]
        assert await store.get_many(["k1", "nope", "k2"], collection="bulk") == [{"i": 1}, None, {"i": 2}]
        assert await store.get_many([], collection="bulk") == []
        assert await store.ttl_many([], collection="bulk") == []

    async def test_put_many_duplicates_last_wins(self, store: AsyncKeyValue) -> None:
        await store.put_many(["a", "b", "a"], [{"v": 1}, {"v": 2}, {"v": 3}])
        assert await store.get_many(["a", "b"]) == [{"v": 3}, {"v": 2}]

    async def test_put_many_length_mismatch(self, store: AsyncKeyValue) -> None:
        with pytest.raises(InvalidArgumentError):
            await store.put_many(["a", "b"], [{"v": 1}])
        with pytest.raises(InvalidArgumentError):
            await store.put_many(["a"], [{"v": 1}, {"v": 2}])
        assert await store.get_many(["a", "b"]) == [None, None]

    async def test_bare_string_keys_refused(self, store: AsyncKeyValue) -> None:
        with pytest.raises(InvalidKeyError):
            await store.get_many("ab")
        with pytest.raises(InvalidKeyError):
            await store.delete_many("ab")

    async def test_delete(self, store: AsyncKeyValue) -> None:
        await store.put("key", {"v": 1})
        assert await store.delete("key") is True
        assert await store.delete("key") is False
        assert await store.get("key") is None

    async def test_delete_many(self, store: AsyncKeyValue) -> None:
        await store.put_many(["a", "b", "c"], [{"v": 1}, {"v": 2}, {"v": 3}])
        assert await store.delete_many(["a", "b", "a", "missing"]) == 2
        assert await store.delete_many(["a", "b"]) == 0
        assert await store.delete_many([]) == 0
        assert await store.get_many(["a", "b", "c"]) == [None, None, {"v": 3}]

    # -- TTL ---------------------------------------------------------------------------------------

    async def test_ttl_reported(self, store: AsyncKeyValue) -> None:
        started = monotonic()
        await store.put("key", {"v": 1}, ttl=10)
        value, remaining = await store.ttl("key")
        assert value == {"v": 1}
        assert_remaining(remaining, 10, started)
        await store.put("key2", {"v": 2})
        assert await store.ttl("key2") == ({"v": 2}, None)

    async def test_fractional_ttl_not_truncated(self, store: AsyncKeyValue) -> None:
        started = monotonic()
        await store.put("key", {"v": 1}, ttl=1.5)
        _, remaining = await store.ttl("key")
        assert_remaining(remaining, 1.5, started)

    async def test_short_ttl_expires(self, store: AsyncKeyValue) -> None:
        await store.put("long", {"v": 2}, ttl=60)
        started = monotonic()
        await store.put("short", {"v": 1}, ttl=0.2)
        await store.put_many(["m1", "m2"], [{"v": 1}, {"v": 2}], ttl=0.2)
        present = await store.get_many(["short", "m1", "m2"])
        if monotonic() - started < 0.15:  # only meaningful when the machine was not too slow to look
            assert present == [{"v": 1}, {"v": 1}, {"v": 2}]
        await sleep(max(0.0, started + 0.4 - monotonic()))
        assert await store.get("short") is None
        assert await store.ttl("short") == (None, None)
        assert await store.get_many(["m1", "m2", "long"]) == [None, None, {"v": 2}]
        assert await store.delete("short") is False
        if isinstance(store, AsyncEnumerateKeysProtocol):
            assert await store.keys() == ["long"]

    async def test_put_without_ttl_clears_ttl(self, store: AsyncKeyValue) -> None:
        await store.put("key", {"v": 1}, ttl=0.2)
        await store.put("key", {"v": 2})
        assert await store.ttl("key") == ({"v": 2}, None)
        await sleep(0.3)
        assert await store.get("key") == {"v": 2}

    async def test_ttl_many(self, store: AsyncKeyValue) -> None:
        started = monotonic()
        await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}], ttl=30)
        results = await store.ttl_many(["a", "missing", "b"])
        assert [value for value, _ in results] == [{"v": 1}, None, {"v": 2}]
        assert results[1][1] is None
        assert_remaining(results[0][1], 30, started)
        assert_remaining(results[2][1], 30, started)

    @pytest.mark.parametrize("ttl", BAD_TTLS, ids=stable_id)
    async def test_bad_ttl(self, store: AsyncKeyValue, ttl: Any) -> None:
        with pytest.raises(InvalidTTLError):
            await store.put("key", {"v": 1}, ttl=ttl)
        with pytest.raises(InvalidTTLError):
            await store.put_many(["key"], [{"v": 1}], ttl=ttl)
        assert await store.get("key") is None

    # -- bad input ---------------------------------------------------------------------------------

    @pytest.mark.parametrize("key", ["", 1, None, b"bytes", ("tuple",), "\ud800"], ids=stable_id)
    async def test_bad_key(self, store: AsyncKeyValue, key: Any) -> None:
        with pytest.raises(InvalidKeyError):
            await store.put(key, {"v": 1})
        with pytest.raises(InvalidKeyError):
            await store.get(key)
        with pytest.raises(InvalidKeyError):
            await store.delete(key)
        with pytest.raises(InvalidKeyError):
            await store.put_many(["good", key], [{"v": 1}, {"v": 2}])
        assert await store.get("good") is None

    @pytest.mark.parametrize("collection", ["", 1, b"bytes"], ids=stable_id)
    async def test_bad_collection(self, store: AsyncKeyValue, collection: Any) -> None:
        with pytest.raises(InvalidKeyError):
            await store.put("key", {"v": 1}, collection=collection)
        with pytest.raises(InvalidKeyError):
            await store.get("key", collection=collection)
        with pytest.raises(InvalidKeyError):
            await store.get_many(["key"], collection=collection)

    @pytest.mark.parametrize("value", NOT_JSON, ids=lambda v: next(iter(v)))
    async def test_not_json_refused(self, store: AsyncKeyValue, value: dict[str, Any]) -> None:
        with pytest.raises(SerializationError):
            await store.put("key", value)
        with pytest.raises(SerializationError):
            await store.put_many(["ok", "key"], [{"v": 1}, value])
        assert await store.get_many(["ok", "key"]) == [None, None]

    @pytest.mark.parametrize("value", [None, [("a", 1)], "text", 1], ids=stable_id)
    async def test_non_mapping_refused(self, store: AsyncKeyValue, value: Any) -> None:
        with pytest.raises(SerializationError):
            await store.put("key", value)
        assert await store.get("key") is None

    # -- enumeration -------------------------------------------------------------------------------

    async def test_keys_complete_and_limited(self, store: AsyncKeyValue) -> None:
        if not isinstance(store, AsyncEnumerateKeysProtocol):
            pytest.skip("store does not enumerate keys")
        count = self.enumeration_count
        keys = [f"key-{i}" for i in range(count)]
        for start in range(0, count, 1000):
            chunk = keys[start : start + 1000]
            await store.put_many(chunk, [{"i": 0}] * len(chunk), collection="many")
        await store.put("elsewhere", {"i": 0}, collection="other")
        listed = await store.keys("many")
        assert len(listed) == count
        assert set(listed) == set(keys)
        limited = await store.keys("many", limit=7)
        assert len(limited) == 7
        assert set(limited) <= set(keys)
        assert await store.keys("many", limit=0) == []
        assert await store.keys("empty") == []
        with pytest.raises(InvalidArgumentError):
            await store.keys("many", limit=-1)

    async def test_collections_listed(self, store: AsyncKeyValue) -> None:
        if not isinstance(store, AsyncEnumerateCollectionsProtocol):
            pytest.skip("store does not enumerate collections")
        names = [f"coll-{i}" for i in range(25)]
        for name in names:
            await store.put("key", {"v": 1}, collection=name)
        assert set(await store.collections()) == set(names)
        assert len(await store.collections(limit=3)) == 3
        assert await store.collections(limit=0) == []

    async def test_reads_never_create_collections(self, store: AsyncKeyValue) -> None:
        if not isinstance(store, AsyncEnumerateCollectionsProtocol):
            pytest.skip("store does not enumerate collections")
        await store.get("key", collection="ghost")
        await store.get_many(["a", "b"], collection="ghost")
        await store.ttl("key", collection="ghost")
        await store.ttl_many(["key"], collection="ghost")
        await store.delete("key", collection="ghost")
        await store.delete_many(["key"], collection="ghost")
        if isinstance(store, AsyncEnumerateKeysProtocol):
            assert await store.keys("ghost") == []
        assert "ghost" not in await store.collections()

    async def test_deleted_collection_not_listed(self, store: AsyncKeyValue) -> None:
        if not isinstance(store, AsyncEnumerateCollectionsProtocol):
            pytest.skip("store does not enumerate collections")
        await store.put("key", {"v": 1}, collection="brief")
        await store.delete("key", collection="brief")
        assert "brief" not in await store.collections()

    # -- destroy and cull --------------------------------------------------------------------------

    async def test_destroy_collection(self, store: AsyncKeyValue) -> None:
        if not isinstance(store, AsyncDestroyCollectionProtocol):
            pytest.skip("store does not destroy collections")
        await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}], collection="doomed")
        await store.put("a", {"v": 3}, collection="kept")
        assert await store.destroy_collection("doomed") is True
        assert await store.get_many(["a", "b"], collection="doomed") == [None, None]
        assert await store.get("a", collection="kept") == {"v": 3}
        assert await store.destroy_collection("doomed") is False
        await store.put("a", {"v": 4}, collection="doomed")
        assert await store.get("a", collection="doomed") == {"v": 4}
        if isinstance(store, AsyncEnumerateKeysProtocol):
            assert await store.keys("doomed") == ["a"]

    async def test_destroy(self, store: AsyncKeyValue) -> None:
        if not isinstance(store, AsyncDestroyStoreProtocol):
            pytest.skip("store does not destroy")
        await store.put("a", {"v": 1}, collection="one")
        await store.put("b", {"v": 2}, collection="two")
        assert await store.destroy() is True
        assert await store.get("a", collection="one") is None
        assert await store.get("b", collection="two") is None
        if isinstance(store, AsyncEnumerateCollectionsProtocol):
            assert await store.collections() == []
        await store.put("a", {"v": 3}, collection="one")
        assert await store.get("a", collection="one") == {"v": 3}

    async def test_cull(self, store: AsyncKeyValue) -> None:
        if not isinstance(store, AsyncCullProtocol):
            pytest.skip("store does not cull")
        await store.put("gone", {"v": 1}, ttl=0.1)
        await store.put("kept", {"v": 2})
        await sleep(0.2)
        await store.cull()
        assert await store.get("gone") is None
        assert await store.get("kept") == {"v": 2}

    # -- concurrency -------------------------------------------------------------------------------

    async def test_concurrent_use_loses_nothing(self, store: AsyncKeyValue) -> None:
        rounds = 6

        async def worker(worker_id: int) -> None:
            for i in range(rounds):
                key = f"w{worker_id}-{i}"
                await store.put(key, {"w": worker_id, "i": i}, collection="busy")
                assert await store.get(key, collection="busy") == {"w": worker_id, "i": i}
                await store.put_many([f"shared-{i}"], [{"w": worker_id}], collection="busy")
                if i % 2:
                    assert await store.delete(key, collection="busy") is True

        if True:  # ASYNC
            workers = self.concurrent_workers
            await asyncio.gather(*(worker(n) for n in range(workers)))
        else:
            from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

            workers = 8
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(worker, range(workers)))
        expected = [f"w{w}-{i}" for w in range(workers) for i in range(0, rounds, 2)]
        values = await store.get_many(expected, collection="busy")
        assert all(value is not None for value in values)
        shared = await store.get_many([f"shared-{i}" for i in range(rounds)], collection="busy")
        assert all(value is not None for value in shared)
        if isinstance(store, AsyncEnumerateKeysProtocol):
            listed = set(await store.keys("busy"))
            assert listed == set(expected) | {f"shared-{i}" for i in range(rounds)}

"""Stateful property tests: stores against a reference model, with a clock the test controls.

Hypothesis drives random sequences of puts, reads, deletes, enumeration, culls and clock jumps,
and after every step the store must agree with a plain dict that applies the protocol's rules.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, TypeVar, cast

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from key_value.aio.protocols.key_value import (
    AsyncCullProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
)
from key_value.aio.stores.base import BaseStore
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.simple import SimpleStore

T = TypeVar("T")

COLLECTIONS = st.sampled_from(["a", "a::b", "ünï/.."])
KEYS = st.sampled_from(["k", "b::k", "ключ", "x" * 300])
VALUES = st.dictionaries(
    st.text(max_size=5),
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=8),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
        max_leaves=6,
    ),
    max_size=4,
)
TTLS = st.none() | st.floats(min_value=0.5, max_value=20)

Model = dict[tuple[str, str], tuple[dict[str, Any], "float | None"]]


class StoreModel(RuleBasedStateMachine):
    """The reference model; subclasses say which store to build."""

    def __init__(self) -> None:
        super().__init__()
        self.now = time.time()
        self.store = self.make_store()
        self.store.clock = lambda: self.now
        self.model: Model = {}
        if True:  # ASYNC
            self.loop = asyncio.new_event_loop()

    def make_store(self) -> BaseStore:
        raise NotImplementedError

    if True:  # ASYNC

        def run(self, awaitable: Awaitable[T]) -> T:
            return self.loop.run_until_complete(awaitable)

    else:

        def run(self, value: T) -> T:
            return value

    def teardown(self) -> None:
        close = getattr(self.store, "close", None)
        if close is not None:
            self.run(close())
        if True:  # ASYNC
            self.loop.close()

    def live(self, collection: str, key: str) -> dict[str, Any] | None:
        found = self.model.get((collection, key))
        if found is None or (found[1] is not None and found[1] <= self.now):
            return None
        return found[0]

    # -- writes --------------------------------------------------------------------------------

    @rule(collection=COLLECTIONS, key=KEYS, value=VALUES, ttl=TTLS)
    def put(self, collection: str, key: str, value: dict[str, Any], ttl: float | None) -> None:
        self.run(self.store.put(key, value, collection=collection, ttl=ttl))
        self.model[collection, key] = (value, None if ttl is None else self.now + ttl)

    @rule(collection=COLLECTIONS, items=st.lists(st.tuples(KEYS, VALUES), max_size=5), ttl=TTLS)
    def put_many(self, collection: str, items: list[tuple[str, dict[str, Any]]], ttl: float | None) -> None:
        self.run(self.store.put_many([k for k, _ in items], [v for _, v in items], collection=collection, ttl=ttl))
        for key, value in items:
            self.model[collection, key] = (value, None if ttl is None else self.now + ttl)

    @rule(collection=COLLECTIONS, key=KEYS)
    def delete(self, collection: str, key: str) -> None:
        existed = self.live(collection, key) is not None
        assert self.run(self.store.delete(key, collection=collection)) is existed
        self.model.pop((collection, key), None)

    @rule(collection=COLLECTIONS, keys=st.lists(KEYS, max_size=5))
    def delete_many(self, collection: str, keys: list[str]) -> None:
        existed = sum(self.live(collection, key) is not None for key in set(keys))
        assert self.run(self.store.delete_many(keys, collection=collection)) == existed
        for key in keys:
            self.model.pop((collection, key), None)

    @rule(collection=COLLECTIONS)
    def destroy_collection(self, collection: str) -> None:
        self.run(cast("AsyncDestroyCollectionProtocol", self.store).destroy_collection(collection))
        for pair in [pair for pair in self.model if pair[0] == collection]:
            del self.model[pair]

    @rule()
    def cull(self) -> None:
        self.run(cast("AsyncCullProtocol", self.store).cull())

    @rule(seconds=st.floats(min_value=0.1, max_value=15))
    def advance_clock(self, seconds: float) -> None:
        self.now += seconds

    # -- reads ---------------------------------------------------------------------------------

    @rule(collection=COLLECTIONS, key=KEYS)
    def get(self, collection: str, key: str) -> None:
        assert self.run(self.store.get(key, collection=collection)) == self.live(collection, key)

    @rule(collection=COLLECTIONS, keys=st.lists(KEYS, max_size=5))
    def get_many(self, collection: str, keys: list[str]) -> None:
        expected = [self.live(collection, key) for key in keys]
        assert self.run(self.store.get_many(keys, collection=collection)) == expected

    @rule(collection=COLLECTIONS, key=KEYS)
    def ttl(self, collection: str, key: str) -> None:
        value, remaining = self.run(self.store.ttl(key, collection=collection))
        assert value == self.live(collection, key)
        found = self.model.get((collection, key))
        if value is None or found is None or found[1] is None:
            assert remaining is None
        else:
            assert remaining is not None
            assert abs(remaining - (found[1] - self.now)) < 1e-6

    @rule()
    def enumeration_matches(self) -> None:
        live = {pair for pair in self.model if self.live(*pair) is not None}
        collections = self.run(cast("AsyncEnumerateCollectionsProtocol", self.store).collections())
        assert sorted(collections) == sorted({collection for collection, _ in live})
        for collection in {collection for collection, _ in live}:
            keys = self.run(cast("AsyncEnumerateKeysProtocol", self.store).keys(collection))
            assert sorted(keys) == sorted(key for c, key in live if c == collection)


MODEL_SETTINGS = settings(
    max_examples=200, stateful_step_count=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


class MemoryModel(StoreModel):
    def make_store(self) -> BaseStore:
        return MemoryStore()


class SimpleModel(StoreModel):
    def make_store(self) -> BaseStore:
        return SimpleStore()


TestMemoryModel = MemoryModel.TestCase
TestMemoryModel.settings = MODEL_SETTINGS
TestSimpleModel = SimpleModel.TestCase
TestSimpleModel.settings = MODEL_SETTINGS

"""A hypothesis state machine drives the conditional calls against a model of what a store must hold.

It runs on the stores whose expiry follows `store.clock` (a fake clock here, advanced by a rule), so
expiry between calls is part of every sequence: puts, `put_if` with the current, a stale or no ETag
under each condition and with each joker, `delete_if`, and clock steps. After every step each key's
`get_entry` must agree with the model (value, ETag, seconds left), and no write may hand out an ETag
a key had before.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from key_value.aio.conditional import ABSENT, DELETE_CURRENT, KEEP_CURRENT, NOT_RETRIEVED
from key_value.aio.protocols.key_value import AsyncConditionalProtocol
from key_value.aio.stores.base import BaseStore
from key_value.aio.stores.disk import DiskStore
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.simple import SimpleStore
from key_value.shared.conditional import Absent, Condition, Joker, holds

T = TypeVar("T")

KEYS = st.sampled_from(["a", "b"])


def _value(n: int) -> dict[str, Any]:
    return {"n": n}


VALUES: st.SearchStrategy[dict[str, Any]] = st.builds(_value, st.integers(0, 2))
TTLS = st.sampled_from([None, 1.0, 5.0])
START = 1_000_000.0


class ConditionalModel(RuleBasedStateMachine):
    """The model: key -> (value, ETag, expiry on the fake clock); expired entries are absent."""

    make_store: Callable[[str], BaseStore]

    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="kv-model-")
        self.now = START
        store = self.make_store(self.directory)
        store.clock = lambda: self.now
        self.store = store
        assert isinstance(store, AsyncConditionalProtocol)
        self.kv: AsyncConditionalProtocol = store
        self.model: dict[str, tuple[dict[str, Any], str, float | None]] = {}
        self.etags: dict[str, set[str]] = {"a": set(), "b": set()}
        if True:  # ASYNC
            import asyncio  # noqa: PLC0415

            self.loop = asyncio.new_event_loop()

    if True:  # ASYNC

        def run(self, call: Coroutine[Any, Any, T]) -> T:
            """The result of `call`, run on this machine's event loop (the sync twin has the result already)."""
            return self.loop.run_until_complete(call)

    else:

        def run(self, call: T) -> T:
            return call

    def teardown(self) -> None:
        close = getattr(self.store, "close", None)
        if close is not None:
            self.run(close())
        if True:  # ASYNC
            self.loop.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def live(self, key: str) -> tuple[dict[str, Any], str, float | None] | None:
        found = self.model.get(key)
        if found is None or (found[2] is not None and found[2] <= self.now):
            return None
        return found

    def remember(self, key: str, etag: str) -> None:
        assert etag not in self.etags[key], f"ETag {etag!r} of {key!r} handed out twice"
        self.etags[key].add(etag)

    # -- rules ------------------------------------------------------------------------------------

    @rule(key=KEYS, value=VALUES, ttl=TTLS)
    def put(self, key: str, value: dict[str, Any], ttl: float | None) -> None:
        self.run(self.store.put(key, value, ttl=ttl))
        entry = self.run(self.kv.get_entry(key))
        assert entry is not None
        assert entry.value == value
        self.remember(key, entry.etag)
        self.model[key] = (value, entry.etag, None if ttl is None else self.now + ttl)

    @rule(
        key=KEYS,
        value=st.one_of(VALUES, st.sampled_from([KEEP_CURRENT, DELETE_CURRENT])),
        expected=st.sampled_from(["current", "stale", "absent"]),
        condition=st.sampled_from(list(Condition)),
        ttl=TTLS,
        retrieve=st.booleans(),
    )
    def put_if(
        self,
        *,
        key: str,
        value: dict[str, Any] | Joker,
        expected: str,
        condition: Condition,
        ttl: float | None,
        retrieve: bool,
    ) -> None:
        live = self.live(key)
        actual: str | Absent = ABSENT if live is None else live[1]
        # stale: an ETag the key had before, if any, else one it never had
        earlier = sorted(self.etags[key] - {actual})
        stale = earlier[-1] if earlier else "stale-etag"
        etag: str | Absent = {"current": actual, "stale": stale, "absent": ABSENT}[expected]
        if value is DELETE_CURRENT and ttl is None:
            result = self.run(self.kv.delete_if(key, etag=etag, condition=condition, retrieve=retrieve))
        else:
            result = self.run(self.kv.put_if(key, value, etag=etag, condition=condition, ttl=ttl, retrieve=retrieve))
        satisfied = holds(condition, etag, actual)
        assert (result.satisfied, result.actual_etag) == (satisfied, actual)
        if not retrieve:
            assert result.value is NOT_RETRIEVED
        if not satisfied:
            assert result.resulting_etag == actual
            if retrieve:
                assert result.value == (None if live is None else live[0])
            return
        if value is DELETE_CURRENT:
            self.model.pop(key, None)
            assert result.resulting_etag is ABSENT
            assert result.value is (None if retrieve else NOT_RETRIEVED)
        elif value is KEEP_CURRENT:
            assert result.resulting_etag == actual
            if live is not None and ttl is not None:
                self.model[key] = (live[0], live[1], self.now + ttl)
        else:
            assert isinstance(result.resulting_etag, str)
            self.remember(key, result.resulting_etag)
            self.model[key] = (value, result.resulting_etag, None if ttl is None else self.now + ttl)
            if retrieve:
                assert result.value == value

    @rule(seconds=st.sampled_from([0.5, 1.0, 2.0, 6.0]))
    def advance(self, seconds: float) -> None:
        self.now += seconds

    # -- what every step leaves ---------------------------------------------------------------------

    @invariant()
    def entries_match_the_model(self) -> None:
        for key in ("a", "b"):
            entry = self.run(self.kv.get_entry(key))
            live = self.live(key)
            if live is None:
                assert entry is None, (key, entry)
                continue
            assert entry is not None, key
            assert (entry.value, entry.etag) == (live[0], live[1])
            if live[2] is None:
                assert entry.ttl is None
            else:
                assert entry.ttl is not None
                assert abs(entry.ttl - (live[2] - self.now)) < 0.01


STORES: dict[str, Callable[[str], BaseStore]] = {
    "memory": lambda _: MemoryStore(),
    "simple": lambda _: SimpleStore(),
    "disk": lambda directory: DiskStore(directory=directory),
}


@pytest.mark.parametrize("name", list(STORES))
def test_conditional_calls_follow_the_model(name: str) -> None:
    machine = type(f"ConditionalModel_{name}", (ConditionalModel,), {"make_store": staticmethod(STORES[name])})
    runner = machine.TestCase
    runner.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
    runner().runTest()

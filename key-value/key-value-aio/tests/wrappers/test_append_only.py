"""AppendOnlyWrapper: inserts go through; overwrites of live keys and deletes raise and change nothing; on a
MemoryStore and a DiskStore, with and without the conditional segment beneath, and racing on Valkey."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any, SupportsFloat

import pytest

from key_value.aio.conditional import ABSENT, ANY, DELETE_CURRENT, KEEP_CURRENT
from key_value.aio.protocols.key_value import AsyncDestroyStoreProtocol, AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.valkey import ValkeyStore
from key_value.aio.wrappers.append_only import AppendOnlyWrapper
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.conditional import Absent, Condition, ConditionalResult, Joker
from key_value.shared.errors import (
    ImmutableEntryError,
    InvalidArgumentError,
    InvalidKeyError,
    InvalidTTLError,
    SerializationError,
)
from testing.servers._resp import RespServer

from ..support.conditional import conditional
from ..support.doubles import Limited
from ..support.insert_only import InsertOnlyContractTests, race
from ..support.timing import sleep

WITHOUT_CONDITIONAL = ALL_SEGMENTS & ~Capability.CONDITIONAL


@pytest.fixture(params=["conditional", "plain"])
def inner(request: pytest.FixtureRequest, inner_store: AsyncKeyValue) -> AsyncKeyValue:
    """The inner store, with its conditional segment (atomic inserts) or hidden (read, then put)."""
    return inner_store if request.param == "conditional" else Limited(inner_store, WITHOUT_CONDITIONAL)


class TestAppendOnlyContract(InsertOnlyContractTests):
    @pytest.fixture
    async def store(self, inner: AsyncKeyValue) -> AppendOnlyWrapper:
        return AppendOnlyWrapper(inner)


async def test_inserts_pass_and_overwrites_raise(inner: AsyncKeyValue) -> None:
    wrapper = AppendOnlyWrapper(inner)
    await wrapper.put("k", {"v": 1}, collection="c", ttl=60)
    await wrapper.put("k", {"v": 1})  # another collection
    with pytest.raises(ImmutableEntryError) as raised:
        await wrapper.put("k", {"v": 1}, collection="c")  # even with the same value
    assert raised.value.extra_info == {"operation": "put", "collection": "c", "key": "k"}
    value, remaining = await inner.ttl("k", collection="c")
    assert value == {"v": 1}
    assert remaining is not None
    assert 59 < remaining <= 60


async def test_an_expired_entry_is_absent(inner: AsyncKeyValue) -> None:
    wrapper = AppendOnlyWrapper(inner)
    await wrapper.put("k", {"v": 1}, ttl=1)
    await wrapper.put_many(["m"], [{"v": 1}], ttl=1)
    await sleep(1.5)
    await wrapper.put("k", {"v": 2})
    await wrapper.put_many(["m"], [{"v": 2}])
    assert await inner.get_many(["k", "m"]) == [{"v": 2}, {"v": 2}]


async def test_put_many_refuses_whole_calls(inner: AsyncKeyValue) -> None:
    wrapper = AppendOnlyWrapper(inner)
    await wrapper.put_many(["a", "b"], [{"v": 1}, {"v": 2}])
    with pytest.raises(ImmutableEntryError) as raised:
        await wrapper.put_many(["new", "b", "other"], [{"v": 3}, {"v": 4}, {"v": 5}])
    assert raised.value.extra_info == {"operation": "put_many", "collection": None, "key": "b"}
    with pytest.raises(ImmutableEntryError):
        await wrapper.put_many(["x", "y", "x"], [{"v": 1}, {"v": 2}, {"v": 3}])  # x twice
    assert await inner.get_many(["a", "b", "new", "other", "x", "y"]) == [{"v": 1}, {"v": 2}, None, None, None, None]
    await wrapper.put_many([], [])


async def test_deletes_raise_and_change_nothing(inner: AsyncKeyValue) -> None:
    wrapper = AppendOnlyWrapper(inner)
    await wrapper.put("a", {"v": 1})
    with pytest.raises(ImmutableEntryError) as raised:
        await wrapper.delete("a")
    assert raised.value.extra_info == {"operation": "delete", "collection": None, "key": "a"}
    with pytest.raises(ImmutableEntryError):
        await wrapper.delete_many(["a", "missing"], collection="c")
    assert await inner.get("a") == {"v": 1}


async def test_bad_input_reports_the_input_error_and_writes_nothing(inner: AsyncKeyValue) -> None:
    wrapper = AppendOnlyWrapper(inner)
    await wrapper.put("taken", {"v": 1})
    with pytest.raises(InvalidKeyError):
        await wrapper.put("", {"v": 1})
    with pytest.raises(InvalidKeyError):
        await wrapper.put("taken", {"v": 1}, collection="")  # the input error, not the refusal
    with pytest.raises(InvalidTTLError):
        await wrapper.put("taken", {"v": 1}, ttl=-1)
    with pytest.raises(SerializationError):
        await wrapper.put_many(["k", "taken"], [{"v": 1}, {"v": b"raw"}])
    with pytest.raises(InvalidArgumentError):
        await wrapper.put_many(["k", "l"], [{"v": 1}])
    with pytest.raises(InvalidKeyError):
        await wrapper.delete_many("ab")
    assert await inner.get_many(["k", "l", "taken"]) == [None, None, {"v": 1}]


async def test_conditional_calls_insert_only() -> None:
    inner = MemoryStore()
    wrapper = conditional(AppendOnlyWrapper(inner))
    assert await wrapper.put_if_absent("k", {"v": 1})
    lost = await wrapper.put_if("k", {"v": 2}, etag=ABSENT)  # an insert that finds the key taken: a result
    assert not lost.satisfied
    assert lost.value == {"v": 1}
    entry = await wrapper.get_entry("k")
    assert entry is not None
    assert (await wrapper.put_if("k", KEEP_CURRENT, etag=entry.etag)).satisfied  # writes nothing
    assert (await wrapper.transform("new", lambda value: {"n": 1})).value == {"n": 1}
    for call in (
        lambda: wrapper.put_if("k", {"v": 3}, etag=entry.etag),
        lambda: wrapper.put_if("fresh", {"v": 3}, etag=ABSENT, condition=ANY),
        lambda: wrapper.put_if("k", KEEP_CURRENT, etag=entry.etag, ttl=5),
        lambda: wrapper.put_if("k", DELETE_CURRENT, etag=entry.etag),
        lambda: wrapper.delete_if("k", etag=entry.etag),
        lambda: wrapper.delete_if("absent", etag=ABSENT),
        lambda: wrapper.transform("new", lambda value: {"n": 2}),
    ):
        with pytest.raises(ImmutableEntryError):
            await call()
    assert await inner.get_entry("k") == entry
    assert await inner.get_many(["new", "fresh"]) == [{"n": 1}, None]


def test_offers_listing_cull_and_conditional_only() -> None:
    wrapper = AppendOnlyWrapper(MemoryStore())
    assert wrapper.capabilities == Capability.KEYS | Capability.COLLECTIONS | Capability.CULL | Capability.CONDITIONAL
    assert not isinstance(wrapper, AsyncDestroyStoreProtocol)


class Interloper(BaseWrapper):
    """Before the insert of `key`, another client writes it: the race between put_many's check and its inserts."""

    supported_segments = ALL_SEGMENTS

    def __init__(self, key_value: AsyncKeyValue, key: str) -> None:
        super().__init__(key_value)
        self.key = key

    async def _put_if(
        self,
        key: str,
        value: Mapping[str, Any] | Joker,
        *,
        etag: str | Absent,
        condition: Condition,
        collection: str | None,
        ttl: SupportsFloat | None,
        retrieve: bool,
    ) -> ConditionalResult:
        if key == self.key:
            await self.key_value.put(key, {"by": "someone else"}, collection=collection)
        return await super()._put_if(
            key, value, etag=etag, condition=condition, collection=collection, ttl=ttl, retrieve=retrieve
        )


async def test_put_many_that_loses_a_race_undoes_its_inserts() -> None:
    inner = MemoryStore()
    wrapper = AppendOnlyWrapper(Interloper(inner, "c"))
    with pytest.raises(ImmutableEntryError) as raised:
        await wrapper.put_many(["a", "b", "c", "d"], [{"v": 1}, {"v": 2}, {"v": 3}, {"v": 4}], collection="x")
    assert raised.value.key == "c"
    assert await inner.get_many(["a", "b", "c", "d"], collection="x") == [None, None, {"by": "someone else"}, None]


async def test_concurrent_inserts_have_one_winner(inner_store: AsyncKeyValue) -> None:
    wrapper = AppendOnlyWrapper(inner_store)

    def writer(n: int) -> Any:
        return lambda: wrapper.put("contended", {"writer": n})

    outcomes = await race([writer(n) for n in range(32)])
    winners = [n for n, outcome in enumerate(outcomes) if outcome is None]
    assert len(winners) == 1
    assert all(isinstance(outcome, ImmutableEntryError) for outcome in outcomes if outcome is not None)
    assert await inner_store.get("contended") == {"writer": winners[0]}


@pytest.fixture
async def valkey_stores(valkey_node: RespServer) -> AsyncIterator[list[ValkeyStore]]:
    """Four clients of one Valkey server, as four processes would have."""
    stores = [ValkeyStore(host=valkey_node.host, port=valkey_node.port, timeout=10) for _ in range(4)]
    try:
        yield stores
    finally:
        for store in stores:
            await store.close()


async def test_inserts_on_separate_valkey_clients_have_one_winner(valkey_stores: list[ValkeyStore]) -> None:
    key = f"contended-{uuid.uuid4().hex}"
    wrappers = [AppendOnlyWrapper(store) for store in valkey_stores]

    def writer(n: int) -> Any:
        if n % 2:
            return lambda: wrappers[n % len(wrappers)].put(key, {"writer": n})
        return lambda: wrappers[n % len(wrappers)].put_many([key], [{"writer": n}])

    outcomes = await race([writer(n) for n in range(32)])
    winners = [n for n, outcome in enumerate(outcomes) if outcome is None]
    assert len(winners) == 1
    assert all(isinstance(outcome, ImmutableEntryError) for outcome in outcomes if outcome is not None)
    assert await valkey_stores[0].get(key) == {"writer": winners[0]}

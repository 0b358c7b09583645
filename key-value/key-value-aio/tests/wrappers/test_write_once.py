"""WriteOnceWrapper: the first write wins, repeat writes are ignored or checked, deletes are refused; on a
MemoryStore and a DiskStore, with and without the conditional segment beneath, and racing on Valkey."""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from key_value.aio.conditional import ABSENT, ANY, CHANGED, DELETE_CURRENT, KEEP_CURRENT
from key_value.aio.protocols.key_value import (
    AsyncConditionalProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncKeyValue,
)
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.valkey import ValkeyStore
from key_value.aio.wrappers.base import ALL_SEGMENTS
from key_value.aio.wrappers.write_once import WriteOnceWrapper
from key_value.shared.capabilities import Capability
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


class TestWriteOnceContract(InsertOnlyContractTests):
    @pytest.fixture
    async def store(self, inner: AsyncKeyValue) -> WriteOnceWrapper:
        return WriteOnceWrapper(inner, check_probability=1.0)


async def test_first_write_wins(inner: AsyncKeyValue) -> None:
    wrapper = WriteOnceWrapper(inner)
    await wrapper.put("k", {"v": 1}, collection="c")
    await wrapper.put("k", {"v": 2}, collection="c")  # ignored, unchecked
    await wrapper.put("k", {"v": 3}, collection="c", ttl=5)  # ignored: no TTL is set either
    assert await inner.ttl("k", collection="c") == ({"v": 1}, None)
    await wrapper.put_many(["k", "new", "new"], [{"v": 4}, {"first": 1}, {"second": 2}], collection="c")
    assert await inner.get_many(["k", "new"], collection="c") == [{"v": 1}, {"first": 1}]


async def test_every_differing_repeat_write_raises_at_probability_one(inner: AsyncKeyValue) -> None:
    wrapper = WriteOnceWrapper(inner, check_probability=1)
    await wrapper.put("k", {"a": 1, "b": [1, 2]})
    await wrapper.put("k", {"b": [1, 2], "a": 1})  # the same JSON value, keys in another order
    for different in ({"a": 1, "b": [2, 1]}, {"a": 1.5, "b": [1, 2]}, {"a": True, "b": [1, 2]}, {}):
        with pytest.raises(ImmutableEntryError) as raised:
            await wrapper.put("k", different)
        assert raised.value.extra_info == {"operation": "put", "collection": None, "key": "k"}
    with pytest.raises(ImmutableEntryError):
        await wrapper.put_many(["k"], [{"a": 2}])
    assert await inner.get("k") == {"a": 1, "b": [1, 2]}


async def test_put_many_checks_repeats_within_the_call(inner: AsyncKeyValue) -> None:
    wrapper = WriteOnceWrapper(inner, check_probability=1)
    await wrapper.put_many(["k", "k"], [{"v": 1}, {"v": 1}])
    with pytest.raises(ImmutableEntryError):
        await wrapper.put_many(["j", "j"], [{"v": 1}, {"v": 2}])
    assert await inner.get("k") == {"v": 1}


async def test_plain_put_many_checks_before_writing() -> None:
    inner = MemoryStore()
    await inner.put("old", {"v": 1})
    wrapper = WriteOnceWrapper(Limited(inner, WITHOUT_CONDITIONAL), check_probability=1)
    with pytest.raises(ImmutableEntryError):
        await wrapper.put_many(["new", "old"], [{"v": 2}, {"v": 3}])
    assert await inner.get_many(["new", "old"]) == [None, {"v": 1}]


async def refused(wrapper: WriteOnceWrapper, value: dict[str, Any]) -> bool:
    """Whether a repeat write of `value` raised `ImmutableEntryError` (was checked)."""
    try:
        await wrapper.put("k", value)
    except ImmutableEntryError:
        return True
    return False


async def test_a_fraction_of_repeat_writes_is_checked() -> None:
    wrapper = WriteOnceWrapper(MemoryStore(), check_probability=0.5)
    await wrapper.put("k", {"v": 0})
    raised = 0
    for attempt in range(1, 401):
        raised += await refused(wrapper, {"v": attempt})
    assert 120 <= raised <= 280  # 200 expected; outside this range has odds below 1e-18
    assert await wrapper.get("k") == {"v": 0}
    never = WriteOnceWrapper(MemoryStore(), check_probability=0)
    await never.put("k", {"v": 0})
    for attempt in range(100):
        await never.put("k", {"v": attempt + 1})


async def test_an_expired_entry_is_absent(inner: AsyncKeyValue) -> None:
    wrapper = WriteOnceWrapper(inner, check_probability=1)
    await wrapper.put("k", {"v": 1}, ttl=1)
    await sleep(1.5)
    await wrapper.put("k", {"v": 2})
    assert await inner.ttl("k") == ({"v": 2}, None)


async def test_deletes_raise_and_change_nothing(inner: AsyncKeyValue) -> None:
    wrapper = WriteOnceWrapper(inner)
    await wrapper.put_many(["a", "b"], [{"v": 1}, {"v": 2}])
    with pytest.raises(ImmutableEntryError) as raised:
        await wrapper.delete("a")
    assert raised.value.extra_info == {"operation": "delete", "collection": None, "key": "a"}
    with pytest.raises(ImmutableEntryError):
        await wrapper.delete("missing", collection="c")
    with pytest.raises(ImmutableEntryError):
        await wrapper.delete_many(["a", "b"])
    assert await inner.get_many(["a", "b"]) == [{"v": 1}, {"v": 2}]


async def test_bad_input_reports_the_input_error_and_writes_nothing(inner: AsyncKeyValue) -> None:
    wrapper = WriteOnceWrapper(inner)
    with pytest.raises(InvalidKeyError):
        await wrapper.put("", {"v": 1})
    with pytest.raises(InvalidKeyError):
        await wrapper.put("k", {"v": 1}, collection="")
    with pytest.raises(InvalidTTLError):
        await wrapper.put("k", {"v": 1}, ttl=0)
    with pytest.raises(SerializationError):
        await wrapper.put_many(["k", "l"], [{"v": 1}, {"v": {1, 2}}])
    with pytest.raises(InvalidArgumentError):
        await wrapper.put_many(["k", "l"], [{"v": 1}])
    with pytest.raises(InvalidKeyError):
        await wrapper.delete("")
    with pytest.raises(InvalidKeyError):
        await wrapper.delete_many("ab")
    assert await inner.get_many(["k", "l"]) == [None, None]


@pytest.mark.parametrize("probability", [-0.1, 1.5, math.nan, True, "0.5", None])
def test_bad_probability(probability: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        WriteOnceWrapper(MemoryStore(), check_probability=probability)


async def test_conditional_calls_insert_only() -> None:
    inner = MemoryStore()
    wrapper = conditional(WriteOnceWrapper(inner))
    assert await wrapper.put_if_absent("k", {"v": 1})
    assert not await wrapper.put_if_absent("k", {"v": 2})
    entry = await wrapper.get_entry("k")
    assert entry is not None
    assert entry == await inner.get_entry("k")
    kept = await wrapper.put_if("k", KEEP_CURRENT, etag=entry.etag)  # writes nothing: allowed
    assert (kept.satisfied, kept.resulting_etag) == (True, entry.etag)
    assert (await wrapper.transform("new", lambda value: {"n": 1})).value == {"n": 1}  # an insert
    refused: list[Any] = [
        lambda: wrapper.put_if("k", {"v": 3}, etag=entry.etag),
        lambda: wrapper.put_if("k", KEEP_CURRENT, etag=entry.etag, ttl=60),  # a TTL refresh changes it
        lambda: wrapper.put_if("k", DELETE_CURRENT, etag=entry.etag),
        lambda: wrapper.put_if("other", {"v": 3}, etag=ABSENT, condition=ANY),  # unconditional: could overwrite
        lambda: wrapper.put_if("k", {"v": 3}, etag=ABSENT, condition=CHANGED),
        lambda: wrapper.delete_if("k", etag=entry.etag),
        lambda: wrapper.transform("k", lambda value: {"n": 2}),
    ]
    for call in refused:
        with pytest.raises(ImmutableEntryError):
            await call()
    assert await inner.get_entry("k") == entry
    assert await inner.get_many(["new", "other"]) == [{"n": 1}, None]


def test_offers_listing_cull_and_conditional_only() -> None:
    wrapper = WriteOnceWrapper(MemoryStore())
    assert wrapper.capabilities == Capability.KEYS | Capability.COLLECTIONS | Capability.CULL | Capability.CONDITIONAL
    assert not isinstance(wrapper, AsyncDestroyStoreProtocol)
    assert not isinstance(wrapper, AsyncDestroyCollectionProtocol)
    assert isinstance(wrapper, AsyncConditionalProtocol)
    plain = WriteOnceWrapper(Limited(MemoryStore(), WITHOUT_CONDITIONAL))
    assert plain.capabilities == Capability.KEYS | Capability.COLLECTIONS | Capability.CULL


async def test_concurrent_first_writers_have_one_winner(inner_store: AsyncKeyValue) -> None:
    wrapper = WriteOnceWrapper(inner_store, check_probability=1)

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


async def test_first_writers_on_separate_valkey_clients_have_one_winner(valkey_stores: list[ValkeyStore]) -> None:
    key = f"contended-{uuid.uuid4().hex}"
    wrappers = [WriteOnceWrapper(store, check_probability=1) for store in valkey_stores]

    def writer(n: int) -> Any:
        return lambda: wrappers[n % len(wrappers)].put(key, {"writer": n})

    outcomes = await race([writer(n) for n in range(32)])
    winners = [n for n, outcome in enumerate(outcomes) if outcome is None]
    assert len(winners) == 1
    assert all(isinstance(outcome, ImmutableEntryError) for outcome in outcomes if outcome is not None)
    assert await valkey_stores[0].get(key) == {"writer": winners[0]}

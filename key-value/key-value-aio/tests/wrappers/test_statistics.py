"""StatisticsWrapper: the contract holds, counts are exact per key and per collection, under concurrency too."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from pydantic import BaseModel

from key_value.aio.protocols.key_value import AsyncEnumerateKeysProtocol, AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.null import NullStore
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.aio.wrappers.statistics import (
    DeleteStatistics,
    ExistsStatistics,
    GetStatistics,
    KVStoreCollectionStatistics,
    KVStoreStatistics,
    PutStatistics,
    StatisticsWrapper,
    TTLStatistics,
)
from key_value.shared.capabilities import Capability
from key_value.shared.errors import InvalidKeyError, InvalidTTLError

from ..support.contract import ContractTests
from ..support.doubles import RecordingStore


class TestStatistics(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> StatisticsWrapper:
        return StatisticsWrapper(inner_store)


class TestStackOfThree(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> StatisticsWrapper:
        return StatisticsWrapper(StatisticsWrapper(StatisticsWrapper(inner_store)))


class Anonymous(BaseWrapper):
    """A store that does not say what its default collection is called."""

    @property
    def default_collection(self) -> str | None:
        return None


def test_dataclasses_keep_upstream_names() -> None:
    def names(cls: type) -> list[str]:
        return [item.name for item in dataclasses.fields(cls)]

    assert names(KVStoreStatistics) == ["collections"]
    assert names(KVStoreCollectionStatistics) == ["count", "get", "ttl", "put", "delete", "exists", "conditional"]
    for hit_miss in (GetStatistics, DeleteStatistics, ExistsStatistics, TTLStatistics):
        assert names(hit_miss) == ["count", "hit", "miss"]
    assert names(PutStatistics) == ["count"]
    statistics = KVStoreStatistics()
    assert statistics.get_collection("c") is statistics.get_collection("c")
    counters = GetStatistics()
    counters.increment_hit(increment=2)
    counters.increment_miss()
    assert counters == GetStatistics(count=3, hit=2, miss=1)


async def test_statistics_round_trip_through_pydantic() -> None:
    """Applications embed the dataclasses in their own models: dumping and validating keeps every count."""

    class Report(BaseModel):
        statistics: KVStoreStatistics

    wrapper = StatisticsWrapper(MemoryStore())
    await wrapper.put("a", {"v": 1}, collection="c")
    await wrapper.get_many(["a", "b"], collection="c")
    await wrapper.ttl("a", collection="c")
    await wrapper.delete("missing", collection="d")
    report = Report(statistics=wrapper.statistics)
    dumped = report.model_dump()
    assert dumped["statistics"]["collections"]["c"]["get"] == {"count": 2, "hit": 1, "miss": 1}
    assert dumped["statistics"]["collections"]["d"]["delete"] == {"count": 1, "hit": 0, "miss": 1}
    restored = Report.model_validate(dumped)
    assert restored.statistics == wrapper.statistics
    assert isinstance(restored.statistics.collections["c"].ttl, TTLStatistics)
    assert Report.model_validate_json(report.model_dump_json()) == report


async def test_counts_per_key() -> None:
    wrapper = StatisticsWrapper(MemoryStore())
    await wrapper.put("a", {"v": 1}, collection="c")
    await wrapper.put_many(["b", "c", "b"], [{"v": 2}, {"v": 3}, {"v": 4}], collection="c", ttl=60)
    assert await wrapper.get("a", collection="c") == {"v": 1}
    assert await wrapper.get("missing", collection="c") is None
    assert await wrapper.get_many(["a", "b", "nope", "c"], collection="c") == [{"v": 1}, {"v": 4}, None, {"v": 3}]
    assert (await wrapper.ttl("a", collection="c"))[0] == {"v": 1}
    assert await wrapper.ttl_many(["a", "nope"], collection="c") == [({"v": 1}, None), (None, None)]
    assert await wrapper.delete("a", collection="c") is True
    assert await wrapper.delete("a", collection="c") is False
    assert await wrapper.delete_many(["b", "c", "nope"], collection="c") == 2
    await wrapper.get("x", collection="other")
    assert wrapper.statistics == KVStoreStatistics(
        collections={
            "c": KVStoreCollectionStatistics(
                get=GetStatistics(count=6, hit=4, miss=2),
                ttl=TTLStatistics(count=3, hit=2, miss=1),
                put=PutStatistics(count=4),
                delete=DeleteStatistics(count=5, hit=3, miss=2),
            ),
            "other": KVStoreCollectionStatistics(get=GetStatistics(count=1, miss=1)),
        }
    )


async def test_none_passed_through_and_counted_under_the_real_name() -> None:
    inner = MemoryStore(default_collection="x")
    wrapper = StatisticsWrapper(inner)
    await wrapper.put("a", {"v": 1})
    assert await inner.get("a") == {"v": 1}
    assert await inner.get("a", collection="x") == {"v": 1}
    assert await wrapper.get("a") == {"v": 1}
    assert list(wrapper.statistics.collections) == ["x"]
    assert wrapper.statistics.collections["x"].get.hit == 1

    anonymous = StatisticsWrapper(Anonymous(MemoryStore(default_collection="y")))
    await anonymous.put("a", {"v": 1})
    assert list(anonymous.statistics.collections) == ["default_collection"]
    assert await anonymous.get("a", collection="y") == {"v": 1}


async def test_failed_calls_not_counted() -> None:
    wrapper = StatisticsWrapper(MemoryStore())
    with pytest.raises(InvalidKeyError):
        await wrapper.get("")
    with pytest.raises(InvalidTTLError):
        await wrapper.put("a", {"v": 1}, ttl=-1)
    with pytest.raises(InvalidKeyError):
        await wrapper.put_many(["a", ""], [{"v": 1}, {"v": 2}])
    assert wrapper.statistics.collections == {}


async def test_counts_exact_under_concurrency() -> None:
    wrapper = StatisticsWrapper(MemoryStore())
    rounds = 500

    async def worker(worker_id: int) -> None:
        for i in range(rounds):
            await wrapper.put(f"{worker_id}-{i}", {"i": i}, collection="busy")
            await wrapper.get(f"{worker_id}-{i}", collection="busy")
            await wrapper.get("never", collection="busy")
            await wrapper.get_many([f"{worker_id}-{i}", "never"], collection="busy")

    workers = 8
    if True:  # ASYNC
        await asyncio.gather(*(worker(n) for n in range(workers)))
    else:
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(worker, range(workers)))
    busy = wrapper.statistics.collections["busy"]
    calls = workers * rounds
    assert busy.put == PutStatistics(count=calls)
    assert busy.get == GetStatistics(count=4 * calls, hit=2 * calls, miss=2 * calls)


def test_capabilities_follow_the_inner_store() -> None:
    assert StatisticsWrapper(MemoryStore()).capabilities == ALL_SEGMENTS
    nothing = StatisticsWrapper(StatisticsWrapper(StatisticsWrapper(NullStore())))
    assert nothing.capabilities == Capability.CONDITIONAL  # NullStore's only segment
    assert not isinstance(nothing, AsyncEnumerateKeysProtocol)


async def test_lifecycle_forwarded() -> None:
    inner = RecordingStore()
    async with StatisticsWrapper(StatisticsWrapper(inner)) as wrapper:
        await wrapper.put("k", {"v": 1})
    await wrapper.close()
    assert inner.events == ["enter", "exit", "close"]

"""DataclassAdapter: standard and pydantic dataclasses, and sequences of them; shares PydanticAdapter's core."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pytest
from pydantic.dataclasses import dataclass as pydantic_dataclass

from key_value.aio.adapters.base import BasePydanticAdapter
from key_value.aio.adapters.dataclass import DataclassAdapter
from key_value.aio.stores.memory import MemoryStore
from key_value.shared.errors import DeserializationError, InvalidArgumentError, SerializationError
from testing.ids import stable_id

from .models import WHEN, Point, User

V = TypeVar("V")


@pydantic_dataclass
class Reading:
    sensor: str
    at: datetime.datetime


@dataclass
class Box(Generic[V]):
    content: V


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


async def test_dataclass(store: MemoryStore) -> None:
    points = DataclassAdapter(store, Point)
    assert isinstance(points, BasePydanticAdapter)
    await points.put("p", Point(1, 2, ["a"]))
    assert await store.get("p") == {"x": 1, "y": 2, "labels": ["a"]}
    assert await points.get("p") == Point(1, 2, ["a"])
    assert await points.get("q", default=Point(0, 0)) == Point(0, 0)


async def test_pydantic_dataclass(store: MemoryStore) -> None:
    readings = DataclassAdapter(store, Reading)
    await readings.put("r", Reading(sensor="t1", at=WHEN))
    raw = await store.get("r")
    assert raw is not None
    assert isinstance(raw["at"], str)
    assert await readings.get("r") == Reading(sensor="t1", at=WHEN)


async def test_generic_dataclass(store: MemoryStore) -> None:
    boxes = DataclassAdapter(store, Box[int])
    await boxes.put("b", Box(3))
    assert await boxes.get("b") == Box(3)


@pytest.mark.parametrize("sequence", [list[Point], tuple[Point, ...]], ids=["list", "tuple"])
async def test_sequences_wrapped(store: MemoryStore, sequence: Any) -> None:
    adapter: DataclassAdapter[Any] = DataclassAdapter(store, sequence)
    value = sequence.__origin__([Point(1, 2), Point(3, 4)])
    await adapter.put_many(["one"], [value])
    assert await store.get("one") == {
        "items": [{"x": 1, "y": 2, "labels": []}, {"x": 3, "y": 4, "labels": []}],
    }
    assert await adapter.get_many(["one", "two"]) == [value, None]


async def test_validation_error(store: MemoryStore) -> None:
    await store.put("bad", {"x": "one", "y": 2})
    assert await DataclassAdapter(store, Point).ttl("bad") == (None, None)
    with pytest.raises(DeserializationError, match="dataclass"):
        await DataclassAdapter(store, Point, raise_on_validation_error=True).ttl("bad")


async def test_wrong_value_refused(store: MemoryStore) -> None:
    points: DataclassAdapter[Any] = DataclassAdapter(store, Point)
    with pytest.raises(SerializationError, match="dataclass"):
        await points.put("p", User(name="x", age=1))
    assert await store.keys() == []


@pytest.mark.parametrize("model", [int, User, dict[str, Point], list[int], list, Point(1, 2)], ids=stable_id)
def test_only_dataclasses(store: MemoryStore, model: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="dataclass"):
        DataclassAdapter(store, model)

"""Static types of the adapters, checked by pyright (`assert_type`) and run as ordinary tests."""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

from key_value.aio.adapters.base_model import BaseModelAdapter
from key_value.aio.adapters.dataclass import DataclassAdapter
from key_value.aio.adapters.pydantic import PydanticAdapter
from key_value.aio.adapters.raise_on_missing import RaiseOnMissingAdapter
from key_value.aio.stores.memory import MemoryStore

from .models import Point, User

ALICE = User(name="alice", age=30)


async def test_pydantic_adapter_types() -> None:
    users = PydanticAdapter(MemoryStore(), User)
    assert_type(users, PydanticAdapter[User])
    await users.put("k", ALICE)
    assert assert_type(await users.get("k"), User | None) == ALICE
    assert assert_type(await users.get("missing", default=ALICE), User) == ALICE
    assert assert_type(await users.get_many(["k", "missing"]), list[User | None]) == [ALICE, None]
    assert assert_type(await users.get_many(["missing"], default=ALICE), list[User]) == [ALICE]
    assert assert_type(await users.ttl("k"), tuple[User | None, float | None]) == (ALICE, None)
    assert assert_type(await users.ttl_many(["k"]), list[tuple[User | None, float | None]]) == [(ALICE, None)]
    assert assert_type(await users.delete("k"), bool) is True
    assert assert_type(await users.delete_many(["k"]), int) == 0


async def test_pydantic_adapter_infers_non_class_types() -> None:
    store = MemoryStore()
    numbers = PydanticAdapter(store, list[int])
    await numbers.put("k", [1, 2])
    assert assert_type(await numbers.get("k"), list[int] | None) == [1, 2]
    either = PydanticAdapter(store, int | str)
    await either.put("k", "text")
    assert assert_type(await either.get("k", default=0), int | str) == "text"
    mapping = PydanticAdapter(store, dict[str, float])
    assert assert_type(await mapping.get("missing"), dict[str, float] | None) is None


async def test_base_model_and_dataclass_adapter_types() -> None:
    store = MemoryStore()
    team = BaseModelAdapter(store, list[User])
    assert_type(team, BaseModelAdapter[list[User]])
    await team.put("t", [ALICE])
    assert assert_type(await team.get("t", default=[]), list[User]) == [ALICE]
    points = DataclassAdapter(store, Point)
    await points.put("p", Point(1, 2))
    assert assert_type(await points.get("p"), Point | None) == Point(1, 2)
    assert assert_type(await points.get_many(["p"], default=Point(0, 0)), list[Point]) == [Point(1, 2)]


async def test_raise_on_missing_types() -> None:
    adapter = RaiseOnMissingAdapter(MemoryStore())
    await adapter.put("k", {"v": 1})
    assert assert_type(await adapter.get("k"), dict[str, Any] | None) == {"v": 1}
    assert assert_type(await adapter.get("k", raise_on_missing=False), dict[str, Any] | None) == {"v": 1}
    assert assert_type(await adapter.get("k", raise_on_missing=True), dict[str, Any]) == {"v": 1}
    assert assert_type(await adapter.get_many(["k"], raise_on_missing=True), list[dict[str, Any]]) == [{"v": 1}]
    assert assert_type(await adapter.get_many(["x"]), list[dict[str, Any] | None]) == [None]
    ttl = await adapter.ttl("k", raise_on_missing=True)
    assert assert_type(ttl, tuple[dict[str, Any], float | None]) == ({"v": 1}, None)
    many = await adapter.ttl_many(["k"], raise_on_missing=True)
    assert assert_type(many, list[tuple[dict[str, Any], float | None]]) == [({"v": 1}, None)]
    assert assert_type(await adapter.ttl("x"), tuple[dict[str, Any] | None, float | None]) == (None, None)

"""BaseModelAdapter: one model class or a list of them, nothing else; shares PydanticAdapter's core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import BaseModel

from key_value.aio.adapters.base import BasePydanticAdapter
from key_value.aio.adapters.base_model import BaseModelAdapter
from key_value.aio.stores.memory import MemoryStore
from key_value.shared.errors import DeserializationError, InvalidArgumentError, SerializationError
from testing.ids import stable_id

from .models import Node, Point, User

ALICE = User(name="alice", age=30, tags={"a"})
BOB = User(name="bob", age=25)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


async def test_model(store: MemoryStore) -> None:
    users = BaseModelAdapter(store, User)
    assert isinstance(users, BasePydanticAdapter)
    await users.put("alice", ALICE, collection="people")
    assert await users.get("alice", collection="people") == ALICE
    raw = await store.get("alice", collection="people")
    assert raw is not None
    assert raw["name"] == "alice"
    assert "items" not in raw
    assert await users.get_many(["alice", "bob"], collection="people", default=BOB) == [ALICE, BOB]


async def test_recursive_model_stored_unwrapped(store: MemoryStore) -> None:
    tree = Node(name="root", children=[Node(name="leaf")])
    await BaseModelAdapter(store, Node).put("tree", tree)
    assert await store.get("tree") == {"name": "root", "children": [{"name": "leaf", "children": []}]}
    assert await BaseModelAdapter(store, Node).get("tree") == tree


async def test_list_of_models_wrapped(store: MemoryStore) -> None:
    team = BaseModelAdapter(store, list[User], default_collection="teams")
    await team.put("core", [ALICE, BOB], ttl=60)
    raw = await store.get("core", collection="teams")
    assert raw is not None
    assert list(raw) == ["items"]
    assert [member["name"] for member in raw["items"]] == ["alice", "bob"]
    value, remaining = await team.ttl("core")
    assert value == [ALICE, BOB]
    assert remaining is not None
    assert 59 < remaining <= 60
    assert await team.delete("core") is True
    assert await team.ttl_many(["core"]) == [(None, None)]


async def test_validation_error(store: MemoryStore) -> None:
    await store.put("bad", {"name": "x", "age": "old"})
    assert await BaseModelAdapter(store, User).get("bad") is None
    with pytest.raises(DeserializationError, match="BaseModel"):
        await BaseModelAdapter(store, User, raise_on_validation_error=True).get("bad")


async def test_wrong_value_refused(store: MemoryStore) -> None:
    users: BaseModelAdapter[Any] = BaseModelAdapter(store, User)
    with pytest.raises(SerializationError, match="BaseModel"):
        await users.put("p", Point(1, 2))
    assert await store.keys() == []


@pytest.mark.parametrize(
    "model",
    [int, dict, dict[str, User], tuple[User, ...], Sequence[User], list[int], list, Point, BaseModel | None],
    ids=stable_id,
)
def test_only_models_and_lists_of_models(store: MemoryStore, model: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="BaseModel"):
        BaseModelAdapter(store, model)

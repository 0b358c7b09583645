"""PydanticAdapter: typed round trips for any type, upstream's stored layout, validation and serialization errors."""

from __future__ import annotations

import datetime
import logging
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from typing_extensions import TypedDict

from key_value.aio.adapters.pydantic import PydanticAdapter
from key_value.aio.conditional import DELETE_CURRENT, KEEP_CURRENT
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.wrappers.base import BaseWrapper
from key_value.shared.errors import (
    DeserializationError,
    InvalidArgumentError,
    InvalidKeyError,
    InvalidTTLError,
    SerializationError,
)

from .models import WHEN, Node, Point, Profile, StrictEvent, User

ALICE = User(name="alice", age=30, tags={"admin", "ops"}, avatar=b"\x00png")
BOB = User(name="bob", age=25)


class Limits(TypedDict):
    low: int
    high: int


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def users(store: MemoryStore) -> PydanticAdapter[User]:
    return PydanticAdapter(store, User)


# -- round trips -------------------------------------------------------------------------------


async def test_model_round_trip(users: PydanticAdapter[User]) -> None:
    await users.put("alice", ALICE)
    got = await users.get("alice")
    assert got == ALICE
    assert got is not ALICE
    assert isinstance(got, User)


async def test_model_stored_as_json_object(store: MemoryStore, users: PydanticAdapter[User]) -> None:
    await users.put("alice", ALICE)
    raw = await store.get("alice")
    assert raw is not None
    assert raw["joined"] == WHEN.isoformat().replace("+00:00", "Z")
    assert sorted(raw["tags"]) == ["admin", "ops"]
    assert raw["avatar"] == "\x00png"
    assert set(raw) == {"name", "age", "joined", "tags", "avatar"}


@pytest.mark.parametrize(
    ("model", "value", "wrapped"),
    [
        (list[User], [ALICE, BOB], True),
        (dict[str, int], {"a": 1, "b": 2}, False),
        (dict[int, str], {1: "one"}, False),
        (Limits, Limits(low=1, high=2), False),
        (Point, Point(1, 2, ["p"]), False),
        (int, 7, True),
        (str, "text", True),
        (float, 2.5, True),
        (bool, True, True),
        (datetime.datetime, WHEN, True),
        (tuple[int, str], (1, "one"), True),
        (set[int], {1, 2, 3}, True),
        (User | int, BOB, True),
        (User | int, 5, True),
        (User | None, ALICE, True),
        (Node, Node(name="root", children=[Node(name="leaf")]), True),
        (Any, [1, "x"], True),
    ],
    ids=lambda item: getattr(item, "__name__", None) or repr(item)[:30],
)
async def test_round_trip_and_layout(store: MemoryStore, model: Any, value: Any, wrapped: bool) -> None:
    adapter: PydanticAdapter[Any] = PydanticAdapter(store, model)
    await adapter.put("key", value)
    assert await adapter.get("key") == value
    raw = await store.get("key")
    assert raw is not None
    assert (set(raw) == {"items"}) == wrapped


async def test_wrapped_layout_is_upstreams(store: MemoryStore) -> None:
    """Data written by py-key-value-aio (`{"items": ...}` for non-objects) reads back, and ours matches it."""
    await store.put("scores", {"items": [1, 2, 3]})
    adapter = PydanticAdapter(store, list[int])
    assert await adapter.get("scores") == [1, 2, 3]
    await adapter.put("mine", [4, 5])
    assert await store.get("mine") == {"items": [4, 5]}


async def test_aliased_fields(store: MemoryStore) -> None:
    profiles = PydanticAdapter(store, Profile)
    profile = Profile.model_validate({"userName": "ada", "displayName": "Ada L."})
    await profiles.put("ada", profile)
    assert await store.get("ada") == {"user_name": "ada", "display": "Ada L."}  # field names, as upstream stores
    assert await profiles.get("ada") == profile
    await store.put("grace", {"userName": "grace", "displayName": "G. H."})  # written by others, under aliases
    assert await profiles.get("grace") == Profile.model_validate({"userName": "grace", "displayName": "G. H."})


async def test_strict_model_reads_json_types(store: MemoryStore) -> None:
    events = PydanticAdapter(store, StrictEvent)
    event = StrictEvent(at=WHEN, pair=(1, 2))
    await events.put("e", event)
    assert await events.get("e") == event


async def test_union_keeps_the_dumped_type(store: MemoryStore) -> None:
    adapter = PydanticAdapter(store, datetime.datetime | str)
    await adapter.put("when", WHEN)
    assert await adapter.get("when") == WHEN
    await adapter.put("text", "not a date")
    assert await adapter.get("text") == "not a date"


async def test_stored_none_is_not_the_default(store: MemoryStore) -> None:
    adapter = PydanticAdapter(store, int | None)
    await adapter.put("nothing", None)
    assert await adapter.get("nothing", default=5) is None
    assert await adapter.get("missing", default=5) == 5


# -- the rest of the protocol -----------------------------------------------------------------


async def test_missing_and_defaults(users: PydanticAdapter[User]) -> None:
    assert await users.get("nobody") is None
    assert await users.get("nobody", default=BOB) == BOB
    await users.put("alice", ALICE)
    assert await users.get("alice", default=BOB) == ALICE
    assert await users.get_many(["alice", "nobody"]) == [ALICE, None]
    assert await users.get_many(["nobody", "alice"], default=BOB) == [BOB, ALICE]
    assert await users.ttl("nobody") == (None, None)
    assert await users.ttl_many(["nobody"]) == [(None, None)]


async def test_bulk_and_delete(users: PydanticAdapter[User]) -> None:
    await users.put_many(["alice", "bob"], [ALICE, BOB], collection="people")
    assert await users.get_many(["bob", "alice"], collection="people") == [BOB, ALICE]
    assert await users.get("alice") is None
    assert await users.delete("alice", collection="people") is True
    assert await users.delete("alice", collection="people") is False
    assert await users.delete_many(["alice", "bob", "carol"], collection="people") == 1
    assert await users.get_many(["alice", "bob"], collection="people") == [None, None]
    assert await users.get_many([]) == []


async def test_ttl(users: PydanticAdapter[User]) -> None:
    await users.put("alice", ALICE, ttl=100)
    await users.put("bob", BOB)
    value, remaining = await users.ttl("alice")
    assert value == ALICE
    assert remaining is not None
    assert 99 < remaining <= 100
    [(first, first_ttl), (second, second_ttl)] = await users.ttl_many(["alice", "bob"])
    assert (first, second, second_ttl) == (ALICE, BOB, None)
    assert first_ttl is not None
    assert 99 < first_ttl <= 100
    await users.put_many(["carol"], [BOB], ttl=50)
    carol_ttl = (await users.ttl("carol"))[1]
    assert carol_ttl is not None
    assert 49 < carol_ttl <= 50


async def test_default_collection(store: MemoryStore) -> None:
    adapter = PydanticAdapter(store, User, default_collection="people")
    await adapter.put("alice", ALICE)
    assert await store.get("alice", collection="people") is not None
    assert await store.get("alice") is None
    assert await adapter.get("alice") == ALICE
    await adapter.put("bob", BOB, collection="other")
    assert await adapter.get("bob") is None
    assert await adapter.get("bob", collection="other") == BOB
    assert await adapter.ttl_many(["alice", "bob"]) == [(ALICE, None), (None, None)]
    assert await adapter.delete_many(["alice", "bob"]) == 1


async def test_positional_options_as_upstream(store: MemoryStore) -> None:
    adapter = PydanticAdapter(store, User, "people", True)
    await store.put("broken", {"name": 1}, collection="people")
    with pytest.raises(DeserializationError):
        await adapter.get("broken")


# -- bad input ---------------------------------------------------------------------------------


async def test_invalid_stored_data_raises_when_asked(store: MemoryStore) -> None:
    adapter = PydanticAdapter(store, User, raise_on_validation_error=True)
    await store.put("bad", {"name": "x", "age": "not a number"})
    with pytest.raises(DeserializationError, match=r"age"):
        await adapter.get("bad")
    with pytest.raises(DeserializationError, match=r"age"):
        await adapter.get("bad", default=BOB)
    with pytest.raises(DeserializationError, match=r"age"):
        await adapter.get_many(["bad"])
    with pytest.raises(DeserializationError, match=r"age"):
        await adapter.ttl("bad")
    with pytest.raises(DeserializationError, match=r"age"):
        await adapter.ttl_many(["bad"])


async def test_invalid_stored_data_gives_default_and_logs(store: MemoryStore, caplog: pytest.LogCaptureFixture) -> None:
    adapter = PydanticAdapter(store, User)
    await store.put("bad", {"name": "x"}, ttl=100)
    with caplog.at_level(logging.ERROR):
        assert await adapter.get("bad") is None
    assert "age" in caplog.text
    assert "'bad'" in caplog.text
    (record,) = caplog.records
    assert record.levelno == logging.ERROR  # as py-key-value logs a dropped value
    assert record.__dict__["model_type"] == "User"
    assert await adapter.get("bad", default=BOB) == BOB
    assert await adapter.get_many(["bad"], default=BOB) == [BOB]
    assert await adapter.ttl("bad") == (None, None)
    assert await adapter.ttl_many(["bad"]) == [(None, None)]


async def test_wrapped_payload_without_items(store: MemoryStore) -> None:
    await store.put("flat", {"value": [1, 2]})
    assert await PydanticAdapter(store, list[int]).get("flat") is None
    with pytest.raises(DeserializationError, match="items"):
        await PydanticAdapter(store, list[int], raise_on_validation_error=True).get("flat")


@pytest.mark.parametrize(
    "value",
    ["not a user", {"name": "alice", "age": 30}, 5, Point(1, 2)],
    ids=["str", "dict", "int", "dataclass"],
)
async def test_wrong_type_refused_and_nothing_written(store: MemoryStore, value: Any) -> None:
    adapter: PydanticAdapter[Any] = PydanticAdapter(store, User)
    with pytest.raises(SerializationError):
        await adapter.put("key", value)
    with pytest.raises(SerializationError):
        await adapter.put_many(["ok", "key"], [ALICE, value])
    assert await store.keys() == []


async def test_undumpable_values_refused(store: MemoryStore) -> None:
    with pytest.raises(SerializationError):
        await PydanticAdapter(store, User).put("bytes", User(name="x", age=1, avatar=b"\xff"))
    with pytest.raises(SerializationError):
        await PydanticAdapter(store, float).put("nan", math.nan)
    with pytest.raises(SerializationError):
        await PydanticAdapter(store, list[float]).put_many(["a", "b"], [[1.0], [math.inf]])
    assert await store.keys() == []


async def test_bad_arguments_write_nothing(store: MemoryStore, users: PydanticAdapter[User]) -> None:
    with pytest.raises(InvalidKeyError):
        await users.put("", ALICE)
    with pytest.raises(InvalidKeyError):
        await users.put("alice", ALICE, collection="")
    with pytest.raises(InvalidTTLError):
        await users.put("alice", ALICE, ttl=-1)
    with pytest.raises(InvalidKeyError):
        await users.put_many("ab", [ALICE, BOB])
    with pytest.raises(InvalidArgumentError):
        await users.put_many(["alice", "bob"], [ALICE])
    with pytest.raises(InvalidKeyError):
        await users.get_many(["alice", ""])
    assert await store.keys() == []


@pytest.mark.parametrize("model", [5, object(), type("Opaque", (), {})], ids=["int", "object", "class"])
def test_unsupported_type_refused(store: MemoryStore, model: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="pydantic cannot validate"):
        PydanticAdapter(store, model)


@pytest.mark.parametrize("collection", ["", 5])
def test_bad_default_collection(store: MemoryStore, collection: Any) -> None:
    with pytest.raises(InvalidKeyError):
        PydanticAdapter(store, User, default_collection=collection)


# -- another backend ---------------------------------------------------------------------------


@pytest.fixture
async def disk_users(tmp_path: Path) -> AsyncIterator[PydanticAdapter[User]]:
    from key_value.aio.stores.disk import DiskStore  # noqa: PLC0415 - only this test needs diskcache

    disk = DiskStore(directory=tmp_path / "disk")
    try:
        yield PydanticAdapter(disk, User, default_collection="people")
    finally:
        await disk.close()


async def test_disk_store(disk_users: PydanticAdapter[User]) -> None:
    await disk_users.put_many(["alice", "bob"], [ALICE, BOB], ttl=100)
    assert await disk_users.get_many(["alice", "bob", "carol"]) == [ALICE, BOB, None]
    value, remaining = await disk_users.ttl("alice")
    assert value == ALICE
    assert remaining is not None
    assert remaining > 99
    assert await disk_users.delete("bob") is True
    assert await disk_users.get("bob", default=ALICE) == ALICE


# -- conditional calls on models ------------------------------------------------------------------


async def test_put_if_absent_has_one_winner(users: PydanticAdapter[User], store: MemoryStore) -> None:
    assert await users.put_if_absent("u", ALICE, collection="c", ttl=60)
    assert not await users.put_if_absent("u", BOB, collection="c")
    assert await users.get("u", collection="c") == ALICE
    _, remaining = await store.ttl("u", collection="c")
    assert remaining is not None
    assert 59 < remaining <= 60
    with pytest.raises(SerializationError):
        await users.put_if_absent("v", {"not": "a user"}, collection="c")  # type: ignore[arg-type]
    assert await store.get("v", collection="c") is None


async def test_transform_works_on_models(users: PydanticAdapter[User], store: MemoryStore) -> None:
    def birthday(user: User | None) -> User:
        return BOB if user is None else user.model_copy(update={"age": user.age + 1})

    assert await users.transform("u", birthday) == BOB
    assert await users.transform("u", birthday) == BOB.model_copy(update={"age": 26})
    assert await store.get("u") == {**(await store.get("u") or {}), "age": 26}
    assert await users.transform("u", lambda _: KEEP_CURRENT) == BOB.model_copy(update={"age": 26})
    assert await users.transform("u", lambda _: DELETE_CURRENT) is None
    assert await store.get("u") is None
    with pytest.raises(SerializationError):
        await users.transform("u", lambda _: {"not": "a user"})
    assert await store.get("u") is None


async def test_transform_of_an_invalid_value(store: MemoryStore) -> None:
    await store.put("u", {"name": "no age"})
    with pytest.raises(DeserializationError):
        await PydanticAdapter(store, User, raise_on_validation_error=True).transform("u", lambda user: user)
    lenient = PydanticAdapter(store, User)  # py-key-value's default: invalid values read as missing
    assert await lenient.transform("u", lambda user: BOB if user is None else user) == BOB  # read as missing


async def test_conditional_calls_need_a_conditional_store() -> None:
    class PlainStore(BaseWrapper):
        """A wrapper without the conditional segment."""

    users = PydanticAdapter(PlainStore(MemoryStore()), User)
    with pytest.raises(InvalidArgumentError, match="conditional"):
        await users.put_if_absent("u", ALICE)

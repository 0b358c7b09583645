"""Routing wrappers: the contract holds across stores; segments and lifecycle reach each store once."""

from __future__ import annotations

import pytest

from key_value.aio.protocols.key_value import AsyncEnumerateKeysProtocol, AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.null import NullStore
from key_value.aio.wrappers.base import ALL_SEGMENTS
from key_value.aio.wrappers.routing import CollectionRoutingWrapper, RoutingWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError

from ..support.contract import ContractTests
from ..support.doubles import Limited, RecordingStore, full


class CountingStore(MemoryStore):
    """A MemoryStore that counts destroy and cull calls."""

    def __init__(self, *, default_collection: str | None = None) -> None:
        super().__init__(default_collection=default_collection)
        self.destroyed = 0
        self.culled = 0

    async def _destroy(self) -> bool:
        self.destroyed += 1
        return await super()._destroy()

    async def _cull(self) -> None:
        self.culled += 1
        await super()._cull()


class TestCollectionRouting(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> CollectionRoutingWrapper:
        second = MemoryStore()
        routes = {"one": second, "many": MemoryStore(), "busy": second, "round": inner_store, "coll-3": second}
        return CollectionRoutingWrapper(routes, default_store=inner_store)


class TestFunctionRouting(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> RoutingWrapper:
        other = MemoryStore()
        return RoutingWrapper(lambda name: other if name in ("one", "busy", "bulk") else None, inner_store)


class TestStackOfThree(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> CollectionRoutingWrapper:
        left = CollectionRoutingWrapper({"two": MemoryStore()}, MemoryStore())
        right = CollectionRoutingWrapper({"many": MemoryStore()}, inner_store)
        return CollectionRoutingWrapper({"one": left, "two": left, "busy": left}, right)


async def test_calls_and_keys_go_to_the_routed_store() -> None:
    default, users = MemoryStore(), MemoryStore()
    router = full(CollectionRoutingWrapper({"users": users}, default))
    await router.put("u1", {"v": 1}, collection="users")
    await router.put_many(["a", "b"], [{"v": 1}, {"v": 2}], collection="misc")
    await default.put("stray", {"v": 0}, collection="users")  # not reachable through the router
    assert await users.get("u1", collection="users") == {"v": 1}
    assert await default.get_many(["a", "b"], collection="misc") == [{"v": 1}, {"v": 2}]
    assert await router.keys("users") == ["u1"]
    assert sorted(await router.keys("misc")) == ["a", "b"]
    assert await router.ttl_many(["u1"], collection="users") == [({"v": 1}, None)]
    assert await router.delete_many(["u1"], collection="users") == 1
    assert await default.get("stray", collection="users") == {"v": 0}


async def test_collections_listed_only_from_their_own_store() -> None:
    default, users = MemoryStore(), MemoryStore()
    router = full(CollectionRoutingWrapper({"users": users}, default))
    await router.put("k", {"v": 1}, collection="users")
    await router.put("k", {"v": 1}, collection="misc")
    await default.put("k", {"v": 1}, collection="users")  # stray copy: "users" routes elsewhere
    await users.put("k", {"v": 1}, collection="elsewhere")  # stray: "elsewhere" routes to default
    assert sorted(await router.collections()) == ["misc", "users"]
    assert len(await router.collections(limit=1)) == 1
    assert await router.collections(limit=0) == []
    assert await router.destroy_collection("users") is True
    assert await router.collections() == ["misc"]
    assert await default.get("k", collection="users") == {"v": 1}


async def test_destroy_and_cull_reach_each_store_once() -> None:
    default, shared, other = CountingStore(), CountingStore(), CountingStore()
    wrapper = CollectionRoutingWrapper({"a": shared, "b": shared, "c": other, "d": default}, default)
    assert wrapper.wrapped_stores == [default, shared, other]
    router = full(wrapper)
    await router.put("k", {"v": 1}, collection="a")
    await router.cull()
    assert await router.destroy() is True
    assert [store.destroyed for store in (default, shared, other)] == [1, 1, 1]
    assert [store.culled for store in (default, shared, other)] == [1, 1, 1]
    assert await router.destroy() is False


async def test_lifecycle_reaches_each_store_once() -> None:
    default, shared = RecordingStore(), RecordingStore()
    async with CollectionRoutingWrapper({"a": shared, "b": shared}, default) as router:
        await router.put("k", {"v": 1}, collection="b")
    await router.close()
    assert default.events == ["enter", "exit", "close"]
    assert shared.events == ["enter", "exit", "close"]


async def test_function_router_manages_only_the_default_store() -> None:
    default, other = RecordingStore(), RecordingStore()
    async with RoutingWrapper(lambda name: other if name == "o" else None, default) as router:
        await router.put("k", {"v": 1}, collection="o")
    await router.close()
    assert default.events == ["enter", "exit", "close"]
    assert other.events == []
    assert await other.get("k", collection="o") == {"v": 1}


async def test_none_routed_as_upstream_and_passed_through() -> None:
    seen: list[str | None] = []
    default, elsewhere = MemoryStore(default_collection="d"), MemoryStore(default_collection="e")

    def route(name: str | None) -> AsyncKeyValue | None:
        seen.append(name)
        return elsewhere if name is None else None

    router = RoutingWrapper(route, default)
    await router.put("k", {"v": 1})
    assert seen == [None]
    assert await elsewhere.get("k", collection="e") == {"v": 1}

    mapped = CollectionRoutingWrapper({"e": elsewhere}, default)
    await mapped.put("k", {"v": 2})
    assert await default.get("k", collection="d") == {"v": 2}
    assert mapped.default_collection == "d"


async def test_routing_function_sees_only_valid_names() -> None:
    seen: list[str | None] = []

    def route(name: str | None) -> AsyncKeyValue | None:
        seen.append(name)

    router = RoutingWrapper(route, MemoryStore())
    for bad in ("", 3, b"x"):
        with pytest.raises(InvalidKeyError):
            await router.put("k", {"v": 1}, collection=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError):
        await CollectionRoutingWrapper({"a": MemoryStore()}, MemoryStore()).get("k", collection=["a"])  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError):
        await full(CollectionRoutingWrapper({"a": MemoryStore()}, MemoryStore())).destroy_collection("")
    assert seen == []


def test_capabilities_are_what_every_store_has() -> None:
    assert CollectionRoutingWrapper({"a": MemoryStore()}, MemoryStore()).capabilities == ALL_SEGMENTS
    keys_only = CollectionRoutingWrapper({"a": Limited(MemoryStore(), Capability.KEYS)}, MemoryStore())
    assert keys_only.capabilities == Capability.KEYS
    nothing = CollectionRoutingWrapper({"a": NullStore()}, MemoryStore())
    assert nothing.capabilities == Capability.CONDITIONAL  # NullStore's only segment
    assert not isinstance(nothing, AsyncEnumerateKeysProtocol)
    stacked = CollectionRoutingWrapper({"a": CollectionRoutingWrapper({}, NullStore())}, MemoryStore())
    assert (
        CollectionRoutingWrapper({}, stacked).capabilities == Capability.CONDITIONAL
    )  # what NullStore and MemoryStore share
    function_router = RoutingWrapper(lambda name: None, MemoryStore())
    assert function_router.capabilities == Capability.NONE
    assert not isinstance(function_router, AsyncEnumerateKeysProtocol)


def test_bad_options() -> None:
    with pytest.raises(InvalidArgumentError):
        RoutingWrapper("not callable", MemoryStore())  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        CollectionRoutingWrapper([("a", MemoryStore())], MemoryStore())  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        CollectionRoutingWrapper({"": MemoryStore()}, MemoryStore())
    default = MemoryStore(default_collection="main")
    with pytest.raises(InvalidArgumentError):
        CollectionRoutingWrapper({"main": MemoryStore()}, default)
    assert CollectionRoutingWrapper({"main": default}, default).wrapped_stores == [default]

"""`@cached` on every store kind of the mapping tests: hits and misses, keys, TTLs, typed results, codecs,
methods, stampedes within a process and between decorated copies, stale results, a store that is down."""

from __future__ import annotations

import datetime
import json
import logging
import time
from typing import Any, cast

import pytest
from pydantic import BaseModel

from key_value.aio.cache import AsyncCachedFunction, cached
from key_value.aio.protocols.capabilities import capabilities_of
from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.shared.cache import MAX_READABLE_KEY
from key_value.shared.capabilities import Capability
from key_value.shared.errors import (
    InvalidArgumentError,
    InvalidArgumentTypeError,
    InvalidTTLError,
    SerializationError,
    StoreConnectionError,
    UnsupportedOperationError,
)
from testing.servers._process import free_port

from ..support.doubles import Limited
from ..support.timing import sleep

if True:  # ASYNC
    import asyncio

    async def together(calls: list[Any]) -> list[Any]:
        """Run the calls (coroutines) at the same time; their results in order."""
        return list(await asyncio.gather(*calls))

    def call_later(function: Any, *args: Any) -> Any:
        return function(*args)

else:
    from concurrent.futures import ThreadPoolExecutor

    def together(calls: list[Any]) -> list[Any]:
        """Run the calls (argument-less callables) in one thread each; their results in order."""
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            futures = [pool.submit(call) for call in calls]
            return [future.result() for future in futures]

    def call_later(function: Any, *args: Any) -> Any:
        return lambda: function(*args)


class User(BaseModel):
    id: int
    name: str
    joined: datetime.date


class Recorder:
    """A slow function's calls, by argument."""

    def __init__(self, pause: float = 0.0) -> None:
        self.calls: list[Any] = []
        self.pause = pause

    async def __call__(self, value: Any) -> Any:
        self.calls.append(value)
        if self.pause:
            await sleep(self.pause)
        return {"value": value, "call": len(self.calls)}


def counting(store: AsyncKeyValue, recorder: Recorder, **options: Any) -> AsyncCachedFunction[..., Any]:
    @cached(store, collection="cache", **options)
    async def compute(value: Any) -> Any:
        return await recorder(value)

    return compute


# --- hits, misses, keys ---------------------------------------------------------------------------


async def test_miss_then_hit(kv: AsyncKeyValue) -> None:
    recorder = Recorder()
    compute = counting(kv, recorder)
    assert await compute(1) == {"value": 1, "call": 1}
    assert await compute(1) == {"value": 1, "call": 1}
    assert await compute(2) == {"value": 2, "call": 2}
    assert recorder.calls == [1, 2]
    info = compute.cache_info()
    assert (info.hits, info.misses, info.stale, info.errors, info.calls) == (1, 2, 0, 0, 2)
    stored = await kv.get(compute.cache_key(1), collection="cache")  # what a plain reader sees
    assert stored == {"__result__": {"value": 1, "call": 1}, "__fresh_until__": None}
    compute.cache_clear_info()
    assert compute.cache_info().hits == 0
    assert await compute(1) == {"value": 1, "call": 1}


async def test_arguments_bound_through_the_signature(kv: AsyncKeyValue) -> None:
    calls: list[tuple[Any, ...]] = []

    @cached(kv)
    async def add(a: int, b: int = 2, *rest: int, scale: int = 1, **named: int) -> int:
        calls.append((a, b, rest, scale, named))
        return (a + b + sum(rest) + sum(named.values())) * scale

    assert await add(1) == 3
    assert await add(1, 2) == 3
    assert await add(a=1, b=2) == 3
    assert await add(1, b=2, scale=1) == 3
    assert len(calls) == 1
    assert await add(1, 2, 3) == 6
    assert await add(1, 2, x=1, y=2) == 6
    assert await add(1, 2, y=2, x=1) == 6  # keyword order does not matter
    assert await add(1.0) == 3  # pyright: ignore[reportArgumentType] - a float is not the int it equals
    assert len(calls) == 4
    with pytest.raises(TypeError):
        await add()  # pyright: ignore[reportCallIssue] - the signature's own error, as a call would raise it
    assert len(calls) == 4


async def test_key_is_the_documented_one() -> None:
    @cached(MemoryStore())
    async def lookup(name: str, limit: int = 10) -> list[str]:
        return [name] * limit

    prefix = f"{__name__}.test_key_is_the_documented_one.<locals>.lookup"
    assert lookup.cache_key("é") == prefix + ':{"limit":10,"name":"é"}'
    long = lookup.cache_key("x" * MAX_READABLE_KEY)
    digest = long.removeprefix(prefix + ":sha256:")
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert lookup.cache_key("x" * MAX_READABLE_KEY) == long
    assert lookup.cache_key("y" * MAX_READABLE_KEY) != long

    @cached(MemoryStore(), namespace="v2")
    async def versioned(name: str) -> str:
        return name

    assert versioned.cache_key("a").startswith(f"v2:{__name__}.")


async def test_long_arguments_hit(kv: AsyncKeyValue) -> None:
    recorder = Recorder()
    compute = counting(kv, recorder)
    big = "x" * 5000
    assert (await compute(big))["value"] == big
    assert (await compute(big))["value"] == big
    assert len(recorder.calls) == 1
    assert len(compute.cache_key(big)) < MAX_READABLE_KEY + 100


@pytest.mark.parametrize(
    ("argument", "kind"),
    [
        (object(), "object"),
        ({1: "int key"}, "dict key"),
        (float("nan"), "nan"),
        ([1, object()], "nested"),
    ],
)
async def test_argument_that_cannot_be_a_key(argument: Any, kind: str) -> None:
    store = MemoryStore()
    recorder = Recorder()
    compute = counting(store, recorder)
    with pytest.raises(InvalidArgumentTypeError):
        await compute(argument)
    assert recorder.calls == [], kind
    assert await store.keys("cache") == []


async def test_argument_kinds_make_distinct_keys() -> None:
    compute = counting(MemoryStore(), Recorder())
    arguments = [
        1,
        1.0,
        True,
        "1",
        [1],
        {"a": 1},
        {1, 2},
        frozenset({3}),
        datetime.date(2024, 1, 1),
        datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
        datetime.timedelta(seconds=1),
        b"1",
        User(id=1, name="a", joined=datetime.date(2024, 1, 1)),
        Capability.KEYS,
        None,
    ]
    keys = [compute.cache_key(argument) for argument in arguments]
    assert len(set(keys)) == len(keys)
    assert compute.cache_key({2, 1}) == compute.cache_key({1, 2})
    assert compute.cache_key((1,)) == compute.cache_key([1])  # documented: tuples count as lists


async def test_key_callable(kv: AsyncKeyValue) -> None:
    calls: list[int] = []

    def user_key(user_id: int, request: object = None) -> str:
        del request
        return f"user-{user_id}"

    @cached(kv, key=user_key)
    async def load(user_id: int, request: object = None) -> int:
        del request
        calls.append(user_id)
        return user_id

    assert await load(7, object()) == 7
    assert await load(7, object()) == 7  # an unserialisable argument the key leaves out
    assert calls == [7]
    assert load.cache_key(7).endswith(":user-7")

    def not_a_str(value: object) -> str:
        return cast("str", value)

    @cached(kv, key=not_a_str)
    async def bad(value: object) -> object:
        return value

    with pytest.raises(InvalidArgumentTypeError):
        await bad(3)


# --- results --------------------------------------------------------------------------------------


async def test_none_is_cached_unless_asked_not_to(kv: AsyncKeyValue) -> None:
    calls: list[str] = []

    @cached(kv)
    async def nothing(name: str) -> None:
        calls.append(name)

    @cached(kv, cache_none=False)
    async def nothing_uncached(name: str) -> None:
        calls.append("uncached " + name)

    assert await nothing("a") is None
    assert await nothing("a") is None
    assert await nothing_uncached("a") is None
    assert await nothing_uncached("a") is None
    assert calls == ["a", "uncached a", "uncached a"]


async def test_exceptions_are_not_cached(kv: AsyncKeyValue) -> None:
    attempts: list[int] = []

    @cached(kv)
    async def flaky(value: int) -> int:
        attempts.append(value)
        if len(attempts) == 1:
            raise RuntimeError("first call fails")
        return value

    with pytest.raises(RuntimeError):
        await flaky(1)
    assert await flaky(1) == 1
    assert await flaky(1) == 1
    assert attempts == [1, 1]


async def test_result_that_is_not_json_is_refused(kv: AsyncKeyValue) -> None:
    @cached(kv)
    async def when() -> datetime.date:
        return datetime.date(2024, 1, 1)

    @cached(kv)
    async def pair() -> tuple[int, int]:
        return (1, 2)

    with pytest.raises(SerializationError):
        await when()
    with pytest.raises(SerializationError):
        await pair()  # a tuple would come back as a list


async def test_typed_results(kv: AsyncKeyValue) -> None:
    calls: list[int] = []

    @cached(kv, model=User)
    async def load(user_id: int) -> User:
        calls.append(user_id)
        return User(id=user_id, name=f"u{user_id}", joined=datetime.date(2024, 5, 1))

    @cached(kv, model=list[User])
    async def team() -> list[User]:
        return [await load(1), await load(2)]

    first = await load(1)
    again = await load(1)
    assert isinstance(again, User)
    assert again == first
    assert again.joined == datetime.date(2024, 5, 1)
    members = await team()
    members_again = await team()
    assert all(isinstance(member, User) for member in members_again)
    assert members_again == members
    assert calls == [1, 2]
    assert await kv.get(load.cache_key(1)) == {
        "__result__": {"id": 1, "name": "u1", "joined": "2024-05-01"},
        "__fresh_until__": None,
    }


async def test_stored_result_that_no_longer_validates_is_a_miss(
    kv: AsyncKeyValue, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    @cached(kv, model=User)
    async def load(user_id: int) -> User:
        calls.append(user_id)
        return User(id=user_id, name="fresh", joined=datetime.date(2024, 1, 1))

    await kv.put(load.cache_key(1), {"__result__": {"id": "not a number"}, "__fresh_until__": None})
    await kv.put(load.cache_key(2), {"something": "else"})
    with caplog.at_level(logging.WARNING, logger="key_value.cache"):
        assert (await load(1)).name == "fresh"
        assert (await load(2)).name == "fresh"
    assert calls == [1, 2]
    assert "unusable" in caplog.text
    assert (await load(1)).name == "fresh"  # the recomputed result replaced the bad one
    assert calls == [1, 2]


async def test_pickle_codec(kv: AsyncKeyValue) -> None:
    calls: list[int] = []

    @cached(kv, codec="pickle")
    async def build(size: int) -> dict[str, Any]:
        calls.append(size)
        return {
            "set": set(range(size)),
            "when": datetime.datetime(2024, 1, 1, 12, tzinfo=datetime.timezone.utc),
            "t": (1, 2),
        }

    first = await build(3)
    again = await build(3)
    assert (
        again
        == first
        == {"set": {0, 1, 2}, "when": datetime.datetime(2024, 1, 1, 12, tzinfo=datetime.timezone.utc), "t": (1, 2)}
    )
    assert calls == [3]
    stored = await kv.get(build.cache_key(3))
    assert stored is not None
    assert stored["__codec__"] == "pickle"
    assert isinstance(stored["__result__"], str)

    @cached(kv, namespace="other")  # a json reader of the same key ...
    async def build_json(size: int) -> Any:
        return size

    build_json_key = build_json.cache_key(3)
    await kv.put(build_json_key, stored)
    assert await build_json(3) == 3  # ... finds a pickle entry: a miss, not a wrong value


async def test_bad_options() -> None:
    store = MemoryStore()

    async def function() -> int:
        return 1

    with pytest.raises(InvalidTTLError):
        cached(store, ttl=-1)
    with pytest.raises(InvalidTTLError):
        cached(store, stale_ttl=5)  # stale needs a ttl
    with pytest.raises(InvalidTTLError):
        cached(store, lock_timeout=0)
    with pytest.raises(InvalidArgumentError):
        cached(store, on_store_error="ignore")
    with pytest.raises(InvalidArgumentError):
        cached(store, codec="yaml")  # pyright: ignore[reportArgumentType]
    with pytest.raises(InvalidArgumentError):
        cached(store, codec="pickle", model=User)
    with pytest.raises(InvalidArgumentTypeError):
        cached(store, cache_none=1)  # pyright: ignore[reportArgumentType]
    with pytest.raises(InvalidArgumentTypeError):
        cached(store, namespace="")
    with pytest.raises(InvalidArgumentTypeError):
        cached("redis://localhost")  # pyright: ignore[reportArgumentType]
    with pytest.raises(InvalidArgumentTypeError):
        cached(store)(staticmethod(function))
    if True:  # ASYNC

        def plain() -> int:
            return 1

        with pytest.raises(InvalidArgumentTypeError):
            cached(store)(plain)  # pyright: ignore[reportArgumentType]
    else:
        namespace: dict[str, Any] = {}
        exec(
            "async def coroutine_function():\n    return 1", namespace
        )  # a coroutine function, which this twin refuses
        with pytest.raises(InvalidArgumentTypeError):
            cached(store)(namespace["coroutine_function"])


# --- TTL, invalidation ----------------------------------------------------------------------------


async def test_ttl_expiry(kv: AsyncKeyValue) -> None:
    recorder = Recorder()
    compute = counting(kv, recorder, ttl=0.5)
    await compute(1)
    await compute(1)
    assert len(recorder.calls) == 1
    _, remaining = await kv.ttl(compute.cache_key(1), collection="cache")
    assert remaining is not None
    assert 0 < remaining <= 0.5
    await sleep(0.8)
    assert (await compute(1))["call"] == 2


async def test_invalidate(kv: AsyncKeyValue) -> None:
    recorder = Recorder()
    compute = counting(kv, recorder)
    other = counting(kv, Recorder(), namespace="other")
    for value in (1, 2, 3):
        await compute(value)
    await other(1)
    await kv.put("unrelated", {"v": 1}, collection="cache")
    assert await compute.invalidate(1) is True
    assert await compute.invalidate(1) is False
    assert (await compute(1))["call"] == 4
    assert Capability.KEYS in capabilities_of(kv)  # every kind lists keys; test_invalidate_all_needs_key_listing
    assert await compute.invalidate_all() == 3
    assert (await compute(2))["call"] == 5
    assert await kv.get("unrelated", collection="cache") == {"v": 1}
    assert (await other(1))["call"] == 1  # another function's entries stay


async def test_invalidate_all_needs_key_listing() -> None:
    compute = counting(Limited(MemoryStore(), Capability.CONDITIONAL), Recorder())
    await compute(1)
    with pytest.raises(UnsupportedOperationError):
        await compute.invalidate_all()


# --- methods --------------------------------------------------------------------------------------


class Service:
    store: AsyncKeyValue = MemoryStore()
    calls: list[str] = []  # noqa: RUF012 - shared by the class and its instances on purpose

    def __init__(self, name: str) -> None:
        self.name = name

    @cached(store)
    async def greet(self, who: str) -> str:
        self.calls.append(f"greet {who}")
        return f"{self.name} greets {who}"

    @staticmethod
    @cached(store)
    async def double(value: int) -> int:
        Service.calls.append(f"double {value}")
        return value * 2

    @classmethod
    @cached(store)
    async def describe(cls, value: int) -> str:
        cls.calls.append(f"describe {value}")
        return f"{cls.__name__} {value}"


async def test_methods() -> None:
    one, two = Service("one"), Service("two")
    assert await one.greet("ann") == "one greets ann"
    assert await two.greet("ann") == "one greets ann"  # `self` is not part of the key (documented)
    assert await Service.double(2) == 4
    assert await one.double(2) == 4
    assert await Service.describe(3) == "Service 3"  # pyright: ignore[reportCallIssue] - see docs/cache.md
    assert await one.describe(3) == "Service 3"
    assert Service.calls == ["greet ann", "double 2", "describe 3"]
    assert one.greet.cache_key("ann") == two.greet.cache_key("ann")
    assert await one.greet.invalidate("ann") is True
    assert await two.greet("ann") == "two greets ann"
    assert one.greet.cache_info().misses == 2
    assert one.greet.__name__ == "greet"


# --- stampedes ------------------------------------------------------------------------------------


async def test_concurrent_callers_share_one_call(kv: AsyncKeyValue) -> None:
    recorder = Recorder(pause=0.2)
    compute = counting(kv, recorder)
    results = await together([call_later(compute, "cold") for _ in range(50)])
    assert recorder.calls == ["cold"]
    assert all(result == {"value": "cold", "call": 1} for result in results)
    info = compute.cache_info()
    assert info.calls == 1
    assert info.hits + info.misses == 50


async def test_decorated_copies_share_one_call_through_the_lock(kv: AsyncKeyValue) -> None:
    """Two decorated copies of one function (as two processes have): one computes, the other waits for
    its result, where the store has the conditional segment; else both compute (documented)."""
    recorder = Recorder(pause=0.3)
    first = counting(kv, recorder)
    second = counting(kv, recorder)
    results = await together([call_later(first, "cold"), call_later(second, "cold")])
    conditional = Capability.CONDITIONAL in capabilities_of(kv)
    if conditional:
        assert recorder.calls == ["cold"]
        assert results[0] == results[1]
        assert await kv.get(first.cache_key("cold") + "|lock", collection="cache") is None  # released
    else:
        assert recorder.calls == ["cold", "cold"]


async def test_a_held_lock_is_waited_for_at_most_lock_timeout(kv: AsyncKeyValue) -> None:
    if Capability.CONDITIONAL not in capabilities_of(kv):
        pytest.skip("without the conditional segment there is no lock to wait for")
    recorder = Recorder()
    compute = counting(kv, recorder, lock_timeout=0.4)
    await kv.put(compute.cache_key(1) + "|lock", {"owner": "a crashed process"}, collection="cache", ttl=30)
    started = time.monotonic()
    assert (await compute(1))["call"] == 1
    waited = time.monotonic() - started
    assert 0.35 <= waited < 5
    assert recorder.calls == [1]


async def test_lock_released_without_result_lets_a_waiter_compute(kv: AsyncKeyValue) -> None:
    if Capability.CONDITIONAL not in capabilities_of(kv):
        pytest.skip("without the conditional segment there is no lock to wait for")
    attempts: list[str] = []

    def make(fails: bool, pause: float) -> AsyncCachedFunction[..., Any]:
        @cached(kv, collection="cache")
        async def compute(value: str) -> str:
            attempts.append(f"fails={fails}")
            await sleep(pause)
            if fails:
                raise RuntimeError("the computing copy fails")
            return value

        return compute

    failing, waiting = make(fails=True, pause=0.3), make(fails=False, pause=0.0)

    async def failing_call() -> str:
        try:
            return await failing("x")
        except RuntimeError:
            return "failed"

    if True:  # ASYNC
        results = await asyncio.gather(failing_call(), _after(0.1, waiting, "x"))
    else:
        results = together([failing_call, lambda: _after(0.1, waiting, "x")])
    assert list(results) == ["failed", "x"]
    assert attempts == ["fails=True", "fails=False"]


async def _after(pause: float, function: Any, *args: Any) -> Any:
    await sleep(pause)
    return await function(*args)


async def test_stale_result_served_while_refreshed(kv: AsyncKeyValue) -> None:
    recorder = Recorder()
    compute = counting(kv, recorder, ttl=0.4, stale_ttl=30)
    assert (await compute(1))["call"] == 1
    _, remaining = await kv.ttl(compute.cache_key(1), collection="cache")
    assert remaining is not None
    assert remaining > 25  # the entry outlives ttl by stale_ttl
    await sleep(0.6)
    assert (await compute(1))["call"] == 1  # stale, answered at once; a refresh runs behind it
    assert compute.cache_info().stale == 1
    deadline = time.monotonic() + 10
    while (await compute(1))["call"] == 1:
        assert time.monotonic() < deadline, "the stale result was never refreshed"
        await sleep(0.02)
    assert recorder.calls == [1, 1]
    assert compute.cache_info().calls == 2


# --- a store that is down -------------------------------------------------------------------------


async def test_store_down_calls_the_function(caplog: pytest.LogCaptureFixture) -> None:
    from key_value.aio.stores.redis import RedisStore  # noqa: PLC0415

    store = RedisStore(url=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    recorder = Recorder()
    compute = counting(store, recorder)
    with caplog.at_level(logging.WARNING, logger="key_value.cache"):
        assert (await compute(1))["call"] == 1
        assert (await compute(1))["call"] == 2
    info = compute.cache_info()
    assert info.calls == 2
    assert info.errors >= 4  # a get and a put (and the lock, where there is one) per call
    assert info.hits == 0
    records = [record for record in caplog.records if record.name == "key_value.cache"]
    assert len(records) == 1  # once per interval, not once per failure
    assert "store failed" in records[0].getMessage()

    strict = counting(store, Recorder(), on_store_error="raise")
    with pytest.raises(StoreConnectionError):
        await strict(1)
    await store.close()


def test_cache_info_is_json_friendly() -> None:
    compute = counting(MemoryStore(), Recorder())
    info = compute.cache_info()
    assert json.loads(json.dumps(info.__dict__)) == {"hits": 0, "misses": 0, "stale": 0, "errors": 0, "calls": 0}

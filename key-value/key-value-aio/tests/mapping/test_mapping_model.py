"""A hypothesis state machine runs the same operations on the mapping (`AsyncKVMapping`) and on a plain `dict`.

After every step the mapping must show exactly what the dict holds: the full copy (in key order),
the length, the sorted keys (listed, iterated, as items and values), a read of every key (also under
its other spelling, `"a"` and `("a",)`) and of keys that are missing. Keys include tuples, `/` and `%`;
values are JSON values, dicts whose only key is `__value__` among them. The sync twin also drives the
live views (`m[k]["f"] = v`, `m[k].append(x)`) and `|=`. Runs on embedded stores and real servers.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from psycopg import sql

from key_value.aio.mapping import AsyncKVMapping, Key
from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.disk import DiskStore
from key_value.aio.stores.filetree import FileTreeStore
from key_value.aio.stores.memory import MemoryStore
from key_value.shared.errors import InvalidArgumentTypeError
from key_value.shared.mapping import as_key, is_container, key_parts
from testing.servers._resp import RespServer
from testing.servers.postgresql_server import PostgresServer

T = TypeVar("T")

#: Keys that differ only in spelling ("a" and ("a",)), by a `/` inside a part or between parts, or by
#: something that looks like one of the encoding's escapes.
KEYS = st.sampled_from(
    [
        *("a", "b", "é", "/", "a/b", "50%", "%2F", "%25", "a%2Fb", "a%2/F"),
        *(("a",), ("a", "b"), ("a/b",), ("50%", "x/y"), ("%2F", "b"), ("a%", "2F")),
    ]
)
MISSING_KEYS: tuple[Key, ...] = ("missing", ("missing", "x"), "a%252Fb", ("a", "b", "c"), ("/", "/"))


def enveloped(inner: Any) -> dict[str, Any]:
    return {"__value__": inner}


FIELDS = st.sampled_from(["f", "g", "__value__", "a/b"])
SCALARS = st.one_of(st.integers(-5, 1000), st.text(alphabet="ab%/é_", max_size=4), st.booleans(), st.none())
JSON: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(FIELDS, children, max_size=3)),
    max_leaves=6,
)
VALUES: st.SearchStrategy[Any] = st.one_of(
    JSON,
    st.builds(enveloped, JSON),  # looks like the envelope: must come back as a dict
    st.fixed_dictionaries({"cfg": st.dictionaries(FIELDS, SCALARS, max_size=2), "tags": st.lists(SCALARS, max_size=2)}),
)
PAIRS = st.lists(st.tuples(KEYS, VALUES), max_size=3)


class EditFailed(Exception):
    """Raised inside an `edit` block, which must then write nothing."""


def normal(key: Key) -> Key:
    """A key as the mapping lists it: a 1-tuple is the str it holds."""
    return as_key(key_parts(key))


def spellings(key: Key) -> list[Key]:
    """Every way to write `key` (`"a"` is also `("a",)`)."""
    parts = key_parts(key)
    return [as_key(parts), parts] if len(parts) == 1 else [parts]


def canon(value: Any) -> str:
    """A value as JSON with sorted object keys: tells `True` from `1`, and ignores the stores' key order."""
    return json.dumps(value, sort_keys=True)


def change(value: Any, field: str, n: int, action: str) -> None:
    """One nested change, chosen by the value's content so that the model and the mapping make the same one.

    In a dict: the first child dict (by field name) gets `field` set or deleted, else the first child list
    gets `n` appended (`+= [n]` for "extend", which also sets the field), else the dict itself gets `field`
    set or deleted. In a list: the first item if it is a dict (`field` set), else `n` appended.
    """
    if isinstance(value, dict):
        target: dict[str, Any] = value  # pyright: ignore[reportUnknownVariableType]
        for name in sorted(target):
            child = target[name]
            if isinstance(child, dict):
                target = child  # pyright: ignore[reportUnknownVariableType]
                break
            if isinstance(child, list):
                if action == "extend":
                    target[name] += [n]
                else:
                    child.append(n)  # pyright: ignore[reportUnknownMemberType]
                return
        if action == "delete" and field in target:
            del target[field]
        else:
            target[field] = n
    else:
        assert isinstance(value, list), value  # callers pass containers only
        items: list[Any] = value  # pyright: ignore[reportUnknownVariableType]
        if items and isinstance(items[0], dict):
            items[0][field] = n
        elif action == "extend":
            items += [n]
        else:
            items.append(n)


def holds_a_container(machine: MappingModel) -> bool:
    return any(isinstance(value, dict | list) for value in machine.model.values())


class MappingModel(RuleBasedStateMachine):
    """The model: a plain dict from normal keys to plain values."""

    make_store: Callable[[str], AsyncKeyValue]

    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="kv-mapping-model-")
        self.store = self.make_store(self.directory)
        # a collection of this run's own: runs on one server never see each other's keys
        self.m = AsyncKVMapping(self.store, f"model-{uuid.uuid4().hex[:12]}")
        self.model: dict[Key, Any] = {}
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

    def attempt(self, call: Callable[[], Any]) -> tuple[str, Any]:
        """("ok", result) or ("KeyError", None): what a dict operation did."""
        try:
            return "ok", self.run(call())
        except KeyError:
            return "KeyError", None

    @staticmethod
    def modelled(call: Callable[[], Any]) -> tuple[str, Any]:
        try:
            return "ok", call()
        except KeyError:
            return "KeyError", None

    def expected(self) -> dict[Key, Any]:
        """The model in the mapping's order: sorted by key parts."""
        return {key: self.model[key] for key in sorted(self.model, key=key_parts)}

    # -- the plain dict operations ------------------------------------------------------------------

    async def _set(self, key: Key, value: Any) -> None:
        if True:  # ASYNC
            await self.m.set(key, value)
        else:
            self.m[key] = value

    async def _delete(self, key: Key) -> None:
        if True:  # ASYNC
            await self.m.delete(key)
        else:
            del self.m[key]

    @rule(key=KEYS, value=VALUES)
    def set(self, key: Key, value: Any) -> None:
        self.run(self._set(key, copy.deepcopy(value)))
        self.model[normal(key)] = copy.deepcopy(value)

    @rule(key=KEYS)
    def delete(self, key: Key) -> None:
        theirs = self.modelled(lambda: self.model.pop(normal(key)))
        ours = self.attempt(lambda: self._delete(key))
        assert ours[0] == theirs[0], (key, ours, theirs)

    @rule(key=KEYS, default=st.one_of(st.just("no default"), VALUES))
    def pop(self, key: Key, default: Any) -> None:
        if default == "no default":
            theirs = self.modelled(lambda: self.model.pop(normal(key)))
            ours = self.attempt(lambda: self.m.pop(key))
        else:
            theirs = self.modelled(lambda: self.model.pop(normal(key), default))
            ours = self.attempt(lambda: self.m.pop(key, copy.deepcopy(default)))
        assert (ours[0], canon(ours[1])) == (theirs[0], canon(theirs[1])), key

    @rule()
    def popitem(self) -> None:
        ours = self.attempt(self.m.popitem)
        if not self.model:
            assert ours[0] == "KeyError"
            return
        first = min(self.model, key=key_parts)  # ours pops the first key in key order
        value = self.model.pop(first)
        assert ours[0] == "ok"
        assert (ours[1][0], canon(ours[1][1])) == (first, canon(value))

    @rule(key=KEYS, default=VALUES)
    def setdefault(self, key: Key, default: Any) -> None:
        found = self.run(self.m.setdefault(key, copy.deepcopy(default)))
        expected = self.model.setdefault(normal(key), copy.deepcopy(default))
        assert canon(found) == canon(expected), key

    @rule(pairs=PAIRS, as_dict=st.booleans())
    def update(self, pairs: list[tuple[Key, Any]], as_dict: bool) -> None:
        source: Any = dict(pairs) if as_dict else pairs
        self.run(self.m.update(copy.deepcopy(source)))
        for key, value in source.items() if as_dict else pairs:
            self.model[normal(key)] = copy.deepcopy(value)  # later pairs win, as in dict.update

    @rule()
    def clear(self) -> None:
        self.run(self.m.clear())
        self.model.clear()

    # -- edit -------------------------------------------------------------------------------------

    async def _edit(self, *, key: Key, default: Any, field: str, n: int, action: str, fail: bool) -> Any:
        editing = self.m.edit(key) if default == "no default" else self.m.edit(key, copy.deepcopy(default))
        async with editing as value:
            change(value, field, n, action)
            if fail:
                raise EditFailed
        return value

    @rule(
        key=KEYS,
        default=st.sampled_from(["no default", {}, [], {"cfg": {}}]),
        field=FIELDS,
        n=st.integers(0, 99),
        action=st.sampled_from(["set", "delete", "extend"]),
        fail=st.booleans(),
    )
    def edit(self, *, key: Key, default: Any, field: str, n: int, action: str, fail: bool) -> None:
        name = normal(key)
        start: Any
        if name in self.model:
            start = self.model[name]
        elif default == "no default":
            assert (
                self.attempt(lambda: self._edit(key=key, default=default, field=field, n=n, action=action, fail=fail))[
                    0
                ]
                == "KeyError"
            )
            return
        else:
            start = default
        if not is_container(start):
            with pytest.raises(InvalidArgumentTypeError):
                self.run(self._edit(key=key, default=default, field=field, n=n, action=action, fail=fail))
            return
        if fail:
            with pytest.raises(EditFailed):
                self.run(self._edit(key=key, default=default, field=field, n=n, action=action, fail=fail))
            return
        expected: Any = copy.deepcopy(start)
        change(expected, field, n, action)
        shown = self.run(self._edit(key=key, default=default, field=field, n=n, action=action, fail=fail))
        self.model[name] = expected
        assert canon(shown) == canon(expected)  # the value as written, after the block

    if True:  # ASYNC
        pass
    else:
        # -- live views: every change is written back at once -------------------------------------

        @precondition(holds_a_container)
        @rule(
            data=st.data(),
            field=FIELDS,
            n=st.integers(0, 99),
            action=st.sampled_from(["set", "delete", "extend"]),
            twice=st.booleans(),
        )
        def change_a_live_view(self, data: st.DataObject, field: str, n: int, action: str, twice: bool) -> None:
            containers = sorted(
                (key for key, value in self.model.items() if isinstance(value, dict | list)), key=key_parts
            )
            key = data.draw(st.sampled_from(containers))
            read = data.draw(st.sampled_from(["getitem", "get", "items", "values"]))
            if read in ("getitem", "get"):
                spelling = data.draw(st.sampled_from(spellings(key)))
                view = self.m[spelling] if read == "getitem" else self.m.get(spelling)
            elif read == "items":  # a view read without its ETag: its first change reads the entry again
                view = dict(self.m.items())[key]
            else:
                view = list(self.m.values())[list(self.expected()).index(key)]
            change(view, field, n, action)
            change(self.model[key], field, n, action)
            if twice:  # a second change through the same view, with the ETag of the first write
                change(view, field, n + 1, action)
                change(self.model[key], field, n + 1, action)
            assert canon(view) == canon(self.model[key])

        @rule(key=KEYS, default=st.sampled_from([{}, [], {"cfg": {}}]), field=FIELDS, n=st.integers(0, 99))
        def change_what_setdefault_gives(self, key: Key, default: Any, field: str, n: int) -> None:
            name = normal(key)
            view = self.m.setdefault(key, copy.deepcopy(default))
            expected = self.model.setdefault(name, copy.deepcopy(default))
            if not isinstance(expected, dict | list):
                assert canon(view) == canon(expected)
                return
            change(view, field, n, "set")
            change(expected, field, n, "set")
            assert canon(view) == canon(expected)

        @rule(pairs=PAIRS)
        def in_place_or(self, pairs: list[tuple[Key, Any]]) -> None:
            other = dict(pairs)
            mapping = self.m
            mapping |= copy.deepcopy(other)
            assert mapping is self.m
            for key, value in other.items():
                self.model[normal(key)] = copy.deepcopy(value)

    # -- what every step leaves ---------------------------------------------------------------------

    async def _listings(self) -> tuple[list[Key], list[Key], list[tuple[Key, Any]], list[Any], int]:
        """(keys, iteration, items, values, len) as the mapping lists them."""
        if True:  # ASYNC
            keys = await self.m.keys()
            iterated = [key async for key in self.m]
            items = await self.m.items()
            values = await self.m.values()
            size = await self.m.len()
        else:
            keys = list(self.m.keys())
            iterated = list(self.m)
            items = list(self.m.items())
            values = list(self.m.values())
            size = len(self.m)
        return keys, iterated, items, values, size

    async def _reads(self, key: Key) -> tuple[Any, Any, bool]:
        """(get, get_item, contains) of `key`."""
        if True:  # ASYNC
            return await self.m.get(key), await self.m.get_item(key), await self.m.contains(key)
        else:
            return self.m.get(key), self.m[key], key in self.m

    @invariant()
    def mapping_matches_the_model(self) -> None:
        expected = self.expected()
        copied = self.run(self.m.copy())
        assert type(copied) is dict
        assert list(copied) == list(expected)  # the same keys, in key order
        assert [canon(value) for value in copied.values()] == [canon(value) for value in expected.values()]
        keys, iterated, items, values, size = self.run(self._listings())
        assert keys == iterated == list(expected)
        assert size == len(expected)
        assert [(key, canon(value)) for key, value in items] == [(key, canon(value)) for key, value in expected.items()]
        assert [canon(value) for value in values] == [canon(value) for value in expected.values()]
        assert self.run(self.m.equals(expected))
        for key, value in expected.items():
            for spelling in spellings(key):
                got, item, contained = self.run(self._reads(spelling))
                assert (canon(got), canon(item), contained) == (canon(value), canon(value), True), spelling
        for key in MISSING_KEYS:
            assert self.run(self.m.get(key, "default")) == "default"
            assert self.run(self.m.contains(key)) is False
            assert self.attempt(lambda key=key: self.m.get_item(key))[0] == "KeyError"


def run_machine(name: str, make_store: Callable[[str], AsyncKeyValue], *, examples: int, steps: int) -> None:
    machine = type(f"MappingModel_{name}", (MappingModel,), {"make_store": staticmethod(make_store)})
    runner = machine.TestCase
    runner.settings = settings(max_examples=examples, stateful_step_count=steps, deadline=None)
    runner().runTest()


EMBEDDED: dict[str, Callable[[str], AsyncKeyValue]] = {
    "memory": lambda _: MemoryStore(),
    "disk": lambda directory: DiskStore(directory=directory),
    "filetree": lambda directory: FileTreeStore(data_directory=directory),
}


@pytest.mark.parametrize("name", list(EMBEDDED))
def test_mapping_follows_the_model(name: str) -> None:
    run_machine(name, EMBEDDED[name], examples=40, steps=20)


def test_mapping_follows_the_model_on_redis(redis_server: RespServer) -> None:
    from key_value.aio.stores.redis import RedisStore  # noqa: PLC0415

    redis_server.flush()
    run_machine("redis", lambda _: RedisStore(url=redis_server.url), examples=30, steps=15)


@pytest.fixture
def table(postgresql_server: PostgresServer) -> Iterator[str]:
    """A table name of this test's own, dropped afterwards."""
    name = f"kv_{uuid.uuid4().hex[:16]}"
    yield name
    with postgresql_server.connect() as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))


def test_mapping_follows_the_model_on_postgresql(postgresql_server: PostgresServer, table: str) -> None:
    from key_value.aio.stores.postgresql import PostgreSQLStore  # noqa: PLC0415

    run_machine(
        "postgresql", lambda _: PostgreSQLStore(url=postgresql_server.url, table_name=table), examples=30, steps=15
    )

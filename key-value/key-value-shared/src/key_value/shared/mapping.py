"""What the mappings of both twins share: key encoding, the value envelope, and live nested views.

Keys: a `str` or a tuple of `str` parts; `"a"` and `("a",)` are the same key. A key is stored as its
parts joined by `/`, each part escaped so that the encoding reverses exactly: `/` becomes `%2F`, and
a `%` that would otherwise read as an escape (`%2F`, `%25`) becomes `%25`. A `str` key without `/`
is therefore stored unchanged, as the plain protocol sees it.

Values: with the `json` codec (the default), any JSON value. A dict is stored as it is (so a plain
`get` reads it); anything else, and a dict whose keys are exactly `__value__` or exactly `__value__`
and `__codec__` (so that no dict is mistaken for an envelope), is stored as `{"__value__": value}`.
With another codec (`key_value.shared.value_codecs`), every value is stored as
`{"__value__": payload, "__codec__": name}`; a reader refuses an entry of another codec.

Live views: `LiveDict` and `LiveList` are `dict` and `list` subclasses whose changes go to an owner
(an object with `change`) as operations on the top-level value, so a nested edit can be written
back, and replayed on a fresher value after a conflict.
"""

# pyright: reportPrivateUsage=false
# (the live views reach into each other's `_kv_*` slots, which no other module uses)

from __future__ import annotations

import copy
import enum
import operator
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any, Final, NamedTuple, Protocol, SupportsIndex, TypeAlias, cast

from key_value.shared.errors import (
    ConcurrencyConflictError,
    DeserializationError,
    InvalidArgumentTypeError,
    InvalidKeyError,
)
from key_value.shared.value_codecs import CODEC_KEY, JSON_CODEC, ValueCodec, check_codec

#: A mapping key: one part as a `str`, or several as a tuple of `str`.
Key: TypeAlias = "str | tuple[str, ...]"

#: The one key of the envelope that holds a value which is not stored as a plain dict.
ENVELOPE = "__value__"

# dict's and list's own methods, typed, for the live views (which override the public ones).
_dict_get = cast("Callable[[dict[str, Any], Hashable], Any]", dict.get)
_dict_getitem = cast("Callable[[dict[str, Any], str], Any]", dict.__getitem__)
_dict_setitem = cast("Callable[[dict[str, Any], str, Any], None]", dict.__setitem__)
_dict_clear = cast("Callable[[dict[str, Any]], None]", dict.clear)
_dict_update = cast("Callable[[dict[str, Any], dict[str, Any]], None]", dict.update)
_dict_items = cast("Callable[[dict[str, Any]], Iterable[tuple[str, Any]]]", dict.items)
_list_getitem = cast("Callable[[list[Any], Any], Any]", list.__getitem__)
_list_iter = cast("Callable[[list[Any]], Iterator[Any]]", list.__iter__)
_list_extend = cast("Callable[[list[Any], Iterable[Any]], None]", list.extend)
_list_setitem = cast("Callable[[list[Any], slice, list[Any]], None]", list.__setitem__)

_ESCAPE = re.compile(r"/|%(?=2[Ff5])")
_UNESCAPE = re.compile(r"%(2[Ff]|25)")


def key_parts(key: object) -> tuple[str, ...]:
    """The parts of a mapping key, or `InvalidKeyError` unless it is a non-empty str or tuple of them."""
    if key.__class__ is str:
        if key:
            return (cast("str", key),)
    elif isinstance(key, tuple):
        parts = cast("tuple[object, ...]", key)
        if parts and all(part.__class__ is str and part for part in parts):
            return cast("tuple[str, ...]", parts)
        raise InvalidKeyError("a tuple key holds one or more non-empty str parts", {"key": repr(parts)})
    raise InvalidKeyError("a mapping key is a non-empty str or a tuple of them", {"key": repr(key)})


def _escape(part: str) -> str:
    return _ESCAPE.sub(lambda match: "%2F" if match[0] == "/" else "%25", part)


def _unescape(part: str) -> str:
    return _UNESCAPE.sub(lambda match: "%" if match[1] == "25" else "/", part)


def encode_parts(parts: tuple[str, ...]) -> str:
    """The store key of a mapping key's parts."""
    if len(parts) == 1 and "/" not in parts[0] and "%" not in parts[0]:
        return parts[0]
    return "/".join(map(_escape, parts))


def decode_parts(stored: str) -> tuple[str, ...]:
    """The parts of a store key, the reverse of `encode_parts`."""
    if "/" not in stored and "%" not in stored:
        return (stored,)
    return tuple(map(_unescape, stored.split("/")))


def as_key(parts: tuple[str, ...]) -> Key:
    """How a mapping shows a key: a `str` for one part, else the tuple."""
    return parts[0] if len(parts) == 1 else parts


def _enveloped(stored: dict[str, Any]) -> bool:
    """True for a dict whose keys are exactly `__value__`, or exactly `__value__` and `__codec__`."""
    return ENVELOPE in stored and (len(stored) == 1 or (len(stored) == 2 and CODEC_KEY in stored))


def wrap(value: object, codec: ValueCodec = JSON_CODEC) -> dict[str, Any]:
    """The stored form of a mapping value (see the module docstring). With `json` not a copy: the store
    encodes it (live views included: they are dicts and lists) before the caller can change it. Another
    codec's `SerializationError` (a value it cannot hold) is raised here, before anything is written."""
    if codec.json_native:
        if isinstance(value, dict):
            stored = cast("dict[str, Any]", value)
            if not _enveloped(stored):
                return stored
        return {ENVELOPE: value}
    return {ENVELOPE: codec.dump(value), CODEC_KEY: codec.name}


def unwrap(stored: dict[str, Any], codec: ValueCodec = JSON_CODEC, where: str = "") -> Any:
    """The mapping value of a stored dict, the reverse of `wrap`: `CodecMismatchError` (naming `where`,
    nothing decoded) if the entry was written with another codec than `codec`."""
    if len(stored) == 2 and ENVELOPE in stored and CODEC_KEY in stored:
        check_codec(stored[CODEC_KEY], codec, where)
        return codec.load(stored[ENVELOPE], where)
    check_codec(None, codec, where)
    if len(stored) == 1 and ENVELOPE in stored:
        return stored[ENVELOPE]
    return stored


def check_written(value: object, value_type: type | None) -> None:
    """Refuse a value that is not a `value_type` (when given), before anything is written."""
    if value_type is not None and not isinstance(value, value_type):
        raise InvalidArgumentTypeError(
            f"this mapping holds {value_type.__name__} values", {"value_type": type(value).__name__}
        )


def check_read(value: object, value_type: type | None, key: str) -> None:
    """Refuse a stored value that is not a `value_type` (when given)."""
    if value_type is not None and not isinstance(value, value_type):
        raise DeserializationError(
            f"stored value is not a {value_type.__name__}", {"key": key, "found": type(value).__name__}
        )


def to_plain(value: Any) -> Any:
    """A detached deep copy of `value` in plain dicts and lists (live views included)."""
    if isinstance(value, dict):
        items = cast("dict[Any, Any]", value)
        return {name: to_plain(item) for name, item in _dict_items(items)}
    if isinstance(value, list):
        return [to_plain(item) for item in _list_iter(cast("list[Any]", value))]
    return value


# --- live views ----------------------------------------------------------------------------------


#: A path in a value (dict keys and list indexes) and what it held: `NOWHERE` for nothing.
Guard: TypeAlias = "tuple[tuple[Hashable, ...], Any]"


class _Nowhere(enum.Enum):
    NOWHERE = "NOWHERE"


#: What `value_at` gives for a path that leads nowhere.
NOWHERE: Final = _Nowhere.NOWHERE


class Operation(NamedTuple):
    """One change of a live view: call `kind.method(container, *args, **kwargs)` at `path`.

    `guards` are the places the change depends on (the slot it overwrites, the values read before
    it) with what they held: a replay on a fresher value goes ahead only where they hold the same.
    An operation without a `method` only checks its guards.
    """

    path: tuple[Hashable, ...]
    kind: type
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    guards: tuple[Guard, ...] = ()


def value_at(value: Any, path: tuple[Hashable, ...]) -> Any:
    """What `path` leads to in `value` (plain or live), or `NOWHERE`."""
    for step in path:
        if isinstance(value, dict):
            container = cast("dict[str, Any]", value)
            if not isinstance(step, str) or step not in container:
                return NOWHERE
            value = _dict_getitem(container, step)
        elif isinstance(value, list) and isinstance(step, int):
            items = cast("list[Any]", value)
            if not -len(items) <= step < len(items):
                return NOWHERE
            value = _list_getitem(items, step)
        else:
            return NOWHERE
    return value


class Gone(Exception):
    """An operation's place in the value no longer exists (or holds another kind of container)."""


def apply(value: Any, operation: Operation) -> tuple[Any, Any]:
    """Apply `operation` to a plain copy of `value`; return (new value, the method's result).

    Raises `Gone` if the path does not lead to a container of the operation's kind; errors of the
    method itself (KeyError, IndexError, ValueError) propagate.
    """
    value = to_plain(value)
    if not operation.method:
        return value, None
    container = value
    for step in operation.path:
        if isinstance(step, int) and container.__class__ is list:
            items = cast("list[Any]", container)
            if not -len(items) <= step < len(items):
                raise Gone
            container = items[step]
        elif isinstance(step, str) and container.__class__ is dict:
            if step not in container:
                raise Gone
            container = cast("dict[str, Any]", container)[step]
        else:
            raise Gone
    if container.__class__ is not operation.kind:
        raise Gone
    result = getattr(operation.kind, operation.method)(container, *operation.args, **operation.kwargs)
    return value, to_plain(result)


def _check_guards(value: Any, operation: Operation) -> None:
    """`Gone` unless every place `operation` depends on holds in `value` what it held when it was made."""
    if any(to_plain(value_at(value, path)) != held for path, held in operation.guards):
        raise Gone


def replay(value: Any, operations: Iterable[Operation], *, collection: str | None, key: str) -> tuple[Any, Any]:
    """Apply `operations` in order to a fresher value; `ConcurrencyConflictError` if one no longer applies."""
    result: Any = None
    try:
        for operation in operations:
            _check_guards(value, operation)
            value, result = apply(value, operation)
    except (Gone, LookupError, ValueError, TypeError) as exc:
        raise ConcurrencyConflictError(
            collection=collection,
            key=key,
            message="a concurrent writer changed the value so that this edit no longer applies",
        ) from exc
    return value, result


class Owner(Protocol):
    """Where the changes of a tree of live views go."""

    def change(self, root: LiveDict | LiveList, operation: Operation) -> Any:
        """Apply `operation` (made on `root`'s tree), keep `root` in step, return the method's result."""
        ...

    def read(self, guard: Guard) -> None:
        """Note that a value was read (at a path, holding a value) before the next change."""
        ...


class _Node:
    """The part of a live view that knows where it sits: its parent and its key or index there."""

    __slots__ = ()
    _kv_parent: LiveDict | LiveList | None
    _kv_slot: Hashable
    _kv_owner: Owner | None

    def _kv_where(self) -> tuple[LiveDict | LiveList, tuple[Hashable, ...]] | None:
        """The root of this view's tree and the path from it, or None if the view is detached."""
        path: list[Hashable] = []
        node = cast("LiveDict | LiveList", self)
        while (parent := node._kv_parent) is not None:
            if isinstance(parent, LiveDict):
                if _dict_get(parent, node._kv_slot) is not node:
                    return None
                path.append(node._kv_slot)
            else:
                index = next((at for at, item in enumerate(_list_iter(parent)) if item is node), None)
                if index is None:
                    return None
                path.append(index)
            node = parent
        if node._kv_owner is None:
            return None
        path.reverse()
        return node, tuple(path)

    def _kv_change(
        self, kind: type, method: str, targets: Iterable[tuple[Hashable, ...]], *args: Any, **kwargs: Any
    ) -> Any:
        """Send one change to the owner; `targets` are the places (below this view) it overwrites."""
        where = self._kv_where()
        if where is None:
            raise _detached()
        root, path = where
        owner = root._kv_owner
        assert owner is not None
        guards = tuple((path + target, to_plain(value_at(self, target))) for target in targets)
        plain_args = tuple(to_plain(arg) for arg in args)
        return owner.change(root, Operation(path, kind, method, plain_args, kwargs, guards))

    def _kv_read(self, target: tuple[Hashable, ...], value: Any) -> Any:
        """Note a read of a plain value (live views are only a way through) and return it."""
        if not isinstance(value, LiveDict | LiveList) and (where := self._kv_where()) is not None:
            root, path = where
            assert root._kv_owner is not None
            root._kv_owner.read((path + target, to_plain(value)))
        return value


def _detached() -> ConcurrencyConflictError:
    return ConcurrencyConflictError(
        message="this view is no longer part of its mapping's value (it was replaced, removed, or its edit ended)"
    )


def live(value: Any, parent: LiveDict | LiveList | None = None, slot: Hashable = None) -> Any:
    """`value` with its dicts and lists turned into live views (a scalar comes back as it is)."""
    if value.__class__ is dict:
        node = LiveDict()
        node._kv_parent, node._kv_slot, node._kv_owner = parent, slot, None
        for name, item in cast("dict[str, Any]", value).items():
            _dict_setitem(node, name, live(item, node, name))
        return node
    if value.__class__ is list:
        node = LiveList()
        node._kv_parent, node._kv_slot, node._kv_owner = parent, slot, None
        _list_extend(node, [live(item, node) for item in cast("list[Any]", value)])
        return node
    return value


def live_root(value: dict[str, Any] | list[Any], owner: Owner) -> LiveDict | LiveList:
    """A tree of live views over a top-level value whose changes go to `owner`."""
    root = cast("LiveDict | LiveList", live(value))
    root._kv_owner = owner
    return root


def detach(root: LiveDict | LiveList) -> None:
    """Cut `root`'s tree from its owner: later changes raise instead of going anywhere."""
    root._kv_owner = None


def refresh(node: LiveDict | LiveList, value: Any) -> None:
    """Make `node` show `value`, keeping the view objects whose place and kind are unchanged."""

    def reuse(old: Any, new: Any, slot: Hashable) -> Any:
        if isinstance(old, LiveDict | LiveList) and old.__class__ is _KIND_TO_LIVE.get(new.__class__):
            refresh(old, new)
            return old
        return live(new, node, slot)

    if isinstance(node, LiveDict):
        fresh = {name: reuse(_dict_get(node, name), item, name) for name, item in cast("dict[str, Any]", value).items()}
        _dict_clear(node)
        _dict_update(node, fresh)
    else:
        old = list(_list_iter(node))
        items = cast("list[Any]", value)
        _list_setitem(
            node, slice(None), [reuse(old[at] if at < len(old) else None, item, None) for at, item in enumerate(items)]
        )


class LiveDict(_Node, dict[str, Any]):
    """A dict inside a mapping's value: reads show the value as last read or written, changes write back.

    Compares equal to the plain dict it shows; `copy()` and `copy.deepcopy` give plain, detached dicts.
    """

    __slots__ = ("_kv_owner", "_kv_parent", "_kv_slot")

    def __getitem__(self, key: str) -> Any:
        return self._kv_read((key,), _dict_getitem(self, key))

    def get(self, key: str, default: Any = None) -> Any:
        if key in self:
            return self[key]
        self._kv_read((key,), NOWHERE)
        return default

    def __setitem__(self, key: str, value: Any) -> None:
        self._kv_change(dict, "__setitem__", [(key,)], key, value)

    def __delitem__(self, key: str) -> None:
        self._kv_change(dict, "__delitem__", [(key,)], key)

    def __ior__(self, other: Any) -> LiveDict:
        self.update(other)
        return self

    def __or__(self, other: Any) -> dict[str, Any]:
        return cast("dict[str, Any]", to_plain(self)) | dict(other)

    def __ror__(self, other: Any) -> dict[str, Any]:
        return dict(other) | cast("dict[str, Any]", to_plain(self))

    def update(self, *args: Any, **kwargs: Any) -> None:
        changes = dict(*args, **kwargs)
        self._kv_change(dict, "update", [(name,) for name in changes], changes)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key in self:
            return self[key]
        self._kv_change(dict, "setdefault", [(key,)], key, default)
        return _dict_getitem(self, key)

    def pop(self, key: str, *default: Any) -> Any:
        return self._kv_change(dict, "pop", [(key,)], key, *default)

    def popitem(self) -> tuple[str, Any]:
        return self._kv_change(dict, "popitem", [()])

    def clear(self) -> None:
        self._kv_change(dict, "clear", [()])

    def copy(self) -> dict[str, Any]:
        """A plain, detached deep copy."""
        return cast("dict[str, Any]", to_plain(self))

    def __copy__(self) -> dict[str, Any]:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return self.copy()

    def __reduce__(self) -> tuple[type, tuple[dict[str, Any]]]:
        return dict, (self.copy(),)

    @classmethod
    def fromkeys(cls, iterable: Iterable[Any], value: Any = None, /) -> dict[str, Any]:
        return dict.fromkeys(iterable, copy.deepcopy(to_plain(value)))


class LiveList(_Node, list[Any]):
    """A list inside a mapping's value: reads show the value as last read or written, changes write back.

    Compares equal to the plain list it shows; `copy()` and `copy.deepcopy` give plain, detached lists.
    """

    __slots__ = ("_kv_owner", "_kv_parent", "_kv_slot")

    def _slot(self, index: SupportsIndex | slice) -> list[tuple[Hashable, ...]]:
        """The place an index names (the whole list for a slice), for the guard of a change there."""
        if isinstance(index, slice):
            return [()]
        at = operator.index(index)
        return [(at + len(self) if at < 0 else at,)]

    def __getitem__(self, index: SupportsIndex | slice) -> Any:
        value = _list_getitem(self, index)
        if isinstance(index, slice):
            self._kv_read((), self.copy())
            return value
        return self._kv_read(self._slot(index)[0], value)

    def __setitem__(self, index: SupportsIndex | slice, value: Any) -> None:
        self._kv_change(
            list, "__setitem__", self._slot(index), index, list(value) if isinstance(index, slice) else value
        )

    def __delitem__(self, index: SupportsIndex | slice) -> None:
        self._kv_change(list, "__delitem__", self._slot(index), index)

    def __iadd__(self, other: Iterable[Any]) -> LiveList:
        self._kv_change(list, "extend", [], list(other))
        return self

    def __imul__(self, times: SupportsIndex) -> LiveList:
        self._kv_change(list, "__imul__", [()], times)
        return self

    def __add__(self, other: Any) -> list[Any]:
        return cast("list[Any]", to_plain(self)) + list(other)

    def __radd__(self, other: Any) -> list[Any]:
        return list(other) + cast("list[Any]", to_plain(self))

    def __mul__(self, times: SupportsIndex) -> list[Any]:
        return cast("list[Any]", to_plain(self)) * times

    __rmul__ = __mul__

    def append(self, value: Any) -> None:
        self._kv_change(list, "append", [], value)

    def extend(self, values: Iterable[Any]) -> None:
        self._kv_change(list, "extend", [], list(values))

    def insert(self, index: SupportsIndex, value: Any) -> None:
        self._kv_change(list, "insert", [], index, value)

    def pop(self, index: SupportsIndex = -1) -> Any:
        return self._kv_change(list, "pop", self._slot(index) if len(self) else [], index)

    def remove(self, value: Any) -> None:
        self._kv_change(list, "remove", [], value)

    def clear(self) -> None:
        self._kv_change(list, "clear", [])

    def sort(self, *, key: Callable[[Any], Any] | None = None, reverse: bool = False) -> None:
        self._kv_change(list, "sort", [], key=key, reverse=reverse)

    def reverse(self) -> None:
        self._kv_change(list, "reverse", [])

    def copy(self) -> list[Any]:
        """A plain, detached deep copy."""
        return cast("list[Any]", to_plain(self))

    def __copy__(self) -> list[Any]:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return self.copy()

    def __reduce__(self) -> tuple[type, tuple[list[Any]]]:
        return list, (self.copy(),)


_KIND_TO_LIVE: dict[type, type] = {dict: LiveDict, list: LiveList}


def is_container(value: object) -> bool:
    """True for the values a mapping hands out as live views (plain dicts and lists)."""
    return value.__class__ is dict or value.__class__ is list


def plain_items(other: object, kwargs: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    """The (key, value) pairs of `update`'s arguments, as `dict.update` takes them, last one winning."""
    pairs: list[tuple[Any, Any]] = []
    if isinstance(other, Mapping):
        source = cast("Mapping[Any, Any]", other)
        pairs.extend((name, source[name]) for name in source)
    elif hasattr(other, "keys"):
        source = cast("Any", other)
        pairs.extend((name, source[name]) for name in source.keys())  # noqa: SIM118 - has keys(), maybe not iteration
    else:
        for pair in cast("Iterable[Any]", other):
            if isinstance(pair, str | bytes):
                raise InvalidArgumentTypeError("update takes a mapping or (key, value) pairs", {"pair": repr(pair)})
            try:
                name, item = pair
            except (TypeError, ValueError) as exc:
                raise InvalidArgumentTypeError(
                    "update takes a mapping or (key, value) pairs", {"pair": repr(pair)}
                ) from exc
            pairs.append((name, item))
    pairs.extend(kwargs.items())
    return pairs


__all__ = [
    "ENVELOPE",
    "NOWHERE",
    "Gone",
    "Guard",
    "Key",
    "LiveDict",
    "LiveList",
    "Operation",
    "Owner",
    "apply",
    "as_key",
    "check_read",
    "check_written",
    "decode_parts",
    "detach",
    "encode_parts",
    "is_container",
    "key_parts",
    "live",
    "live_root",
    "plain_items",
    "refresh",
    "replay",
    "to_plain",
    "unwrap",
    "value_at",
    "wrap",
]

"""`AsyncKVMapping`: a persistent dict over any store and collection.

    m = AsyncKVMapping(store, collection="users")
    await m.set("ada", {"langs": ["en"]})
    async with m.edit("ada") as ada:  # one conditional write, replayed on a fresher value if needed
        ada["langs"].append("fr")
    async for key in m:  # sorted by key
        ...

Keys are `str` or tuples of `str` (`m["a", "b"]`); values are any JSON value, or with
`codec="text"` / `codec="pickle"` a `str` / any picklable object (see `key_value.shared.mapping` for
how both are stored, `key_value.shared.value_codecs` for the codecs). Bulk methods use `get_many`/`put_many` in pages
of `PAGE`. On a store with the conditional segment, `setdefault` is an insert-if-absent, `pop` and
`popitem` delete only the entry they read, and edits are guarded by the ETag they were read with.
"""

# pyright: reportPrivateUsage=false
# (the edit contexts and views of this module call the mapping's internal methods)

from __future__ import annotations

import asyncio
import enum
import inspect
import random
from collections.abc import (
    AsyncIterator,
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    Sequence,
    ValuesView,
)
from typing import Any, cast

from typing_extensions import Self

from key_value.aio.conditional import MAX_BACKOFF
from key_value.aio.protocols.capabilities import capabilities_of
from key_value.aio.protocols.key_value import AsyncConditionalProtocol, AsyncEnumerateKeysProtocol, AsyncKeyValue
from key_value.shared.capabilities import Capability
from key_value.shared.codec import encode_value
from key_value.shared.conditional import ABSENT, ETag
from key_value.shared.errors import (
    ConcurrencyConflictError,
    InvalidArgumentTypeError,
    InvalidKeyError,
    KeyNotFoundError,
    UnsupportedOperationError,
)
from key_value.shared.mapping import (
    Guard,
    Key,
    LiveDict,
    LiveList,
    Operation,
    apply,
    as_key,
    check_read,
    check_written,
    decode_parts,
    detach,
    encode_parts,
    is_container,
    key_parts,
    live_root,
    plain_items,
    refresh,
    replay,
    to_plain,
    unwrap,
    wrap,
)
from key_value.shared.validation import check_collection
from key_value.shared.value_codecs import CodecName, codec_named

#: Keys per `get_many` / `put_many` / `delete_many` call of the bulk methods.
PAGE = 500

#: Attempts of a conflicting edit, `pop` or `popitem` before `ConcurrencyConflictError`.
ATTEMPTS = 20


class _Missing(enum.Enum):
    MISSING = "MISSING"


_MISSING = _Missing.MISSING


def _pause(attempt: int) -> float:
    """Jittered, exponential pause between attempts, so contending writers spread out."""
    return random.uniform(0, min(MAX_BACKOFF, 0.002 * (2 ** min(attempt, 16))))


class _MappingCore:
    """What both twins' mappings do, written once on the protocol."""

    def __init__(
        self,
        store: AsyncKeyValue,
        collection: str | None = None,
        *,
        value_type: type | None = None,
        prefix: tuple[str, ...] = (),
        codec: CodecName = "json",
    ) -> None:
        if collection is not None:
            check_collection(collection)
        if value_type is not None and not isinstance(value_type, type):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidArgumentTypeError("value_type must be a class", {"value_type": repr(value_type)})
        if prefix:
            key_parts(prefix)
        self._codec = codec_named(codec)
        capabilities = capabilities_of(store)
        self._store = store
        self._collection = collection
        self._value_type = value_type
        self._prefix = prefix
        self._conditional = Capability.CONDITIONAL in capabilities
        self._enumerable = Capability.KEYS in capabilities

    # --- naming ----------------------------------------------------------------------------------

    @property
    def store(self) -> AsyncKeyValue:
        """The store (or wrapper stack) the mapping reads and writes."""
        return self._store

    @property
    def collection(self) -> str | None:
        """The collection the mapping holds (None: the store's default collection)."""
        return self._collection

    @property
    def codec(self) -> CodecName:
        """The name of the value codec: `"json"` (the default), `"text"` or `"pickle"`."""
        return cast("CodecName", self._codec.name)

    @property
    def prefix(self) -> tuple[str, ...]:
        """The key parts every key of this view starts with (empty for a whole collection)."""
        return self._prefix

    def _stored(self, key: object) -> str:
        """The store key of a mapping key."""
        return encode_parts(self._prefix + key_parts(key))

    def _conditional_store(self) -> AsyncConditionalProtocol:
        return cast("AsyncConditionalProtocol", self._store)

    def _value_of(self, stored: dict[str, Any], key: str) -> Any:
        value = unwrap(stored, self._codec, key)
        check_read(value, self._value_type, key)
        return value

    def _encoded(self, value: object) -> dict[str, Any]:
        check_written(value, self._value_type)
        return wrap(value, self._codec)

    def _detached(self, value: Any) -> Any:
        """A value the caller gave, as the mapping hands it back: a plain copy with `json`, else itself."""
        return to_plain(value) if self._codec.json_native else value

    def _is_live(self, value: Any) -> bool:
        """True for a value handed out as a live view: a dict or list, with the `json` codec only."""
        return self._codec.json_native and is_container(value)

    # --- single keys -----------------------------------------------------------------------------

    async def _read(self, key: object) -> tuple[Any, ETag] | None:
        """The value under `key` and its ETag (ABSENT where the store has no conditional segment)."""
        stored_key = self._stored(key)
        if self._conditional:
            entry = await self._conditional_store().get_entry(stored_key, collection=self._collection)
            return None if entry is None else (self._value_of(entry.value, stored_key), entry.etag)
        stored = await self._store.get(stored_key, collection=self._collection)
        return None if stored is None else (self._value_of(stored, stored_key), ABSENT)

    async def get(self, key: Key, default: Any = None) -> Any:
        """The value under `key`, or `default` if there is none."""
        stored_key = self._stored(key)
        stored = await self._store.get(stored_key, collection=self._collection)
        return default if stored is None else self._value_of(stored, stored_key)

    async def get_item(self, key: Key) -> Any:
        """The value under `key`, or `KeyNotFoundError` (a `KeyError`) if there is none."""
        stored_key = self._stored(key)
        stored = await self._store.get(stored_key, collection=self._collection)
        if stored is None:
            raise self._missing(key, "get")
        return self._value_of(stored, stored_key)

    async def set(self, key: Key, value: Any) -> None:
        """Store `value` under `key`."""
        stored_key = self._stored(key)
        await self._store.put(stored_key, self._encoded(value), collection=self._collection)

    async def delete(self, key: Key) -> None:
        """Delete `key`, or `KeyNotFoundError` if there is none."""
        if not await self._store.delete(self._stored(key), collection=self._collection):
            raise self._missing(key, "delete")

    async def contains(self, key: Key) -> bool:
        """True if `key` holds a value."""
        return await self._store.get(self._stored(key), collection=self._collection) is not None

    async def setdefault(self, key: Key, default: Any = None) -> Any:
        """The value under `key`; if there is none, store `default` first (an insert-if-absent) and return it."""
        return (await self._setdefault(key, default))[0]

    async def _setdefault(self, key: Key, default: Any) -> tuple[Any, ETag | None]:
        """`setdefault`'s value and the entry's ETag after the call (None where it is not known)."""
        stored_key = self._stored(key)
        encoded = self._encoded(default)
        if self._conditional:
            store = self._conditional_store()
            result = await store.put_if(stored_key, encoded, etag=ABSENT, collection=self._collection)
            if result.satisfied or not isinstance(result.value, dict):
                return self._detached(default), result.resulting_etag if result.satisfied else None
            return self._value_of(result.value, stored_key), result.actual_etag
        stored = await self._store.get(stored_key, collection=self._collection)
        if stored is not None:
            return self._value_of(stored, stored_key), ABSENT
        await self._store.put(stored_key, encoded, collection=self._collection)
        return self._detached(default), ABSENT

    async def pop(self, key: Key, default: Any = _MISSING) -> Any:
        """Remove `key` and return its value (the one deleted); `default` or `KeyNotFoundError` if there is none."""
        value = await self._pop(key)
        if value is not _MISSING:
            return value
        if default is _MISSING:
            raise self._missing(key, "pop")
        return default

    async def _pop(self, key: Key) -> Any:
        """Delete `key` and return the value deleted, or `_MISSING` if there was none."""
        stored_key = self._stored(key)
        # the value is decoded before the delete: one this mapping cannot read (another codec) stays
        if not self._conditional:
            stored = await self._store.get(stored_key, collection=self._collection)
            if stored is None:
                return _MISSING
            value = self._value_of(stored, stored_key)
            return value if await self._store.delete(stored_key, collection=self._collection) else _MISSING
        store = self._conditional_store()
        for attempt in range(ATTEMPTS):
            entry = await store.get_entry(stored_key, collection=self._collection)
            if entry is None:
                return _MISSING
            value = self._value_of(entry.value, stored_key)
            result = await store.delete_if(stored_key, etag=entry.etag, collection=self._collection, retrieve=False)
            if result.satisfied:
                return value
            await asyncio.sleep(_pause(attempt))
        raise ConcurrencyConflictError(self._collection, stored_key, ATTEMPTS)

    async def popitem(self) -> tuple[Key, Any]:
        """Remove and return the first (key, value) in key order; `KeyNotFoundError` if the mapping is empty."""
        for key in await self._key_list("popitem"):
            value = await self._pop(key)
            if value is not _MISSING:  # else deleted by someone else since the listing: try the next key
                return key, value
        raise KeyNotFoundError("popitem", self._collection, None, message="popitem(): the mapping is empty")

    # --- enumeration and bulk --------------------------------------------------------------------

    def _lister(self, operation: str) -> AsyncEnumerateKeysProtocol:
        if not self._enumerable:
            raise UnsupportedOperationError(
                f"{operation} needs a store that can list its keys, and {type(self._store).__name__} cannot",
                {"operation": operation, "store": type(self._store).__name__},
            )
        return cast("AsyncEnumerateKeysProtocol", self._store)

    async def _listing(self, operation: str) -> list[str]:
        """The store keys of this view, unsorted (a key under the prefix starts with its encoding and `/`)."""
        stored = await self._lister(operation).keys(self._collection)
        if self._prefix:
            head = encode_parts(self._prefix) + "/"
            return [stored_key for stored_key in stored if stored_key.startswith(head)]
        return stored

    async def _stored_keys(self, operation: str) -> list[tuple[Key, str]]:
        """(key as the view shows it, store key) of every key of this view, sorted by key parts."""
        stored = await self._listing(operation)
        cut = len(self._prefix)
        if not cut and not any("/" in stored_key or "%" in stored_key for stored_key in stored):
            stored.sort()  # one-part keys stored as they are: their order is the order of the strs
            return [(stored_key, stored_key) for stored_key in stored]
        decoded = sorted((decode_parts(stored_key)[cut:], stored_key) for stored_key in stored)
        return [(as_key(parts), stored_key) for parts, stored_key in decoded]

    async def _key_list(self, operation: str = "iteration") -> list[Key]:
        return [key for key, _ in await self._stored_keys(operation)]

    async def _item_pages(self, operation: str) -> AsyncIterator[list[tuple[Key, Any]]]:
        """The live (key, value) pairs in key order, read with one `get_many` per page."""
        listed = await self._stored_keys(operation)
        for start in range(0, len(listed), PAGE):
            page = listed[start : start + PAGE]
            stored = await self._store.get_many([stored_key for _, stored_key in page], collection=self._collection)
            yield [
                (key, self._value_of(value, stored_key))
                for (key, stored_key), value in zip(page, stored, strict=True)
                if value is not None  # deleted since the listing
            ]

    async def len(self) -> int:
        """How many keys the mapping holds (one listing)."""
        return len(await self._listing("len"))

    async def copy(self) -> dict[Key, Any]:
        """A plain, detached `dict` of everything in the mapping, in key order."""
        return {key: value async for page in self._item_pages("copy") for key, value in page}

    async def update(self, other: object = (), /, **kwargs: Any) -> None:
        """Store every (key, value) of `other` (a mapping or pairs) and `kwargs`, with `put_many` in pages.

        Every key and value is checked before the first page is written.
        """
        if isinstance(other, _MappingCore):
            other = await other.copy()
        latest: dict[str, Any] = {}
        for key, value in plain_items(other, kwargs):
            latest[self._stored(key)] = value
        await self._put_all(latest)

    async def _put_all(self, values: Mapping[str, Any]) -> None:
        encoded = [(stored_key, self._encoded(value)) for stored_key, value in values.items()]
        if len(encoded) > PAGE:  # the store checks one page at a time: check them all before the first
            for _, value in encoded:
                encode_value(value)
        for start in range(0, len(encoded), PAGE):
            page = encoded[start : start + PAGE]
            await self._store.put_many(
                [stored_key for stored_key, _ in page], [value for _, value in page], collection=self._collection
            )

    async def clear(self) -> None:
        """Delete every key of the mapping (of this view only, for a subview), with `delete_many` in pages."""
        listed = [stored_key for _, stored_key in await self._stored_keys("clear")]
        for start in range(0, len(listed), PAGE):
            await self._store.delete_many(listed[start : start + PAGE], collection=self._collection)

    async def equals(self, other: object) -> bool:
        """`==` of a dict: the same keys with equal values (`other` a mapping, or another mapping view)."""
        if isinstance(other, _MappingCore):
            other = await other.copy()
        if not isinstance(other, Mapping):
            return False
        mine = await self.copy()
        theirs = cast("Mapping[Any, Any]", other)
        try:
            return len(mine) == len(theirs) and all(
                _normal(key) in mine and mine[_normal(key)] == theirs[key] for key in theirs
            )
        except (TypeError, InvalidKeyError):  # a key that no mapping can hold
            return False

    async def or_(self, other: Mapping[Any, Any]) -> dict[Key, Any]:
        """`self | other`: a plain dict of this mapping's items updated with `other`'s."""
        merged = await self.copy()
        merged.update(other)
        return merged

    async def ror(self, other: Mapping[Any, Any]) -> dict[Key, Any]:
        """`other | self`: a plain dict of `other`'s items updated with this mapping's."""
        merged: dict[Key, Any] = dict(other)
        merged.update(await self.copy())
        return merged

    # --- views and the persistent-dict extras ----------------------------------------------------

    def subview(self, prefix: Key) -> Self:
        """A mapping of the same class over the keys under `prefix` (a str or tuple of parts), prefix stripped."""
        return type(self)(
            self._store,
            self._collection,
            value_type=self._value_type,
            prefix=self._prefix + key_parts(prefix),
            codec=self.codec,
        )

    @classmethod
    async def fromkeys(
        cls,
        store: AsyncKeyValue,
        keys: Iterable[Key],
        value: Any = None,
        *,
        collection: str | None = None,
        value_type: type | None = None,
        codec: CodecName = "json",
    ) -> Self:
        """A mapping over `store` after writing `value` under every key of `keys` (with `put_many` in pages)."""
        mapping = cls(store, collection, value_type=value_type, codec=codec)
        await mapping._put_all({mapping._stored(key): value for key in keys})
        return mapping

    async def subviews(self) -> list[str]:
        """The first key parts under which this view holds deeper keys (`("a", "b")` gives `"a"`), sorted."""
        cut = len(self._prefix)
        parts = [decode_parts(stored_key)[cut:] for stored_key in await self._listing("subviews")]
        return sorted({below[0] for below in parts if len(below) > 1})

    async def _written(self, operation: str) -> list[tuple[float, Key]]:
        """(write time, key) of every key: one `get_entry` per key, since the protocol lists no times."""
        if not self._conditional:
            raise self._no_times(operation)
        store = self._conditional_store()
        found: list[tuple[float, Key]] = []
        for key, stored_key in await self._stored_keys(operation):
            entry = await store.get_entry(stored_key, collection=self._collection)
            if entry is None:
                continue
            if entry.written_at is None:
                raise self._no_times(operation)
            found.append((entry.written_at, key))
        return found

    async def timestamp(self, key: Key) -> float:
        """When `key` was last written, in epoch seconds; `KeyNotFoundError` if there is no such key."""
        if not self._conditional:
            raise self._no_times("timestamp")
        entry = await self._conditional_store().get_entry(self._stored(key), collection=self._collection)
        if entry is None:
            raise self._missing(key, "timestamp")
        if entry.written_at is None:
            raise self._no_times("timestamp")
        return entry.written_at

    async def newest_keys(self, n: int | None = None) -> list[Key]:
        """The `n` most recently written keys (all without `n`), newest first."""
        written = sorted(await self._written("newest_keys"), key=lambda pair: pair[0], reverse=True)
        return [key for _, key in written[: _count(n, len(written))]]

    async def oldest_keys(self, n: int | None = None) -> list[Key]:
        """The `n` least recently written keys (all without `n`), oldest first."""
        written = sorted(await self._written("oldest_keys"), key=lambda pair: pair[0])
        return [key for _, key in written[: _count(n, len(written))]]

    async def newest_values(self, n: int | None = None) -> list[Any]:
        """The values of `newest_keys(n)`, in that order (keys deleted meanwhile left out)."""
        return await self._values_of(await self.newest_keys(n))

    async def oldest_values(self, n: int | None = None) -> list[Any]:
        """The values of `oldest_keys(n)`, in that order (keys deleted meanwhile left out)."""
        return await self._values_of(await self.oldest_keys(n))

    async def _values_of(self, keys: list[Key]) -> list[Any]:
        found: list[Any] = []
        for start in range(0, len(keys), PAGE):
            page = [self._stored(key) for key in keys[start : start + PAGE]]
            stored = await self._store.get_many(page, collection=self._collection)
            found.extend(
                self._value_of(value, key) for key, value in zip(page, stored, strict=True) if value is not None
            )
        return found

    async def random_key(self) -> Key | None:
        """A key picked uniformly at random, or None if the mapping is empty."""
        keys = await self._key_list("random_key")
        return random.choice(keys) if keys else None

    # --- edits -----------------------------------------------------------------------------------

    async def _commit(
        self, key: Key, etag: ETag | None, operations: Sequence[Operation], value: Any, result: Any = None
    ) -> tuple[Any, Any, ETag]:
        """Write `value` (the top-level value after `operations`, whose last one returned `result`) if
        `key` still has `etag` (None: not known, read it first).

        On a conflict, replay `operations` on the fresh value and try again. Returns the written value,
        the last operation's result on it, and the new ETag. Without the conditional segment: a plain put.
        """
        stored_key = self._stored(key)
        if not self._conditional:
            await self._store.put(stored_key, self._encoded(value), collection=self._collection)
            return value, result, ABSENT
        store = self._conditional_store()
        for attempt in range(ATTEMPTS):
            if etag is not None:
                outcome = await store.put_if(
                    stored_key, self._encoded(value), etag=etag, collection=self._collection, retrieve=False
                )
                if outcome.satisfied:
                    return value, result, outcome.resulting_etag
                await asyncio.sleep(_pause(attempt))
            entry = await store.get_entry(stored_key, collection=self._collection)
            if entry is None:
                raise ConcurrencyConflictError(
                    self._collection, stored_key, attempt + 1, message="the entry was deleted while it was edited"
                )
            etag = entry.etag
            value, result = replay(
                self._value_of(entry.value, stored_key), operations, collection=self._collection, key=stored_key
            )
        raise ConcurrencyConflictError(self._collection, stored_key, ATTEMPTS)

    async def transform(self, key: Key, fn: Callable[[Any], Any], default: Any = _MISSING) -> Any:
        """Replace the value under `key` with `fn(value)` and return it: a read-modify-write that loses no
        concurrent update (retried on a conflict where the store has the conditional segment).

        `fn` gets a plain copy of the value (`default` when the key is missing, else `KeyNotFoundError`);
        in the async twin it may be a coroutine function. With the `text` and `pickle` codecs it gets the
        decoded value (`default` itself), and this is the way to change a value in place.
        """
        if not callable(fn):
            raise InvalidArgumentTypeError("fn must be a function of the current value", {"fn": repr(fn)})
        stored_key = self._stored(key)
        for attempt in range(ATTEMPTS):
            found = await self._read(key)
            if found is None:
                if default is _MISSING:
                    raise self._missing(key, "transform")
                value, etag = self._detached(default), ABSENT
            else:
                value, etag = found
            new = fn(value)
            if True:  # ASYNC
                if inspect.isawaitable(new):
                    new = await new
            if not self._conditional:
                await self._store.put(stored_key, self._encoded(new), collection=self._collection)
                return self._detached(new)
            outcome = await self._conditional_store().put_if(
                stored_key, self._encoded(new), etag=etag, collection=self._collection, retrieve=False
            )
            if outcome.satisfied:
                return self._detached(new)
            await asyncio.sleep(_pause(attempt))
        raise ConcurrencyConflictError(self._collection, stored_key, ATTEMPTS)

    def edit(self, key: Key, default: Any = _MISSING) -> AsyncEdit:
        """`async with m.edit(key) as value:` changes a dict or list value in place and writes it once at the end.

        The write is guarded by the ETag read at the start; on a conflict the recorded changes are
        replayed on the fresh value (`ConcurrencyConflictError` if they no longer apply). An exception
        in the block writes nothing. A missing key starts from `default` (else `KeyNotFoundError`).

        `json` codec only: with `text` or `pickle` it raises `UnsupportedOperationError` (the changes to
        an arbitrary object cannot be recorded and replayed); use `transform` there.
        """
        if not self._codec.json_native:
            raise UnsupportedOperationError(
                f"edit needs the json codec, this mapping uses {self._codec.name!r}: use transform",
                {"operation": "edit", "codec": self._codec.name},
            )
        return AsyncEdit(self, key, default)

    # --- errors ----------------------------------------------------------------------------------

    def _missing(self, key: object, operation: str) -> KeyNotFoundError:
        return KeyNotFoundError(operation, self._collection, repr(key), message=f"{key!r}")

    def _no_times(self, operation: str) -> UnsupportedOperationError:
        return UnsupportedOperationError(
            f"{operation} needs write times, and {type(self._store).__name__} does not record them",
            {"operation": operation, "store": type(self._store).__name__},
        )

    def __repr__(self) -> str:
        view = f", prefix={self._prefix!r}" if self._prefix else ""
        if not self._codec.json_native:
            view += f", codec={self._codec.name!r}"
        return f"{type(self).__name__}({type(self._store).__name__}, collection={self._collection!r}{view})"


def _normal(key: object) -> Key:
    """A key as the mapping lists it (a 1-tuple is the str it holds)."""
    return as_key(key_parts(key))


def _count(n: object, available: int) -> int:
    if n is None:
        return available
    if type(n) is not int or n < 0:
        raise InvalidArgumentTypeError("n must be an int >= 0 or None", {"n": repr(n)})
    return n


class AsyncEdit:
    """The context of `edit`: records the changes made to the value and writes them on exit."""

    def __init__(self, mapping: _MappingCore, key: Key, default: Any) -> None:
        mapping._stored(key)  # a bad key fails at the call
        self._mapping, self._key, self._default = mapping, key, default
        self._operations: list[Operation] = []
        self._reads: list[Guard] = []
        self._etag: ETag = ABSENT
        self._created = False
        self._root: LiveDict | LiveList | None = None

    async def __aenter__(self) -> Any:
        found = await self._mapping._read(self._key)
        if found is None:
            if self._default is _MISSING:
                raise self._mapping._missing(self._key, "edit")
            value, self._etag, self._created = to_plain(self._default), ABSENT, True
        else:
            value, self._etag = found
        if not is_container(value):
            raise InvalidArgumentTypeError("edit needs a dict or list value", {"found": type(value).__name__})
        self._root = live_root(value, self)
        return self._root

    def change(self, root: LiveDict | LiveList, operation: Operation) -> Any:
        """Apply one change locally and record it (with the reads before it) for the write at the end."""
        value, result = apply(root, operation)
        self._operations.append(operation._replace(guards=(*self._reads, *operation.guards)))
        self._reads.clear()
        refresh(root, value)
        return result

    def read(self, guard: Guard) -> None:
        """Record a read: a replay of the changes after it goes ahead only if it still reads the same."""
        self._reads.append(guard)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        root = self._root
        if root is None:
            return
        detach(root)
        if exc_type is None and (self._operations or self._created):
            operations = self._operations
            if self._reads:  # reads after the last change: the write still depends on them
                operations = [*operations, Operation((), type(root), "", (), {}, tuple(self._reads))]
            value, _, _ = await self._mapping._commit(self._key, self._etag, operations, to_plain(root))
            refresh(root, value)


if True:  # ASYNC

    class AsyncKVMapping(_MappingCore):
        """A persistent dict over `store` and `collection`, with awaitable methods (`await m.get(k)`).

        Iteration (`async for key in m`) and every listing are sorted by key; values come back as
        plain, detached values (edit them in place with `async with m.edit(key)`).
        """

        async def __aiter__(self) -> AsyncIterator[Key]:
            for key in await self._key_list():
                yield key

        async def keys(self) -> list[Key]:
            """Every key, sorted."""
            return await self._key_list("keys")

        async def values(self) -> list[Any]:
            """Every value, in key order."""
            return [value async for page in self._item_pages("values") for _, value in page]

        async def items(self) -> list[tuple[Key, Any]]:
            """Every (key, value), in key order."""
            return [item async for page in self._item_pages("items") for item in page]

else:

    class _WriteThrough:
        """The owner of a value read by `m[key]`: every change is written at once, guarded by the ETag."""

        def __init__(self, mapping: KVMapping, key: Key, etag: ETag | None) -> None:
            self._mapping, self._key, self._etag = mapping, key, etag
            self._reads: list[Guard] = []

        def read(self, guard: Guard) -> None:
            """Record a read: the next change is replayed on a fresher value only if it still reads the same."""
            self._reads.append(guard)

        def change(self, root: LiveDict | LiveList, operation: Operation) -> Any:
            """Write the value with `operation` applied (replayed on a fresher value after a conflict)."""
            value, result = apply(root, operation)  # a bad change (missing key, bad index) raises here, unwritten
            operation = operation._replace(guards=(*self._reads, *operation.guards))
            self._reads.clear()
            value, result, self._etag = self._mapping._commit(self._key, self._etag, [operation], value, result)
            refresh(root, value)
            return result

    class _Values(ValuesView[Any]):
        """Values in key order, read in pages; dicts and lists are live views."""

        _mapping: KVMapping

        def __iter__(self) -> Iterator[Any]:
            for page in self._mapping._item_pages("values"):
                for key, value in page:
                    yield self._mapping._live(key, value)

    class _Items(ItemsView[Key, Any]):
        """(key, value) pairs in key order, read in pages; dicts and lists are live views."""

        _mapping: KVMapping

        def __iter__(self) -> Iterator[tuple[Key, Any]]:
            for page in self._mapping._item_pages("items"):
                for key, value in page:
                    yield key, self._mapping._live(key, value)

    class KVMapping(_MappingCore, MutableMapping[Key, Any]):
        """A persistent `dict` over `store` and `collection`: a `MutableMapping` with every dict method.

        Iteration is sorted by key. Dict and list values come back as live views: a change to one
        (`m["cfg"]["retries"] = 3`, `m["tags"].append("x")`) is written back at once, guarded by the
        ETag it was read with. `copy()` gives a plain, detached dict.

        With `codec="pickle"` a value comes back as the unpickled object, not a live view: a change to
        it is not stored until it is assigned again (`m[k] = obj`) or made with `transform`.
        """

        __hash__ = None  # mutable, like dict

        def _live(self, key: Key, value: Any) -> Any:
            """A live view of a value read without its ETag (values()/items()): its first change reads the entry
            again and applies to what it holds then."""
            return live_root(value, _WriteThrough(self, key, None)) if self._is_live(value) else value

        def __getitem__(self, key: Key) -> Any:
            found = self._read(key)
            if found is None:
                raise self._missing(key, "get")
            value, etag = found
            return live_root(value, _WriteThrough(self, key, etag)) if self._is_live(value) else value

        def get(self, key: Key, default: Any = None) -> Any:
            """The value under `key` (a live view for a dict or list), or `default`."""
            try:
                return self[key]
            except KeyNotFoundError:
                return default

        def setdefault(self, key: Key, default: Any = None) -> Any:
            """The value under `key` (a live view for a dict or list); if there is none, store `default` first."""
            value, etag = self._setdefault(key, default)
            return live_root(value, _WriteThrough(self, key, etag)) if self._is_live(value) else value

        def __setitem__(self, key: Key, value: Any) -> None:
            self.set(key, value)

        def __delitem__(self, key: Key) -> None:
            self.delete(key)

        def __contains__(self, key: object) -> bool:
            try:
                stored_key = self._stored(key)
            except InvalidKeyError:  # as for a dict: a value that cannot be a key is not in it
                return False
            return self._store.get(stored_key, collection=self._collection) is not None

        def __len__(self) -> int:
            return self.len()

        def __iter__(self) -> Iterator[Key]:
            return iter(self._key_list())

        def keys(self) -> KeysView[Key]:
            """The keys, sorted (a view: each use lists them again)."""
            return KeysView(self)

        def values(self) -> ValuesView[Any]:
            """The values in key order, read in pages (a view: each use reads them again)."""
            return _Values(self)

        def items(self) -> ItemsView[Key, Any]:
            """The (key, value) pairs in key order, read in pages (a view: each use reads them again)."""
            return _Items(self)

        def __eq__(self, other: object) -> bool:
            if not isinstance(other, Mapping):
                return NotImplemented
            return self.equals(cast("Mapping[Any, Any]", other))

        def __or__(self, other: object) -> dict[Key, Any]:
            if not isinstance(other, Mapping):
                return NotImplemented
            return self.or_(cast("Mapping[Any, Any]", other))

        def __ror__(self, other: object) -> dict[Key, Any]:
            if not isinstance(other, Mapping):
                return NotImplemented
            return self.ror(cast("Mapping[Any, Any]", other))

        def __ior__(self, other: object) -> KVMapping:
            self.update(other)
            return self

"""`BaseStore`: validation, defaults and expiry in one place; a store implements a few hooks.

Public methods check their input (raising our errors before anything is written), resolve the
default collection, encode values once, and hide expired entries. Hooks receive checked names and
encoded JSON text and return decoded values, so no store repeats that work. Optional segments
(keys, collections, destroy, destroy_collection, cull) are mixins, so a store only claims what it has.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, SupportsFloat

from typing_extensions import Self

from key_value.aio.conditional import TransformFunction, put_if_absent, transform
from key_value.aio.protocols.capabilities import implemented_segments
from key_value.aio.protocols.key_value import (
    AsyncConditionalProtocol,
    AsyncCullProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValueProtocol,
)
from key_value.shared.capabilities import DEFAULT_COLLECTION_NAME, Capability
from key_value.shared.codec import encode_value
from key_value.shared.compat.sanitization import SanitizationStrategy
from key_value.shared.compat.serialization import SerializationAdapter
from key_value.shared.conditional import (
    DELETE_CURRENT,
    Absent,
    Atomicity,
    Condition,
    ConditionalResult,
    Joker,
    VersionedEntry,
    check_condition,
    check_etag,
    check_retrieve,
)
from key_value.shared.entry import Entry
from key_value.shared.errors import InvalidArgumentError
from key_value.shared.typecheck import public_api
from key_value.shared.validation import (
    check_collection,
    check_key,
    check_keys,
    check_limit,
    check_same_length,
    check_ttl,
)

#: What `ttl` returns: the value and its remaining seconds, (value, None) without expiry, (None, None) if missing.
ValueTTL = tuple[dict[str, Any] | None, float | None]

#: Seed data: {collection: {key: value}}, written when the store is first set up.
SeedData = Mapping[str, Mapping[str, Mapping[str, Any]]]


class BaseStore(AsyncKeyValueProtocol, ABC):
    """Base of every store: implement `_get_entry`, `_put_entry` and `_delete_entry` (and bulk hooks where faster)."""

    default_collection: str
    #: True when the class overrides `_get_entries_ttl` (the server keeps expiry); set per subclass.
    _ttl_from_server: ClassVar[bool] = False
    #: Wall clock used for expiry, in epoch seconds; tests replace it to control time.
    clock: Callable[[], float]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._ttl_from_server = cls._get_entries_ttl is not BaseStore._get_entries_ttl

    def __init__(
        self,
        *,
        serialization_adapter: SerializationAdapter | None = None,
        key_sanitization_strategy: SanitizationStrategy | None = None,
        collection_sanitization_strategy: SanitizationStrategy | None = None,
        default_collection: str | None = None,
        seed: SeedData | None = None,
        stable_api: bool = False,
    ) -> None:
        """`default_collection` and `seed` are ours; the other options are py-key-value's (see `compat`).

        The adapter and strategies are kept for the stores that honour them (`FileTreeStore`,
        `MemcachedStore`, `S3Store`); `stable_api` only silenced a warning there and changes nothing here.
        """
        self.default_collection = (
            DEFAULT_COLLECTION_NAME if default_collection is None else check_collection(default_collection)
        )
        self._serialization_adapter = serialization_adapter
        self._key_sanitization_strategy = key_sanitization_strategy
        self._collection_sanitization_strategy = collection_sanitization_strategy
        self._stable_api = stable_api
        self.clock = time.time
        self._seed = _encode_seed(seed) if seed else {}
        self._ready = False
        self._setup_lock = asyncio.Lock()

    # -- set-up ---------------------------------------------------------------------------------

    async def setup(self) -> None:
        """Prepare the backend once (connect, create tables, write seed data); later calls return at once."""
        if self._ready:
            return
        async with self._setup_lock:
            if self._ready:
                return
            await self._setup()
            for collection, items in self._seed.items():
                await self._put_entries(collection, list(items), list(items.values()), ttl=None, expires_at=None)
            self._ready = True

    async def _setup(self) -> None:
        """Hook: prepare the backend; runs once before the first operation."""

    async def setup_collection(self, *, collection: str) -> None:
        """Prepare the store for `collection` (py-key-value's API): checks the name and sets the store up.

        Our stores need no per-collection preparation: a collection exists once it holds an entry.
        """
        check_collection(collection)
        if not self._ready:
            await self.setup()

    @property
    def capabilities(self) -> Capability:
        """The optional protocol segments this store supports."""
        return implemented_segments(self)

    # -- hooks ----------------------------------------------------------------------------------

    @abstractmethod
    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        """Hook: the entry under (collection, key), or None. May return expired entries; they are hidden."""

    async def _get_entries(self, collection: str, keys: list[str]) -> list[Entry | None]:
        """Hook: one entry (or None) per key; override with the backend's batch read."""
        return [await self._get_entry(collection, key) for key in keys]

    @abstractmethod
    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        """Hook: store JSON text under (collection, key), replacing value and expiry."""

    async def _put_entries(
        self, collection: str, keys: list[str], values_json: list[str], *, ttl: float | None, expires_at: float | None
    ) -> None:
        """Hook: store many distinct keys at once; override with the backend's batch write."""
        for key, value_json in zip(keys, values_json, strict=True):
            await self._put_entry(collection, key, value_json, ttl=ttl, expires_at=expires_at)

    @abstractmethod
    async def _delete_entry(self, collection: str, key: str) -> bool:
        """Hook: delete (collection, key); True if it existed."""

    async def _delete_entries(self, collection: str, keys: list[str]) -> int:
        """Hook: delete many distinct keys; return how many existed. Override with the backend's batch delete."""
        deleted = 0
        for key in keys:
            deleted += await self._delete_entry(collection, key)
        return deleted

    async def _get_entries_ttl(self, collection: str, keys: list[str]) -> list[ValueTTL]:
        """Hook: (value, remaining seconds or None) per key; (None, None) for a missing or expired one.

        The default reads the entries and counts down their `expires_at` on this store's clock. A store
        whose server keeps expiry (its entries carry `expires_at=None`) overrides it to ask the server.
        """
        return [self._with_ttl(entry) for entry in await self._get_entries(collection, keys)]

    # -- the protocol ---------------------------------------------------------------------------

    def _collection(self, collection: str | None) -> str:
        return self.default_collection if collection is None else check_collection(collection)

    def _one_key(self, key: str, collection: str | None) -> str:
        """The preamble of a one-key call: check the collection, then the key; return the collection to use."""
        collection = self.default_collection if collection is None else check_collection(collection)
        if key.__class__ is not str or not key or not key.isascii():  # check_key's fast path, inlined
            check_key(key)
        return collection

    def _expiry(self, seconds: float | None) -> float | None:
        """The absolute expiry of a write with `seconds` to live (checked), on this store's clock."""
        return None if seconds is None else self.clock() + seconds

    def _live(self, entry: Entry | None) -> Entry | None:
        if entry is None:
            return None
        expires_at = entry.expires_at
        return entry if expires_at is None or expires_at > self.clock() else None

    @public_api
    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        """Return a fresh copy of the value under `key`, or None if missing or expired."""
        collection = self._one_key(key, collection)
        if not self._ready:
            await self.setup()
        entry = self._live(await self._get_entry(collection, key))
        return None if entry is None else entry.value

    @public_api
    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        """Return one value (or None) per key, in order."""
        collection = self._collection(collection)
        checked = check_keys(keys)
        if not self._ready:
            await self.setup()
        if not checked:
            return []
        entries = await self._get_entries(collection, checked)
        if self._ttl_from_server:  # the server hid expired entries, and these carry no expiry (see `Entry`)
            return [None if entry is None else entry[0] for entry in entries]
        return [None if entry is None else entry[0] for entry in map(self._live, entries)]

    def _with_ttl(self, entry: Entry | None) -> ValueTTL:
        if entry is None:
            return None, None
        value, expires_at, _ = entry
        if expires_at is None:
            return value, None
        remaining = expires_at - self.clock()
        return (value, remaining) if remaining > 0 else (None, None)

    @public_api
    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        """Return the value and its remaining seconds to live; (None, None) if missing or expired."""
        collection = self._one_key(key, collection)
        if not self._ready:
            await self.setup()
        if self._ttl_from_server:
            return (await self._get_entries_ttl(collection, [key]))[0]
        return self._with_ttl(await self._get_entry(collection, key))

    @public_api
    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        """Return one (value, ttl) pair per key, in order."""
        collection = self._collection(collection)
        checked = check_keys(keys)
        if not self._ready:
            await self.setup()
        if not checked:
            return []
        return await self._get_entries_ttl(collection, checked)

    @public_api
    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        """Store `value` under `key`, replacing any earlier value and TTL."""
        collection = self._one_key(key, collection)
        seconds = check_ttl(ttl)
        value_json = encode_value(value)
        if not self._ready:
            await self.setup()
        await self._put_entry(collection, key, value_json, ttl=seconds, expires_at=self._expiry(seconds))

    @public_api
    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        """Store each value under the key at its position (last duplicate wins), all or nothing on bad input."""
        collection = self._collection(collection)
        checked = check_keys(keys)
        check_same_length(checked, values)
        seconds = check_ttl(ttl)
        latest = dict(zip(checked, map(encode_value, values), strict=True))
        if not self._ready:
            await self.setup()
        if not latest:
            return
        await self._put_entries(
            collection, list(latest), list(latest.values()), ttl=seconds, expires_at=self._expiry(seconds)
        )

    @public_api
    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        """Delete `key`; return True if it existed."""
        collection = self._one_key(key, collection)
        if not self._ready:
            await self.setup()
        return await self._delete_entry(collection, key)

    @public_api
    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        """Delete the keys; return how many distinct keys existed."""
        collection = self._collection(collection)
        unique = list(dict.fromkeys(check_keys(keys)))
        if not self._ready:
            await self.setup()
        if not unique:
            return 0
        return await self._delete_entries(collection, unique)


class BaseContextManagerStore(BaseStore, ABC):
    """A store holding resources: `async with store:` sets it up and closes it; a closed store reopens on use."""

    def __init__(self, *, client_provided_by_user: bool = False, **kwargs: Any) -> None:
        """`client_provided_by_user` is py-key-value's; our stores never close a client passed to them anyway."""
        self._client_provided_by_user = client_provided_by_user
        super().__init__(**kwargs)

    async def __aenter__(self) -> Self:
        await self.setup()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc_value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Release the backend's resources; the next operation sets the store up again."""
        async with self._setup_lock:
            if self._ready:
                self._ready = False
                await self._close()

    async def _close(self) -> None:
        """Hook: release what `_setup` acquired."""


class BaseEnumerateKeysStore(BaseStore, AsyncEnumerateKeysProtocol, ABC):
    """Mixin for stores that can list the keys of a collection."""

    @public_api
    async def keys(self, collection: str | None = None, *, limit: int | None = None) -> list[str]:
        """Return the live keys of `collection`: all of them, or at most `limit`."""
        collection = self._collection(collection)
        checked_limit = check_limit(limit)
        if not self._ready:
            await self.setup()
        if checked_limit == 0:
            return []
        return await self._keys(collection, limit=checked_limit)

    @abstractmethod
    async def _keys(self, collection: str, *, limit: int | None) -> list[str]:
        """Hook: the live keys of `collection`, at most `limit` (> 0) when given."""


class BaseEnumerateCollectionsStore(BaseStore, AsyncEnumerateCollectionsProtocol, ABC):
    """Mixin for stores that can list their collections."""

    @public_api
    async def collections(self, *, limit: int | None = None) -> list[str]:
        """Return the collections that hold entries: all of them, or at most `limit`."""
        checked_limit = check_limit(limit)
        if not self._ready:
            await self.setup()
        if checked_limit == 0:
            return []
        return await self._collections(limit=checked_limit)

    @abstractmethod
    async def _collections(self, *, limit: int | None) -> list[str]:
        """Hook: the collections holding entries, at most `limit` (> 0) when given."""


class BaseDestroyStore(BaseStore, AsyncDestroyStoreProtocol, ABC):
    """Mixin for stores that can delete all of their own data."""

    @public_api
    async def destroy(self) -> bool:
        """Delete every entry of this store and nothing else; the store stays usable."""
        if not self._ready:
            await self.setup()
        return await self._destroy()

    @abstractmethod
    async def _destroy(self) -> bool:
        """Hook: delete all of this store's data; True if it held any."""


class BaseDestroyCollectionStore(BaseStore, AsyncDestroyCollectionProtocol, ABC):
    """Mixin for stores that can delete one collection."""

    @public_api
    async def destroy_collection(self, collection: str) -> bool:
        """Delete every entry of `collection`; True if it held any."""
        collection = check_collection(collection)
        if not self._ready:
            await self.setup()
        return await self._destroy_collection(collection)

    @abstractmethod
    async def _destroy_collection(self, collection: str) -> bool:
        """Hook: delete the collection's entries; True if it held any."""


class BaseCullStore(BaseStore, AsyncCullProtocol, ABC):
    """Mixin for stores that can reclaim expired entries on demand."""

    @public_api
    async def cull(self) -> None:
        """Remove every expired entry from the backend."""
        if not self._ready:
            await self.setup()
        await self._cull()

    @abstractmethod
    async def _cull(self) -> None:
        """Hook: delete expired entries."""


class BaseConditionalStore(BaseStore, AsyncConditionalProtocol, ABC):
    """Mixin for stores with the conditional segment: implement `_get_versioned` and `_put_if`.

    The public methods check their input (nothing is written on bad input), resolve the collection
    and encode the value; `_put_if` gets JSON text or a joker and decides the condition in the same
    step as the write, on the backend where it can. `delete_if` is `_put_if` with `DELETE_CURRENT`.
    """

    #: How far this store's check-and-write is one step; the contract suite holds it to this.
    atomicity: Atomicity = Atomicity.ACROSS_PROCESSES  # pyright: ignore[reportIncompatibleMethodOverride]

    @abstractmethod
    async def _get_versioned(self, collection: str, key: str) -> VersionedEntry | None:
        """Hook: the live entry with its ETag, seconds left and write time; None if missing or expired."""

    @abstractmethod
    async def _put_if(
        self,
        collection: str,
        key: str,
        value: str | Joker,
        *,
        etag: str | Absent,
        condition: Condition,
        ttl: float | None,
        expires_at: float | None,
        retrieve: bool,
    ) -> ConditionalResult:
        """Hook: apply `value` (JSON text, `KEEP_CURRENT` or `DELETE_CURRENT`) if `condition` holds, in one step.

        An expired entry is absent. A satisfied write of JSON text replaces value and expiry (`ttl`
        None clears it) and gives the entry a new ETag; `KEEP_CURRENT` with a `ttl` refreshes a live
        entry's expiry and keeps its ETag; `DELETE_CURRENT` deletes. With `retrieve`, the result
        carries the value the entry holds afterwards (None when absent), else `NOT_RETRIEVED`.
        """

    @public_api
    async def get_entry(self, key: str, *, collection: str | None = None) -> VersionedEntry | None:
        """Return the live entry (value, ETag, seconds left, write time), or None if missing or expired."""
        collection = self._one_key(key, collection)
        if not self._ready:
            await self.setup()
        return await self._get_versioned(collection, key)

    @public_api
    async def put_if(
        self,
        key: str,
        value: Mapping[str, Any] | Joker,
        *,
        etag: str | Absent,
        condition: Condition = Condition.SAME,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
        retrieve: bool = True,
    ) -> ConditionalResult:
        """Write `value` (or apply a joker) if `condition` holds between the current ETag and `etag`."""
        collection = self._one_key(key, collection)
        expected = check_etag(etag)
        checked_condition = check_condition(condition)
        seconds = check_ttl(ttl)
        wanted = check_retrieve(retrieve)
        payload: str | Joker = value if isinstance(value, Joker) else encode_value(value)
        if not self._ready:
            await self.setup()
        return await self._put_if(
            collection,
            key,
            payload,
            etag=expected,
            condition=checked_condition,
            ttl=seconds,
            expires_at=self._expiry(seconds),
            retrieve=wanted,
        )

    @public_api
    async def delete_if(
        self,
        key: str,
        *,
        etag: str | Absent,
        condition: Condition = Condition.SAME,
        collection: str | None = None,
        retrieve: bool = True,
    ) -> ConditionalResult:
        """Delete the entry if `condition` holds between its current ETag and `etag`."""
        collection = self._one_key(key, collection)
        expected = check_etag(etag)
        checked_condition = check_condition(condition)
        wanted = check_retrieve(retrieve)
        if not self._ready:
            await self.setup()
        return await self._put_if(
            collection,
            key,
            DELETE_CURRENT,
            etag=expected,
            condition=checked_condition,
            ttl=None,
            expires_at=None,
            retrieve=wanted,
        )

    @public_api
    async def put_if_absent(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> bool:
        """Write `value` only if there is no live entry; return True if it was written."""
        return await put_if_absent(self, key, value, collection=collection, ttl=ttl)

    async def transform(
        self,
        key: str,
        fn: TransformFunction,
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
        retries: int = 20,
        backoff: float = 0.002,
    ) -> ConditionalResult:
        """Replace the value with `fn(current value or None)`, retrying on conflicts (`conditional.transform`)."""
        return await transform(self, key, fn, collection=collection, ttl=ttl, retries=retries, backoff=backoff)


def _encode_seed(seed: SeedData) -> dict[str, dict[str, str]]:
    if not isinstance(seed, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidArgumentError("seed must be a mapping of {collection: {key: value}}")
    return {
        check_collection(collection): {check_key(key): encode_value(value) for key, value in items.items()}
        for collection, items in seed.items()
    }


__all__ = [
    "BaseConditionalStore",
    "BaseContextManagerStore",
    "BaseCullStore",
    "BaseDestroyCollectionStore",
    "BaseDestroyStore",
    "BaseEnumerateCollectionsStore",
    "BaseEnumerateKeysStore",
    "BaseStore",
    "Entry",
    "SeedData",
    "ValueTTL",
]

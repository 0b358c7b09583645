"""The key-value protocol: what every store and wrapper offers, plus optional, separately checkable segments.

Values are JSON-compatible mappings with `str` keys. `collection=None` means the store's default
collection. TTLs are seconds (finite, > 0); a put without a TTL clears an earlier one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, SupportsFloat, runtime_checkable

from key_value.shared.conditional import Absent, Atomicity, Condition, ConditionalResult, Joker, VersionedEntry


@runtime_checkable
class AsyncKeyValueProtocol(Protocol):
    """Single and bulk get/put/delete/ttl, each scoped to a collection."""

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        """Return a fresh copy of the value stored under `key`, or None if it is missing or expired."""
        ...

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        """Return the value and its remaining seconds to live (None when it never expires); (None, None) if missing."""
        ...

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        """Store `value` under `key`, replacing any earlier value and TTL."""
        ...

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        """Delete `key`; return True if it existed."""
        ...

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        """Return one value (or None) per key, in order."""
        ...

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        """Return one (value, ttl) pair per key, in order."""
        ...

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        """Store each value under the key at the same position; the last of duplicate keys wins."""
        ...

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        """Delete the keys; return how many distinct keys existed."""
        ...


@runtime_checkable
class AsyncCullProtocol(Protocol):
    """Stores that can reclaim expired entries on demand."""

    async def cull(self) -> None:
        """Remove every expired entry from the backend."""
        ...


@runtime_checkable
class AsyncEnumerateKeysProtocol(Protocol):
    """Stores that can list the keys of a collection."""

    async def keys(self, collection: str | None = None, *, limit: int | None = None) -> list[str]:
        """Return the live keys of `collection`, all of them unless `limit` is given."""
        ...


@runtime_checkable
class AsyncEnumerateCollectionsProtocol(Protocol):
    """Stores that can list their collections."""

    async def collections(self, *, limit: int | None = None) -> list[str]:
        """Return the collections that hold entries, all of them unless `limit` is given."""
        ...


@runtime_checkable
class AsyncDestroyStoreProtocol(Protocol):
    """Stores that can delete all of their own data."""

    async def destroy(self) -> bool:
        """Delete every entry of this store (and nothing else); the store stays usable."""
        ...


@runtime_checkable
class AsyncDestroyCollectionProtocol(Protocol):
    """Stores that can delete one collection."""

    async def destroy_collection(self, collection: str) -> bool:
        """Delete every entry of `collection`; return True if it held any."""
        ...


#: What a `transform` function returns: the new value, or a joker.
TransformOutcome = Mapping[str, Any] | Joker


@runtime_checkable
class AsyncConditionalProtocol(Protocol):
    """Stores that can check an entry's ETag and write in one step (optimistic concurrency)."""

    @property
    def atomicity(self) -> Atomicity:
        """How far a check and its write are one step: across processes, within one process, or best effort."""
        ...

    async def get_entry(self, key: str, *, collection: str | None = None) -> VersionedEntry | None:
        """Return the live entry (value, ETag, seconds left, write time), or None if missing or expired."""
        ...

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
        ...

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
        ...

    async def put_if_absent(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> bool:
        """Write `value` only if there is no live entry; return True if it was written."""
        ...

    async def transform(
        self,
        key: str,
        fn: Callable[[dict[str, Any] | None], Any],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
        retries: int = 20,
        backoff: float = 0.002,
    ) -> ConditionalResult:
        """Replace the value with `fn(current value or None)`, retrying on conflicts; see `conditional.transform`."""
        ...


@runtime_checkable
class AsyncKeyValue(AsyncKeyValueProtocol, Protocol):
    """The key-value protocol that applications type against."""

"""`FallbackWrapper`: operations go to a primary store; reads that fail there are answered by a fallback store.

Writes go to the primary only, unless `write_to_fallback=True`, in which case a write that fails on the
primary is made on the fallback instead (the two stores then disagree until they are reconciled).
Unlike py-key-value-aio, errors about the call itself (`InvalidArgumentError`, `SerializationError`)
never trigger the fallback, whatever `fallback_on` says: the fallback store would refuse the same input,
and the caller must see that it was wrong.

Conditional calls (`get_entry`, `put_if`, `delete_if`, ...) go to the primary only, and are offered when
the primary has them: an ETag names one store's write, so the fallback's could never be compared with
the primary's, and a compare-and-swap that switched stores midway would not be one.
"""

# ruff: noqa: FBT001, FBT002 - `write_to_fallback` stays positional, as in py-key-value-aio

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, SupportsFloat, TypeVar, cast

from key_value.aio.protocols.capabilities import capabilities_of
from key_value.aio.protocols.key_value import (
    AsyncConditionalProtocol,
    AsyncCullProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValue,
)
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.shared.capabilities import Capability
from key_value.shared.conditional import Atomicity
from key_value.shared.errors import InvalidArgumentError, SerializationError

_T = TypeVar("_T")

if True:  # ASYNC
    from collections.abc import Awaitable

    _Operation = Callable[[AsyncKeyValue], Awaitable[_T]]
else:
    _Operation = Callable[[AsyncKeyValue], _T]

#: Errors that describe the call, not the store: they are raised, never answered by the fallback.
_INPUT_ERRORS = (InvalidArgumentError, SerializationError)


class FallbackWrapper(BaseWrapper):
    """Reads from `fallback_key_value` when `primary_key_value` raises one of `fallback_on`."""

    def __init__(
        self,
        primary_key_value: AsyncKeyValue,
        fallback_key_value: AsyncKeyValue,
        fallback_on: tuple[type[Exception], ...] = (Exception,),
        write_to_fallback: bool = False,
    ) -> None:
        super().__init__(primary_key_value)
        self.primary_key_value = primary_key_value
        self.fallback_key_value = fallback_key_value
        self.fallback_on = _exception_types(fallback_on)
        self.write_to_fallback = write_to_fallback

    supported_segments = ALL_SEGMENTS

    @property
    def wrapped_stores(self) -> list[AsyncKeyValue]:
        return [self.primary_key_value, self.fallback_key_value]

    @property
    def capabilities(self) -> Capability:
        """The segments both stores have, and the conditional one when the primary has it (it alone answers)."""
        both = super().capabilities & ~Capability.CONDITIONAL
        return both | (capabilities_of(self.primary_key_value) & Capability.CONDITIONAL)

    @property
    def atomicity(self) -> Atomicity:
        """The primary's: conditional calls go to it alone."""
        return cast("AsyncConditionalProtocol", self.primary_key_value).atomicity

    async def _read(self, operation: _Operation[_T]) -> _T:
        """Run `operation` on the primary; on a listed store error, run it on the fallback instead."""
        try:
            return await operation(self.primary_key_value)
        except self.fallback_on as error:
            if isinstance(error, _INPUT_ERRORS):
                raise
        return await operation(self.fallback_key_value)

    async def _write(self, operation: _Operation[_T]) -> _T:
        """Run `operation` on the primary, falling back like a read only when `write_to_fallback` is set."""
        if self.write_to_fallback:
            return await self._read(operation)
        return await operation(self.primary_key_value)

    # -- reads ----------------------------------------------------------------------------------

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        return await self._read(lambda store: store.get(key, collection=collection))

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        return await self._read(lambda store: store.get_many(keys, collection=collection))

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        return await self._read(lambda store: store.ttl(key, collection=collection))

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        return await self._read(lambda store: store.ttl_many(keys, collection=collection))

    async def _keys(self, collection: str | None, *, limit: int | None) -> list[str]:
        return await self._read(lambda store: cast("AsyncEnumerateKeysProtocol", store).keys(collection, limit=limit))

    async def _collections(self, *, limit: int | None) -> list[str]:
        return await self._read(lambda store: cast("AsyncEnumerateCollectionsProtocol", store).collections(limit=limit))

    # -- writes ---------------------------------------------------------------------------------

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        await self._write(lambda store: store.put(key, value, collection=collection, ttl=ttl))

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        await self._write(lambda store: store.put_many(keys, values, collection=collection, ttl=ttl))

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        return await self._write(lambda store: store.delete(key, collection=collection))

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        return await self._write(lambda store: store.delete_many(keys, collection=collection))

    async def _destroy(self) -> bool:
        return await self._write(lambda store: cast("AsyncDestroyStoreProtocol", store).destroy())

    async def _destroy_collection(self, collection: str) -> bool:
        return await self._write(
            lambda store: cast("AsyncDestroyCollectionProtocol", store).destroy_collection(collection)
        )

    async def _cull(self) -> None:
        await self._write(lambda store: cast("AsyncCullProtocol", store).cull())


def _exception_types(fallback_on: object) -> tuple[type[Exception], ...]:
    """`fallback_on` if it is a tuple of Exception subclasses, else `InvalidArgumentError`."""
    kinds = cast("tuple[object, ...]", fallback_on) if isinstance(fallback_on, tuple) else None
    if kinds is None or not all(isinstance(kind, type) and issubclass(kind, Exception) for kind in kinds):
        raise InvalidArgumentError("fallback_on must be a tuple of Exception subclasses")
    return cast("tuple[type[Exception], ...]", kinds)

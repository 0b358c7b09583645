"""`BaseWrapper`: forwards the protocol to a wrapped store, and claims only the segments the store has.

A wrapper overrides the core methods it changes and, for the optional segments, the `_keys`,
`_collections`, `_destroy`, `_destroy_collection` and `_cull` hooks. Whether the public segment
methods (`keys()`, `collections()`, ...) exist on a wrapper instance is decided when it is built, from
`capabilities`: each instance gets a subclass with exactly those segment methods, so
`isinstance(wrapper, AsyncEnumerateKeysProtocol)` is true only when keys can really be listed.
"""

from __future__ import annotations

import inspect
from abc import ABCMeta
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, SupportsFloat, TypeVar, cast

from typing_extensions import Self

from key_value.aio.conditional import TransformFunction, put_if_absent, transform
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
from key_value.aio.protocols.segments import ALL_SEGMENTS, SEGMENTS
from key_value.shared.capabilities import Capability
from key_value.shared.conditional import (
    Absent,
    Atomicity,
    Condition,
    ConditionalResult,
    Joker,
    VersionedEntry,
    weakest,
)

_W = TypeVar("_W", bound="BaseWrapper")


class _WrapperMeta(ABCMeta):
    """Builds a wrapper, then gives the instance the segment methods its `capabilities` allow."""

    # `cls: type[_W]` makes type checkers infer `Wrapper(...)` as `Wrapper` and check its __init__.
    def __call__(cls: type[_W], *args: Any, **kwargs: Any) -> _W:  # pyright: ignore[reportGeneralTypeIssues]
        instance = cast("BaseWrapper", super().__call__(*args, **kwargs))
        instance.__class__ = _with_segments(type(instance), instance.capabilities)
        return cast("_W", instance)


class BaseWrapper(metaclass=_WrapperMeta):
    """Passes every call through to `key_value`; subclasses override what they change."""

    key_value: AsyncKeyValue
    #: The optional segments this wrapper can offer when the wrapped store has them. The conditional
    #: segment is opt-in: a wrapper that changes names, values or writes must say what it means there.
    supported_segments: ClassVar[Capability] = ALL_SEGMENTS & ~Capability.CONDITIONAL

    def __init__(self, key_value: AsyncKeyValue | None = None) -> None:
        """Wrap `key_value`; a subclass that sets `self.key_value` itself (as py-key-value's did) may pass nothing."""
        if key_value is not None:
            self.key_value = key_value

    @property
    def wrapped_stores(self) -> list[AsyncKeyValue]:
        """Every store this wrapper calls (for closing and capabilities); more than one for routing and caching."""
        return [self.key_value]

    @property
    def capabilities(self) -> Capability:
        """The optional segments offered: those every wrapped store has, limited to `supported_segments`."""
        found = ALL_SEGMENTS
        for store in self.wrapped_stores:
            found &= capabilities_of(store)
        return found & self.supported_segments

    @property
    def atomicity(self) -> Atomicity:
        """How far conditional calls through this wrapper are one step: the weakest of the wrapped stores'."""
        return weakest([cast("AsyncConditionalProtocol", store).atomicity for store in self.wrapped_stores])

    @property
    def default_collection(self) -> str | None:
        """The wrapped store's default collection (what `collection=None` means), when it says."""
        name = getattr(self.key_value, "default_collection", None)
        return name if isinstance(name, str) else None

    # -- the protocol ---------------------------------------------------------------------------

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        return await self.key_value.get(key, collection=collection)

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        return await self.key_value.get_many(keys, collection=collection)

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        return await self.key_value.ttl(key, collection=collection)

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        return await self.key_value.ttl_many(keys, collection=collection)

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        await self.key_value.put(key, value, collection=collection, ttl=ttl)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        await self.key_value.put_many(keys, values, collection=collection, ttl=ttl)

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        return await self.key_value.delete(key, collection=collection)

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        return await self.key_value.delete_many(keys, collection=collection)

    # -- segment hooks (reached through the segment methods only when `capabilities` has them) ---

    async def _keys(self, collection: str | None, *, limit: int | None) -> list[str]:
        return await cast("AsyncEnumerateKeysProtocol", self.key_value).keys(collection, limit=limit)

    async def _collections(self, *, limit: int | None) -> list[str]:
        return await cast("AsyncEnumerateCollectionsProtocol", self.key_value).collections(limit=limit)

    async def _destroy(self) -> bool:
        return await cast("AsyncDestroyStoreProtocol", self.key_value).destroy()

    async def _destroy_collection(self, collection: str) -> bool:
        return await cast("AsyncDestroyCollectionProtocol", self.key_value).destroy_collection(collection)

    async def _cull(self) -> None:
        await cast("AsyncCullProtocol", self.key_value).cull()

    def _conditional_target(self, key: str, collection: str | None) -> tuple[AsyncConditionalProtocol, str, str | None]:
        """The store a conditional call on (key, collection) goes to, with that store's names for them. A
        wrapper that renames entries or routes them overrides this one method (and opts in to the segment)."""
        return cast("AsyncConditionalProtocol", self.key_value), key, collection

    #: Whether `_stored_value` / `_read_value` change values (a wrapper that overrides them sets it).
    _changes_values: ClassVar[bool] = False

    def _stored_value(self, value: Mapping[str, Any], key: str, collection: str | None) -> Mapping[str, Any]:
        """What a conditional write stores for the caller's `value` (compression, encryption change it)."""
        return value

    def _read_value(self, stored: dict[str, Any], key: str, collection: str | None) -> dict[str, Any]:
        """The caller's value of what a conditional read found (the inverse of `_stored_value`)."""
        return stored

    async def _get_entry(self, key: str, *, collection: str | None) -> VersionedEntry | None:
        store, inner_key, inner_collection = self._conditional_target(key, collection)
        entry = await store.get_entry(inner_key, collection=inner_collection)
        if entry is None or not self._changes_values:
            return entry
        return entry._replace(value=self._read_value(entry.value, key, collection))

    async def _put_if(
        self,
        key: str,
        value: Mapping[str, Any] | Joker,
        *,
        etag: str | Absent,
        condition: Condition,
        collection: str | None,
        ttl: SupportsFloat | None,
        retrieve: bool,
    ) -> ConditionalResult:
        if self._changes_values and not isinstance(value, Joker):
            value = self._stored_value(value, key, collection)
        store, inner_key, inner_collection = self._conditional_target(key, collection)
        result = await store.put_if(
            inner_key, value, etag=etag, condition=condition, collection=inner_collection, ttl=ttl, retrieve=retrieve
        )
        return self._read_result(result, key, collection)

    async def _delete_if(
        self, key: str, *, etag: str | Absent, condition: Condition, collection: str | None, retrieve: bool
    ) -> ConditionalResult:
        store, inner_key, inner_collection = self._conditional_target(key, collection)
        result = await store.delete_if(
            inner_key, etag=etag, condition=condition, collection=inner_collection, retrieve=retrieve
        )
        return self._read_result(result, key, collection)

    def _read_result(self, result: ConditionalResult, key: str, collection: str | None) -> ConditionalResult:
        """`result` with its value read back through `_read_value` (the ETags are the stored entry's)."""
        if not self._changes_values or not isinstance(result.value, dict):
            return result
        return result._replace(value=self._read_value(result.value, key, collection))

    # Derived: written on this wrapper's own `put_if` / `get_entry`, so what it changes applies to them too.

    async def _put_if_absent(
        self, key: str, value: Mapping[str, Any], *, collection: str | None, ttl: SupportsFloat | None
    ) -> bool:
        return await put_if_absent(cast("AsyncConditionalProtocol", self), key, value, collection=collection, ttl=ttl)

    async def _transform(
        self,
        key: str,
        fn: TransformFunction,
        *,
        collection: str | None,
        ttl: SupportsFloat | None,
        retries: int,
        backoff: float,
    ) -> ConditionalResult:
        conditional = cast("AsyncConditionalProtocol", self)
        return await transform(conditional, key, fn, collection=collection, ttl=ttl, retries=retries, backoff=backoff)

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        for store in self.wrapped_stores:
            enter = getattr(store, "__aenter__", None)
            if enter is not None:
                await enter()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        for store in reversed(self.wrapped_stores):
            leave = getattr(store, "__aexit__", None)
            if leave is not None:
                await leave(exc_type, exc, traceback)

    async def close(self) -> None:
        """Close the wrapped stores that can be closed."""
        for store in self.wrapped_stores:
            close = getattr(store, "close", None)
            if close is not None:
                await close()


def _segment_method(name: str, protocol: type) -> Callable[..., Any]:
    """The public segment method `name`: the protocol's signature, answered by the hook `_name`."""
    signature = inspect.signature(getattr(protocol, name))
    hook = f"_{name}"

    async def method(self: BaseWrapper, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        return await getattr(self, hook)(*bound.args[1:], **bound.kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = getattr(protocol, name).__doc__
    method.__signature__ = signature
    return method


#: Per segment: its flag and its public methods, ready to add to a wrapper class.
_SEGMENT_METHODS: tuple[tuple[Capability, dict[str, Callable[..., Any]]], ...] = tuple(
    (segment.capability, {name: _segment_method(name, segment.protocol) for name in segment.methods})
    for segment in SEGMENTS
)
_CLASSES: dict[tuple[type[BaseWrapper], Capability], type[BaseWrapper]] = {}


def _with_segments(cls: type[BaseWrapper], capabilities: Capability) -> type[BaseWrapper]:
    """`cls` extended with the segment methods in `capabilities` (cached; `cls` itself when none)."""
    base = getattr(cls, "_unsegmented", cls)
    found = _CLASSES.get((base, capabilities))
    if found is not None:
        return found
    # A subclass that defines a segment method itself (as code written for py-key-value-aio does)
    # keeps it: only the methods it leaves out are added.
    added = {
        name: method
        for capability, methods in _SEGMENT_METHODS
        if capability in capabilities
        for name, method in methods.items()
        if not hasattr(base, name)
    }
    found = base
    if added:
        namespace = {"_unsegmented": base, "__module__": base.__module__, "__qualname__": base.__qualname__}
        found = cast("type[BaseWrapper]", _WrapperMeta(base.__name__, (base,), namespace | added))
    _CLASSES[base, capabilities] = found
    return found


__all__ = ["ALL_SEGMENTS", "BaseWrapper"]

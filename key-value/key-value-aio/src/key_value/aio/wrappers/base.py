"""`BaseWrapper`: forwards the protocol to a wrapped store, and claims only the segments the store has.

A wrapper overrides the core methods it changes and, for the optional segments, the `_keys`,
`_collections`, `_destroy`, `_destroy_collection` and `_cull` hooks. Whether the public segment
methods (`keys()`, `collections()`, ...) exist on a wrapper instance is decided when it is built, from
`capabilities`: each instance gets a subclass with exactly those segment methods, so
`isinstance(wrapper, AsyncEnumerateKeysProtocol)` is true only when keys can really be listed.
"""

from __future__ import annotations

from abc import ABCMeta
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, SupportsFloat, TypeVar, cast

from typing_extensions import Self

from key_value.aio.protocols.capabilities import capabilities_of
from key_value.aio.protocols.key_value import (
    AsyncCullProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValue,
)
from key_value.shared.capabilities import Capability

ALL_SEGMENTS = (
    Capability.KEYS | Capability.COLLECTIONS | Capability.DESTROY | Capability.DESTROY_COLLECTION | Capability.CULL
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
    #: The optional segments this wrapper can offer when the wrapped store has them.
    supported_segments: ClassVar[Capability] = ALL_SEGMENTS

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


class _KeysSegment(BaseWrapper):
    async def keys(self, collection: str | None = None, *, limit: int | None = None) -> list[str]:
        """Return the keys of `collection`, as the caller names them."""
        return await self._keys(collection, limit=limit)


class _CollectionsSegment(BaseWrapper):
    async def collections(self, *, limit: int | None = None) -> list[str]:
        """Return the collections, as the caller names them."""
        return await self._collections(limit=limit)


class _DestroySegment(BaseWrapper):
    async def destroy(self) -> bool:
        """Delete everything the wrapped store holds for this wrapper."""
        return await self._destroy()


class _DestroyCollectionSegment(BaseWrapper):
    async def destroy_collection(self, collection: str) -> bool:
        """Delete one collection."""
        return await self._destroy_collection(collection)


class _CullSegment(BaseWrapper):
    async def cull(self) -> None:
        """Reclaim expired entries in the wrapped store."""
        await self._cull()


_SEGMENT_MIXINS: tuple[tuple[Capability, type[BaseWrapper]], ...] = (
    (Capability.KEYS, _KeysSegment),
    (Capability.COLLECTIONS, _CollectionsSegment),
    (Capability.DESTROY, _DestroySegment),
    (Capability.DESTROY_COLLECTION, _DestroyCollectionSegment),
    (Capability.CULL, _CullSegment),
)
_SEGMENT_METHODS: dict[type[BaseWrapper], str] = {
    mixin: next(name for name in vars(mixin) if not name.startswith("_")) for _, mixin in _SEGMENT_MIXINS
}
_CLASSES: dict[tuple[type[BaseWrapper], Capability], type[BaseWrapper]] = {}


def _with_segments(cls: type[BaseWrapper], capabilities: Capability) -> type[BaseWrapper]:
    """`cls` extended with the segment methods in `capabilities` (cached; `cls` itself when none)."""
    base = getattr(cls, "_unsegmented", cls)
    # A subclass that defines a segment method itself (as code written for py-key-value-aio does)
    # keeps it: only the methods it leaves out are added.
    mixins = tuple(
        mixin
        for capability, mixin in _SEGMENT_MIXINS
        if capability in capabilities and not hasattr(base, _SEGMENT_METHODS[mixin])
    )
    if not mixins:
        return base
    found = _CLASSES.get((base, capabilities))
    if found is None:
        namespace = {"_unsegmented": base, "__module__": base.__module__, "__qualname__": base.__qualname__}
        # Segment mixins go first: they only add public segment methods that `base` does not define.
        found = cast("type[BaseWrapper]", _WrapperMeta(base.__name__, (*mixins, base), namespace))
        _CLASSES[base, capabilities] = found
    return found

"""`PerCallWrapper`: a wrapper that runs every call of the wrapped store through one `_call` policy.

RetryWrapper and TimeoutWrapper differ only in `_call` (retry with backoff, or a time limit); every
core method and segment hook reaches the inner store through it.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, SupportsFloat, TypeVar

from key_value.aio.protocols.segments import ALL_SEGMENTS, SEGMENTS
from key_value.aio.wrappers.base import BaseWrapper

T = TypeVar("T")

if True:  # ASYNC
    Operation = Callable[[], Awaitable[T]]
    """One call to the wrapped store, ready to run."""
else:
    Operation = Callable[[], T]


class PerCallWrapper(BaseWrapper):
    """Routes the protocol and the segment hooks through `_call`."""

    supported_segments = ALL_SEGMENTS  # conditional calls too: each one runs under the policy

    @abstractmethod
    async def _call(self, operation: Operation[T]) -> T:
        """Run one call to the wrapped store under this wrapper's policy."""

    # -- the protocol ---------------------------------------------------------------------------

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        return await self._call(partial(self.key_value.get, key, collection=collection))

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        return await self._call(partial(self.key_value.get_many, keys, collection=collection))

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        return await self._call(partial(self.key_value.ttl, key, collection=collection))

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        return await self._call(partial(self.key_value.ttl_many, keys, collection=collection))

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        await self._call(partial(self.key_value.put, key, value, collection=collection, ttl=ttl))

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        await self._call(partial(self.key_value.put_many, keys, values, collection=collection, ttl=ttl))

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        return await self._call(partial(self.key_value.delete, key, collection=collection))

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        return await self._call(partial(self.key_value.delete_many, keys, collection=collection))

    # -- segments: every hook of the table, through `_call` --------------------------------------

    @staticmethod
    def _through_call(hook: str) -> Callable[..., Any]:
        """The segment hook `hook`: BaseWrapper's forwarding, run under `_call`."""

        async def forward(self: PerCallWrapper, *args: Any, **kwargs: Any) -> Any:
            return await self._call(partial(getattr(super(), hook), *args, **kwargs))

        forward.__name__ = forward.__qualname__ = hook
        return forward


for _segment in SEGMENTS:
    for _hook in _segment.hooks:
        setattr(PerCallWrapper, _hook, PerCallWrapper._through_call(_hook))  # pyright: ignore[reportPrivateUsage]

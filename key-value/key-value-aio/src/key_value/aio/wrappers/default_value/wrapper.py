"""`DefaultValueWrapper`: `dict.get(key, default)` for a store; missing keys read as a fresh copy of the default.

The default is never written to the wrapped store. `ttl()` reports `default_ttl` for it, so pick one
with care when wrappers above rely on TTLs (a cache would keep the default that long).

Conditional calls see what is stored: `get_entry` of a missing key is None (the default has no ETag,
since it is not an entry), and `put_if` compares against the stored entry. `transform` hands its
function a copy of the default where the key is missing, as `get` would read it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat

from key_value.aio.conditional import TransformFunction
from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.shared.codec import decode_value, encode_value
from key_value.shared.conditional import ConditionalResult
from key_value.shared.errors import InvalidArgumentError, SerializationError
from key_value.shared.validation import check_ttl


class DefaultValueWrapper(BaseWrapper):
    """Returns a new copy of `default_value` (with `default_ttl`) wherever the wrapped store has nothing."""

    supported_segments = ALL_SEGMENTS

    def __init__(
        self, key_value: AsyncKeyValue, default_value: Mapping[str, Any], default_ttl: SupportsFloat | None = None
    ) -> None:
        try:
            self._default_json = encode_value(default_value)  # kept encoded: every miss decodes a new copy
        except SerializationError as exc:
            raise InvalidArgumentError(f"default_value is not a JSON-compatible mapping: {exc}") from exc
        self._default_ttl = check_ttl(default_ttl)
        super().__init__(key_value)

    def _or_default(self, value: dict[str, Any] | None) -> dict[str, Any]:
        return decode_value(self._default_json) if value is None else value

    def _with_default(self, entry: tuple[dict[str, Any] | None, float | None]) -> tuple[dict[str, Any], float | None]:
        value, remaining = entry
        return (decode_value(self._default_json), self._default_ttl) if value is None else (value, remaining)

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any]:
        return self._or_default(await self.key_value.get(key, collection=collection))

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        return [self._or_default(value) for value in await self.key_value.get_many(keys, collection=collection)]

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any], float | None]:
        return self._with_default(await self.key_value.ttl(key, collection=collection))

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        return [self._with_default(entry) for entry in await self.key_value.ttl_many(keys, collection=collection)]

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
        def with_default(current: dict[str, Any] | None) -> Any:
            return fn(self._or_default(current))

        return await super()._transform(
            key, with_default, collection=collection, ttl=ttl, retries=retries, backoff=backoff
        )

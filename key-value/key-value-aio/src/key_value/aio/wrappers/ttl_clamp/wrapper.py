"""`TTLClampWrapper`: writes get a TTL between `min_ttl` and `max_ttl`; writes without one get `missing_ttl`.

Only valid TTLs are clamped: a bad TTL (zero, negative, NaN, a bool, text) still raises
`InvalidTTLError` rather than being turned into something valid. Reads pass through unchanged.
Conditional writes are clamped alike, but for `KEEP_CURRENT` without a TTL, which writes nothing (it
stays a no-op rather than becoming a refresh to `missing_ttl`), and `DELETE_CURRENT`, which has no TTL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.shared.conditional import Absent, Condition, ConditionalResult, Joker
from key_value.shared.errors import InvalidArgumentError, InvalidTTLError
from key_value.shared.validation import check_ttl


def _check_option(name: str, seconds: object) -> float:
    try:
        checked = check_ttl(seconds)
    except InvalidTTLError as exc:
        raise InvalidArgumentError(
            f"{name} must be a finite number of seconds > 0", extra_info={name: repr(seconds)}
        ) from exc
    if checked is None:
        raise InvalidArgumentError(f"{name} must be a finite number of seconds > 0, not None")
    return checked


def _is_zero(seconds: object) -> bool:
    return not isinstance(seconds, bool) and isinstance(seconds, (int, float)) and seconds == 0


class TTLClampWrapper(BaseWrapper):
    """Keeps the TTL of every write within [`min_ttl`, `max_ttl`]."""

    supported_segments = ALL_SEGMENTS

    def __init__(
        self,
        key_value: AsyncKeyValue,
        min_ttl: SupportsFloat,
        max_ttl: SupportsFloat,
        missing_ttl: SupportsFloat | None = None,
    ) -> None:
        super().__init__(key_value)
        # 0 means no lower bound (py-key-value code passes min_ttl=0): every valid TTL is already > 0.
        self.min_ttl: float = 0.0 if _is_zero(min_ttl) else _check_option("min_ttl", min_ttl)
        self.max_ttl: float = _check_option("max_ttl", max_ttl)
        if self.min_ttl > self.max_ttl:
            raise InvalidArgumentError(
                "min_ttl must not be greater than max_ttl",
                extra_info={"min_ttl": self.min_ttl, "max_ttl": self.max_ttl},
            )
        self.missing_ttl: float | None = None if missing_ttl is None else _check_option("missing_ttl", missing_ttl)

    def _clamp(self, ttl: SupportsFloat | None) -> float | None:
        seconds = check_ttl(ttl)
        if seconds is None:
            return self.missing_ttl
        return min(max(seconds, self.min_ttl), self.max_ttl)

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        await self.key_value.put(key, value, collection=collection, ttl=self._clamp(ttl))

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        await self.key_value.put_many(keys, values, collection=collection, ttl=self._clamp(ttl))

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
        untouched = value is Joker.DELETE_CURRENT or (value is Joker.KEEP_CURRENT and check_ttl(ttl) is None)
        clamped = check_ttl(ttl) if untouched else self._clamp(ttl)
        return await super()._put_if(
            key, value, etag=etag, condition=condition, collection=collection, ttl=clamped, retrieve=retrieve
        )

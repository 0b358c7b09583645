"""`LimitSizeWrapper`: writes only values whose encoded JSON is within `min_size`..`max_size` bytes.

Size is the length in bytes of the value's compact ASCII JSON, as `key_value.shared.codec` encodes it
(non-ASCII characters count as their `\\uXXXX` escapes). An entry outside the range raises
`EntryTooSmallError`/`EntryTooLargeError`, or, when raising is switched off for that side, is refused
without an error, as in py-key-value-aio. Unlike there, a refused put also deletes the key's earlier
value: a put replaces, and a read after it must not return data the caller has since overwritten.
`put_many` checks every entry first: if one must raise, nothing is written; otherwise the accepted
entries are written and the refused keys deleted. Values are never truncated. Reads are not limited.
A conditional write (`put_if`, `put_if_absent`, a `transform`'s result) is checked alike: it raises, or a
refused value makes it a conditional delete, as a refused put is a delete.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.shared.codec import encode_value
from key_value.shared.conditional import DELETE_CURRENT, Absent, Condition, ConditionalResult, Joker
from key_value.shared.errors import EntryTooLargeError, EntryTooSmallError, InvalidArgumentError
from key_value.shared.validation import check_collection, check_key, check_keys, check_same_length, check_ttl


class LimitSizeWrapper(BaseWrapper):
    """Refuses (raising or not, per side) values smaller than `min_size` or larger than `max_size` bytes."""

    supported_segments = ALL_SEGMENTS

    def __init__(
        self,
        key_value: AsyncKeyValue,
        *,
        min_size: int | None = None,
        max_size: int | None = None,
        raise_on_too_small: bool = False,
        raise_on_too_large: bool = True,
    ) -> None:
        for name, bound in (("min_size", min_size), ("max_size", max_size)):
            if bound is not None and (type(bound) is not int or bound < 0):
                raise InvalidArgumentError(f"{name} must be None or an int >= 0", extra_info={name: repr(bound)})
        if min_size is not None and max_size is not None and min_size > max_size:
            raise InvalidArgumentError(
                "min_size must not exceed max_size", extra_info={"min_size": min_size, "max_size": max_size}
            )
        super().__init__(key_value)
        self.min_size = min_size
        self.max_size = max_size
        self.raise_on_too_small = raise_on_too_small
        self.raise_on_too_large = raise_on_too_large

    def _accepts(self, key: str, value: Mapping[str, Any], collection: str | None) -> bool:
        """True if the value's size is in range; raise if it is not and raising is on for that side."""
        size = len(encode_value(value))  # also refuses values that are not JSON
        if self.min_size is not None and size < self.min_size:
            if self.raise_on_too_small:
                raise EntryTooSmallError(size, self.min_size, collection, key, message="entry is smaller than min_size")
            return False
        if self.max_size is not None and size > self.max_size:
            if self.raise_on_too_large:
                raise EntryTooLargeError(size, self.max_size, collection, key, message="entry is larger than max_size")
            return False
        return True

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        check_key(key)
        if collection is not None:
            check_collection(collection)
        check_ttl(ttl)
        if self._accepts(key, value, collection):
            await self.key_value.put(key, value, collection=collection, ttl=ttl)
        else:
            await self.key_value.delete(key, collection=collection)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        checked = check_keys(keys)
        check_same_length(checked, values)
        if collection is not None:
            check_collection(collection)
        check_ttl(ttl)
        latest: dict[str, tuple[Mapping[str, Any], bool]] = {}  # every entry is checked; the last of a key wins
        for key, value in zip(checked, values, strict=True):
            latest[key] = (value, self._accepts(key, value, collection))
        accepted = [key for key, (_, ok) in latest.items() if ok]
        refused = [key for key, (_, ok) in latest.items() if not ok]
        if accepted:
            await self.key_value.put_many(
                accepted, [latest[key][0] for key in accepted], collection=collection, ttl=ttl
            )
        if refused:
            await self.key_value.delete_many(refused, collection=collection)

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
        check_key(key)
        if collection is not None:
            check_collection(collection)
        check_ttl(ttl)
        if not isinstance(value, Joker) and not self._accepts(key, value, collection):
            value, ttl = DELETE_CURRENT, None
        return await super()._put_if(
            key, value, etag=etag, condition=condition, collection=collection, ttl=ttl, retrieve=retrieve
        )

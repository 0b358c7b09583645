"""`RaiseOnMissingAdapter`: store reads where `raise_on_missing=True` turns a missing key into `MissingKeyError`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, SupportsFloat, overload

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.shared.errors import MissingKeyError


def _missing(operation: str, key: str, collection: str | None) -> MissingKeyError:
    return MissingKeyError(operation, collection, key, message=f"key {key!r} is missing")


class RaiseOnMissingAdapter:
    """Forwards to `key_value`; the reads take `raise_on_missing` so callers need not check for None."""

    def __init__(self, key_value: AsyncKeyValue) -> None:
        self.key_value: AsyncKeyValue = key_value

    @overload
    async def get(
        self, key: str, *, collection: str | None = None, raise_on_missing: Literal[False] = False
    ) -> dict[str, Any] | None: ...

    @overload
    async def get(
        self, key: str, *, collection: str | None = None, raise_on_missing: Literal[True]
    ) -> dict[str, Any]: ...

    async def get(
        self, key: str, *, collection: str | None = None, raise_on_missing: bool = False
    ) -> dict[str, Any] | None:
        """The value under `key`; None when missing, or `MissingKeyError` with `raise_on_missing=True`."""
        value = await self.key_value.get(key, collection=collection)
        if value is None and raise_on_missing:
            raise _missing("get", key, collection)
        return value

    @overload
    async def get_many(
        self, keys: Sequence[str], *, collection: str | None = None, raise_on_missing: Literal[False] = False
    ) -> list[dict[str, Any] | None]: ...

    @overload
    async def get_many(
        self, keys: Sequence[str], *, collection: str | None = None, raise_on_missing: Literal[True]
    ) -> list[dict[str, Any]]: ...

    async def get_many(
        self, keys: Sequence[str], *, collection: str | None = None, raise_on_missing: bool = False
    ) -> list[dict[str, Any]] | list[dict[str, Any] | None]:
        """One value per key, in order; with `raise_on_missing=True` the first missing key raises."""
        values = await self.key_value.get_many(keys, collection=collection)
        if raise_on_missing:
            for key, value in zip(keys, values, strict=True):
                if value is None:
                    raise _missing("get_many", key, collection)
        return values

    @overload
    async def ttl(
        self, key: str, *, collection: str | None = None, raise_on_missing: Literal[False] = False
    ) -> tuple[dict[str, Any] | None, float | None]: ...

    @overload
    async def ttl(
        self, key: str, *, collection: str | None = None, raise_on_missing: Literal[True]
    ) -> tuple[dict[str, Any], float | None]: ...

    async def ttl(
        self, key: str, *, collection: str | None = None, raise_on_missing: bool = False
    ) -> tuple[dict[str, Any] | None, float | None]:
        """The value and its remaining seconds; (None, None) when missing, or `MissingKeyError` if asked."""
        entry = await self.key_value.ttl(key, collection=collection)
        if entry[0] is None and raise_on_missing:
            raise _missing("ttl", key, collection)
        return entry

    @overload
    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None, raise_on_missing: Literal[False] = False
    ) -> list[tuple[dict[str, Any] | None, float | None]]: ...

    @overload
    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None, raise_on_missing: Literal[True]
    ) -> list[tuple[dict[str, Any], float | None]]: ...

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None, raise_on_missing: bool = False
    ) -> list[tuple[dict[str, Any], float | None]] | list[tuple[dict[str, Any] | None, float | None]]:
        """One (value, ttl) pair per key, in order; with `raise_on_missing=True` the first missing key raises."""
        entries = await self.key_value.ttl_many(keys, collection=collection)
        if raise_on_missing:
            for key, (value, _) in zip(keys, entries, strict=True):
                if value is None:
                    raise _missing("ttl_many", key, collection)
        return entries

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        """Store `value` under `key`."""
        await self.key_value.put(key, value, collection=collection, ttl=ttl)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        """Store each value under the key at its position."""
        await self.key_value.put_many(keys, values, collection=collection, ttl=ttl)

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        """Delete `key`; True if it existed."""
        return await self.key_value.delete(key, collection=collection)

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        """Delete the keys; return how many existed."""
        return await self.key_value.delete_many(keys, collection=collection)


__all__ = ["RaiseOnMissingAdapter"]

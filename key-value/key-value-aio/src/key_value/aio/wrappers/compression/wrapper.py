"""`CompressionWrapper`: values whose JSON reaches a size threshold are stored gzip-compressed in an envelope.

The envelope has the same three fields as py-key-value-aio's, so either library reads the other's data:
`{"__compressed_data__": <base64 gzip of the value's JSON>, "__compression_algorithm__": "gzip",
"__compression_version__": 1}`. A value of the caller's that holds the `__compressed_data__` field is
always stored in an envelope, whatever its size, so it reads back as written instead of being taken for
one. Values stored before the wrapper (without that field) read back unchanged.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat, cast

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.shared.codec import decode_value, encode_value
from key_value.shared.errors import DeserializationError, InvalidArgumentError
from key_value.shared.validation import check_keys, check_same_length

_DATA = "__compressed_data__"
_ALGORITHM = "__compression_algorithm__"
_VERSION = "__compression_version__"
_ENVELOPE_FIELDS = frozenset((_DATA, _ALGORITHM, _VERSION))


class CompressionWrapper(BaseWrapper):
    """Stores values of at least `min_size_to_compress` bytes of JSON gzip-compressed; reads either form.

    Conditional calls store and read values the same way; an ETag is the stored (compressed) entry's.
    """

    supported_segments = ALL_SEGMENTS
    _changes_values = True

    def __init__(self, key_value: AsyncKeyValue, min_size_to_compress: int = 1024) -> None:
        if type(min_size_to_compress) is not int or min_size_to_compress < 0:
            raise InvalidArgumentError(
                "min_size_to_compress must be an int >= 0",
                extra_info={"min_size_to_compress": repr(min_size_to_compress)},
            )
        super().__init__(key_value)
        self.min_size_to_compress = min_size_to_compress

    def _compress(self, value: Mapping[str, Any]) -> Mapping[str, Any]:
        text = encode_value(value)  # refuses values that are not JSON before anything is written
        if len(text) < self.min_size_to_compress and _DATA not in value:
            return value
        data = gzip.compress(text.encode("ascii"), compresslevel=6)
        return {_DATA: base64.b64encode(data).decode("ascii"), _ALGORITHM: "gzip", _VERSION: 1}

    @staticmethod
    def _decompress(value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None or value.keys() != _ENVELOPE_FIELDS:
            return value  # not an envelope: a value stored as it is (by us, or before the wrapper)
        if value[_ALGORITHM] != "gzip" or value[_VERSION] != 1 or not isinstance(value[_DATA], str):
            raise DeserializationError(
                "unknown compression format",
                extra_info={"algorithm": repr(value[_ALGORITHM]), "version": repr(value[_VERSION])},
            )
        try:
            text = gzip.decompress(base64.b64decode(value[_DATA], validate=True))
        except (binascii.Error, OSError, EOFError, zlib.error) as exc:
            raise DeserializationError("compressed value is corrupted") from exc
        return decode_value(text)

    def _stored_value(self, value: Mapping[str, Any], key: str, collection: str | None) -> Mapping[str, Any]:
        return self._compress(value)

    def _read_value(self, stored: dict[str, Any], key: str, collection: str | None) -> dict[str, Any]:
        return cast("dict[str, Any]", self._decompress(stored))

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        return self._decompress(await self.key_value.get(key, collection=collection))

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        return [self._decompress(value) for value in await self.key_value.get_many(keys, collection=collection)]

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        value, remaining = await self.key_value.ttl(key, collection=collection)
        return self._decompress(value), remaining

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        results = await self.key_value.ttl_many(keys, collection=collection)
        return [(self._decompress(value), remaining) for value, remaining in results]

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        await self.key_value.put(key, self._compress(value), collection=collection, ttl=ttl)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        check_same_length(check_keys(keys), values)  # before compressing, so bad input fails as the store would
        compressed = [self._compress(value) for value in values]
        await self.key_value.put_many(keys, compressed, collection=collection, ttl=ttl)

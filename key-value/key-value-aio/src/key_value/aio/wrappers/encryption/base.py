"""`BaseEncryptionWrapper`: stores each value encrypted, bound to the collection and key it was written under.

What is encrypted is `{"c": collection, "k": key, "v": value}`, so the authenticated ciphertext carries
its own location: a stored value copied to another key or collection fails to decrypt there. The
collection is the one the wrapped store really uses, `collection=None` resolved to its default name,
so naming the default explicitly reads the same entries. The stored form is
`{"__encrypted_data__": <base64 ciphertext>, "__encryption_version__": <int>}`; anything else in the
store is refused (a plaintext value there was not written by this wrapper and is not trusted).
"""

# ruff: noqa: FBT001, FBT002 - `raise_on_decryption_error` stays positional, as in py-key-value-aio

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, SupportsFloat, cast

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.shared.capabilities import DEFAULT_COLLECTION_NAME
from key_value.shared.codec import decode_value, encode_value
from key_value.shared.errors import (
    CorruptedDataError,
    DecryptionError,
    DeserializationError,
    EncryptionError,
    InvalidArgumentError,
)
from key_value.shared.validation import check_collection, check_key, check_keys, check_same_length

#: Encrypts bytes with an authenticated cipher.
EncryptionFn = Callable[[bytes], bytes]
#: Decrypts bytes written at the given format version; raises on a wrong key, tampering or unknown version.
DecryptionFn = Callable[[bytes, int], bytes]

_DATA = "__encrypted_data__"
_VERSION = "__encryption_version__"
_ENVELOPE_FIELDS = frozenset((_DATA, _VERSION))


class BaseEncryptionWrapper(BaseWrapper):
    """Encrypts values with `encryption_fn` (which must be authenticated) and decrypts them on every read.

    With `raise_on_decryption_error=False`, a value that cannot be decrypted reads as missing instead of
    raising `DecryptionError`, `CorruptedDataError` or `EncryptionVersionError`. Conditional calls
    (`get_entry`, `put_if`, `transform`, ...) encrypt and decrypt the same way, but always raise on a value
    they cannot decrypt: reading it as missing would have them compare against an entry that is there.
    An ETag is the stored (encrypted) entry's.
    """

    supported_segments = ALL_SEGMENTS
    _changes_values = True

    def __init__(
        self,
        key_value: AsyncKeyValue,
        encryption_fn: EncryptionFn,
        decryption_fn: DecryptionFn,
        encryption_version: int,
        raise_on_decryption_error: bool = True,
    ) -> None:
        if type(encryption_version) is not int or encryption_version < 1:
            raise InvalidArgumentError("encryption_version must be an int >= 1")
        super().__init__(key_value)
        self.encryption_version = encryption_version
        self.raise_on_decryption_error = raise_on_decryption_error
        self._encryption_fn = encryption_fn
        self._decryption_fn = decryption_fn

    def _location(self, key: str, collection: str | None) -> tuple[str, str]:
        """The (collection, key) the wrapped store really uses, checked, for binding ciphertexts to it."""
        if collection is None:
            resolved = self.default_collection
            return (DEFAULT_COLLECTION_NAME if resolved is None else resolved), check_key(key)
        return check_collection(collection), check_key(key)

    # -- encoding -------------------------------------------------------------------------------

    def _encrypt(self, value: Mapping[str, Any], location: tuple[str, str]) -> dict[str, Any]:
        value_json = encode_value(value)  # a value that is not JSON is refused before anything is written
        collection, key = location
        plaintext = f'{{"c":{json.dumps(collection)},"k":{json.dumps(key)},"v":{value_json}}}'
        try:
            ciphertext = self._encryption_fn(plaintext.encode("ascii"))
        except Exception as exc:
            raise EncryptionError("value could not be encrypted") from exc
        return {_DATA: base64.b64encode(ciphertext).decode("ascii"), _VERSION: self.encryption_version}

    def _decrypt(self, stored: dict[str, Any] | None, location: tuple[str, str]) -> dict[str, Any] | None:
        if stored is None:
            return None
        try:
            return self._open(stored, location)
        except EncryptionError:
            if self.raise_on_decryption_error:
                raise
            return None

    def _open(self, stored: dict[str, Any], location: tuple[str, str]) -> dict[str, Any]:
        if stored.keys() != _ENVELOPE_FIELDS:
            raise CorruptedDataError("stored value is not an encrypted envelope", extra_info=_describe(location))
        version, data = stored[_VERSION], stored[_DATA]
        if type(version) is not int or not isinstance(data, str):
            raise CorruptedDataError("encrypted envelope is malformed", extra_info=_describe(location))
        try:
            ciphertext = base64.b64decode(data, validate=True)
        except binascii.Error as exc:
            raise CorruptedDataError("encrypted data is not base64", extra_info=_describe(location)) from exc
        try:
            plaintext = self._decryption_fn(ciphertext, version)
        except EncryptionError:  # the decryption function's own verdict (wrong key, unknown version) stands
            raise
        except Exception as exc:
            raise DecryptionError("value could not be decrypted", extra_info=_describe(location)) from exc
        try:
            bound = decode_value(plaintext)
        except DeserializationError as exc:
            raise CorruptedDataError("decrypted data is not a value", extra_info=_describe(location)) from exc
        value = bound.get("v")
        if bound.keys() != {"c", "k", "v"} or not isinstance(value, dict):
            raise CorruptedDataError("decrypted data is not a value", extra_info=_describe(location))
        if (bound["c"], bound["k"]) != location:
            raise DecryptionError("value was encrypted for another collection or key", extra_info=_describe(location))
        return cast("dict[str, Any]", value)

    def _stored_value(self, value: Mapping[str, Any], key: str, collection: str | None) -> Mapping[str, Any]:
        return self._encrypt(value, self._location(key, collection))

    def _read_value(self, stored: dict[str, Any], key: str, collection: str | None) -> dict[str, Any]:
        return self._open(stored, self._location(key, collection))

    # -- the protocol ---------------------------------------------------------------------------

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        location = self._location(key, collection)
        return self._decrypt(await self.key_value.get(key, collection=collection), location)

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        stored = await self.key_value.get_many(keys, collection=collection)
        return [self._decrypt(value, self._location(key, collection)) for key, value in zip(keys, stored, strict=True)]

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        location = self._location(key, collection)
        stored, remaining = await self.key_value.ttl(key, collection=collection)
        value = self._decrypt(stored, location)
        return (None, None) if value is None else (value, remaining)

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        results = await self.key_value.ttl_many(keys, collection=collection)
        out: list[tuple[dict[str, Any] | None, float | None]] = []
        for key, (stored, remaining) in zip(keys, results, strict=True):
            value = self._decrypt(stored, self._location(key, collection))
            out.append((None, None) if value is None else (value, remaining))
        return out

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        encrypted = self._encrypt(value, self._location(key, collection))
        await self.key_value.put(key, encrypted, collection=collection, ttl=ttl)

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
        encrypted = [
            self._encrypt(value, self._location(key, collection)) for key, value in zip(checked, values, strict=True)
        ]
        await self.key_value.put_many(checked, encrypted, collection=collection, ttl=ttl)


def _describe(location: tuple[str, str]) -> dict[str, str | int | float | bool | None]:
    return {"collection": location[0], "key": location[1]}

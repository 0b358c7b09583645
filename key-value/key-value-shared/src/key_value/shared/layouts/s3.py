"""The S3 family's layout: where `S3Store` keeps an entry and what the object holds; no I/O.

Object key: `<prefix><path_component(collection)>/<path_component(key)>`. The prefix is "" or ends
with "/". A component (see `key_value.shared.naming.path_component`) keeps lower-case letters, digits,
"-" and "_", writes every other byte as %XX, and turns a name whose encoding is too long into a
readable head, "~" and a SHA-256 digest. So a component never holds "/" and is never "." or "..",
no two names share one, and an object key fits S3's 1,024 bytes: prefix <= 256, collection <= 255,
"/", key <= 512. An object under the prefix is ours only if the rest of its key is exactly two
components; anything else there (deeper paths, other characters) is left alone.

Body: an `encode_record` JSON record, `{"collection": raw, "key": raw, "expires_at": epoch | null,
"value": ...}`, so hashed names can still be listed. An expiry is also kept in the object metadata
(`x-amz-meta-expires-at`, epoch seconds), so a HEAD request can check it without the body. The body
has an odd length exactly when the entry has an expiry (a trailing newline pads it): a listing, which
gives sizes but no metadata, then tells which objects can have expired, and enumeration checks only those.

The entry's ETag (conditional segment) is the object's S3 ETag (the body's MD5), or the one kept in the
metadata `etag` (`ETAG_METADATA`) by a conditional TTL refresh, which must rewrite the body but keep the ETag.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Protocol

from key_value.shared.errors import DeserializationError, InvalidArgumentError
from key_value.shared.naming import decode_path_component, is_hashed_component, path_component
from key_value.shared.records import decode_record, encode_record

MAX_PREFIX_BYTES = 256
MAX_COLLECTION_BYTES = 255
MAX_KEY_BYTES = 512
#: The metadata name of the expiry (sent as the header x-amz-meta-expires-at).
EXPIRY_METADATA = "expires-at"
#: The metadata name of a kept ETag (x-amz-meta-etag), in either layout: a conditional TTL refresh
#: rewrites the object (new S3 ETag) and records here the ETag the entry keeps; any other write drops it.
ETAG_METADATA = "etag"

_COMPONENT = re.compile(r"(?:[a-z0-9_-]|%[0-9A-F]{2})*(?:~[0-9a-f]{64})?")
_PADDING = b"\n"


class S3Layout(Protocol):
    """How (collection, key) names become object keys under the store's prefix, and entries become objects."""

    #: The delimiter that lists a collection's objects without deeper names: "/", or None where keys may hold "/".
    key_delimiter: str | None

    def collection_prefix(self, prefix: str, collection: str) -> str:
        """The key prefix shared by every object of `collection`, and by no other collection's."""
        ...

    def object_key(self, prefix: str, collection: str, key: str) -> str:
        """The object key of (collection, key)."""
        ...

    def split_object_key(self, prefix: str, name: str) -> tuple[str, str] | None:
        """The (collection, key) components of one of our object keys, or None if `name` is not ours."""
        ...

    def is_component(self, text: str) -> bool:
        """True if `text` can be a component of one of our object keys."""
        ...

    def decode_component(self, component: str) -> str | None:
        """The raw name of a component, or None when only the object body holds it."""
        ...

    def encode_body(self, value_json: str, expires_at: float | None, *, collection: str, key: str) -> bytes: ...

    def decode_body(self, body: bytes) -> dict[str, Any]:
        """The record: `value`, `expires_at` (epoch seconds or None), `collection` and `key`."""
        ...

    def may_expire(self, size: int) -> bool:
        """False only if an object of this size certainly has no expiry (listings give sizes, not metadata)."""
        ...

    def expiry_metadata(self, expires_at: float | None) -> dict[str, str]:
        """The object metadata that records `expires_at`."""
        ...

    def metadata_expiry(self, metadata: Mapping[str, str]) -> float | None:
        """The expiry recorded in object metadata, or None."""
        ...


class NativeS3Layout:
    """Our layout (see the module docstring): percent-encoded components, records padded to tell expiry by size."""

    key_delimiter: str | None = "/"

    def collection_prefix(self, prefix: str, collection: str) -> str:
        return f"{prefix}{path_component(collection, max_bytes=MAX_COLLECTION_BYTES)}/"

    def object_key(self, prefix: str, collection: str, key: str) -> str:
        return self.collection_prefix(prefix, collection) + path_component(key, max_bytes=MAX_KEY_BYTES)

    def split_object_key(self, prefix: str, name: str) -> tuple[str, str] | None:
        if not name.startswith(prefix):
            return None
        parts = name[len(prefix) :].split("/")
        if len(parts) != 2 or not all(self.is_component(part) for part in parts):
            return None
        return parts[0], parts[1]

    def is_component(self, text: str) -> bool:
        return bool(text) and _COMPONENT.fullmatch(text) is not None

    def decode_component(self, component: str) -> str | None:
        return None if is_hashed_component(component) else decode_path_component(component)

    def encode_body(self, value_json: str, expires_at: float | None, *, collection: str, key: str) -> bytes:
        """The record, padded so that its length is odd exactly when there is an expiry."""
        body = encode_record(value_json, expires_at, collection=collection, key=key).encode()
        return body + _PADDING if (len(body) % 2 == 1) != (expires_at is not None) else body

    def decode_body(self, body: bytes) -> dict[str, Any]:
        return decode_record(body.removesuffix(_PADDING))

    def may_expire(self, size: int) -> bool:
        return size % 2 == 1

    def expiry_metadata(self, expires_at: float | None) -> dict[str, str]:
        return {} if expires_at is None else {EXPIRY_METADATA: repr(float(expires_at))}

    def metadata_expiry(self, metadata: Mapping[str, str]) -> float | None:
        text = metadata.get(EXPIRY_METADATA)
        if text is None:
            return None
        try:
            expires_at = float(text)
        except ValueError as exc:
            raise DeserializationError(
                "object metadata holds a malformed expiry", extra_info={"expires-at": text}
            ) from exc
        if not math.isfinite(expires_at):
            raise DeserializationError("object metadata holds a malformed expiry", extra_info={"expires-at": text})
        return expires_at


def normalize_prefix(prefix: str) -> str:
    """The prefix as used in object keys: "" or ending with "/"; `InvalidArgumentError` if too long."""
    if not isinstance(prefix, str):  # pyright: ignore[reportUnnecessaryIsInstance] - checked for callers without types
        raise InvalidArgumentError(f"prefix must be a str, not {type(prefix).__name__}")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    try:
        size = len(prefix.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidArgumentError("prefix must be valid Unicode") from exc
    if size > MAX_PREFIX_BYTES:
        raise InvalidArgumentError(
            f"prefix must be at most {MAX_PREFIX_BYTES} bytes (with its trailing /)", extra_info={"prefix": prefix}
        )
    return prefix


__all__ = [
    "ETAG_METADATA",
    "MAX_COLLECTION_BYTES",
    "MAX_KEY_BYTES",
    "MAX_PREFIX_BYTES",
    "NativeS3Layout",
    "S3Layout",
    "normalize_prefix",
]

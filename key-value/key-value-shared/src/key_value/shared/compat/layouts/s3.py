"""py-key-value-aio 0.4.x's S3 layout (`S3Store(layout="py-key-value")`), for sharing its bucket; no I/O.

Object key: `<collection>/<key>`, the names as given, at the top of the bucket (py-key-value has no
prefix). Given py-key-value's S3 sanitization strategies (`S3CollectionSanitizationStrategy`,
`S3KeySanitizationStrategy`, 500 bytes each by default), a name longer than its limit in UTF-8 is cut
and ends in 8 hex digits of its SHA-256 (`hash_excess_length`).

Body: the `BasicSerializationAdapter` document, `{"created_at": iso, "expires_at": iso, "value": {...},
"version": 1}` as sorted JSON (no `expires_at` without TTL). Object metadata: `expires-at` and
`created-at`, the same ISO 8601 times. Expiry is decided by the reader's clock against `expires_at`.

What py-key-value's names cannot tell apart is refused (`InvalidKeyError`) before anything is written:
a collection containing "/" (`a/b` + `c` and `a` + `b/c` would be one object) and, without the
strategies, a pair whose object key exceeds S3's 1,024 bytes. Keys may contain "/". A shortened name
does not give the name back: when this layout shortens one, the document also holds the raw name
(`key` / `collection`, fields py-key-value's adapter writes for other stores and ignores when reading);
a name py-key-value shortened is listed in its shortened form (the name is lost; that form reads and
deletes the same object).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from key_value.shared.codec import decode_value
from key_value.shared.compat.managed_entry import dump_to_json, load_from_json
from key_value.shared.compat.sanitize import hash_excess_length
from key_value.shared.compat.serialization import BasicSerializationAdapter, parse_datetime_str
from key_value.shared.errors import DeserializationError, InvalidKeyError

#: S3's limit on an object key, in bytes of UTF-8.
MAX_OBJECT_KEY_BYTES = 1024
EXPIRY_METADATA = "expires-at"
CREATED_METADATA = "created-at"
#: hash_excess_length's fragment: 8 hex digits after a head of at most `max - 8` bytes.
_FRAGMENT = re.compile(r"[0-9a-f]{8}")
_FRAGMENT_SIZE = 8
_MAX_UTF8_CHARACTER = 4
_ADAPTER = BasicSerializationAdapter()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()


class PyKeyValueS3Layout:
    """py-key-value-aio 0.4.x's objects (see the module docstring).

    `collection_max_bytes` / `key_max_bytes` are its S3 strategies' limits (None without a strategy).
    """

    #: Keys may contain "/": one collection's objects are listed without a delimiter.
    key_delimiter: str | None = None

    def __init__(self, *, collection_max_bytes: int | None = None, key_max_bytes: int | None = None) -> None:
        self._collection_max = collection_max_bytes
        self._key_max = key_max_bytes

    # -- names ------------------------------------------------------------------------------------

    def _collection_component(self, collection: str) -> str:
        if "/" in collection:
            raise InvalidKeyError(
                "with layout='py-key-value', a collection cannot contain '/': py-key-value's object key "
                "'<collection>/<key>' would not tell it from a key containing '/'",
                extra_info={"collection": collection},
            )
        return (
            collection
            if self._collection_max is None
            else hash_excess_length(collection, self._collection_max, length_is_bytes=True)
        )

    def _key_component(self, key: str) -> str:
        return key if self._key_max is None else hash_excess_length(key, self._key_max, length_is_bytes=True)

    def collection_prefix(self, prefix: str, collection: str) -> str:
        return f"{prefix}{self._collection_component(collection)}/"

    def object_key(self, prefix: str, collection: str, key: str) -> str:
        name = self.collection_prefix(prefix, collection) + self._key_component(key)
        if len(name.encode("utf-8")) > MAX_OBJECT_KEY_BYTES:
            raise InvalidKeyError(
                f"with layout='py-key-value', '<collection>/<key>' must fit S3's {MAX_OBJECT_KEY_BYTES} bytes; "
                "pass py-key-value's S3CollectionSanitizationStrategy and S3KeySanitizationStrategy to shorten "
                "long names as it does",
                extra_info={"collection": collection[:100], "key": key[:100]},
            )
        return name

    def split_object_key(self, prefix: str, name: str) -> tuple[str, str] | None:
        if not name.startswith(prefix):
            return None
        collection, slash, key = name[len(prefix) :].partition("/")
        return (collection, key) if slash and collection and key else None

    def is_component(self, text: str) -> bool:
        return bool(text) and "/" not in text

    def _may_be_shortened(self, component: str, limit: int | None) -> bool:
        """Whether `component` can be a name that hash_excess_length shortened to `limit` bytes."""
        if limit is None or _FRAGMENT.fullmatch(component[-_FRAGMENT_SIZE:]) is None:
            return False
        size = len(component.encode("utf-8"))
        return limit - _MAX_UTF8_CHARACTER - _FRAGMENT_SIZE < size <= limit

    def decode_component(self, component: str) -> str | None:
        # Collections and keys have their own limits; a component is treated as shortened if it may be either.
        if self._may_be_shortened(component, self._key_max) or self._may_be_shortened(component, self._collection_max):
            return None
        return component

    # -- bodies and metadata -----------------------------------------------------------------------

    def encode_body(self, value_json: str, expires_at: float | None, *, collection: str, key: str) -> bytes:
        document: dict[str, Any] = {
            "created_at": datetime.now(tz=timezone.utc).isoformat(),
            "value": decode_value(value_json),
            "version": 1,
        }
        if expires_at is not None:
            document["expires_at"] = _iso(expires_at)
        if self.decode_component(self._key_component(key)) is None:
            document["key"] = key
        if self.decode_component(self._collection_component(collection)) is None:
            document["collection"] = collection
        return dump_to_json(document).encode("utf-8")

    def decode_body(self, body: bytes) -> dict[str, Any]:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DeserializationError("stored object is not UTF-8 JSON") from exc
        document = load_from_json(text)
        entry = _ADAPTER.load_dict(document)
        return {
            "value": dict(entry.value),
            "expires_at": None if entry.expires_at is None else entry.expires_at.timestamp(),
            "collection": _name_field(document, "collection"),
            "key": _name_field(document, "key"),
        }

    def may_expire(self, size: int) -> bool:
        return True  # the size says nothing: every listed object may carry an expiry

    def expiry_metadata(self, expires_at: float | None) -> dict[str, str]:
        metadata = {CREATED_METADATA: datetime.now(tz=timezone.utc).isoformat()}
        if expires_at is not None:
            metadata[EXPIRY_METADATA] = _iso(expires_at)
        return metadata

    def metadata_expiry(self, metadata: Mapping[str, str]) -> float | None:
        text = metadata.get(EXPIRY_METADATA)
        if text is None:
            return None
        moment = parse_datetime_str(text)
        if moment.tzinfo is None:
            raise DeserializationError(
                "object metadata holds an expiry without a time zone", extra_info={"expires-at": text}
            )
        return moment.timestamp()


def _name_field(document: dict[str, Any], field: str) -> str | None:
    name = document.get(field)
    return name if isinstance(name, str) else None


__all__ = ["CREATED_METADATA", "EXPIRY_METADATA", "MAX_OBJECT_KEY_BYTES", "PyKeyValueS3Layout"]

"""py-key-value-aio 0.4.x's layout on Redis and Valkey (`layout="py-key-value"`).

A server key is `<collection>::<key>` and holds py-key-value's JSON document
`{"collection", "created_at", "expires_at", "key", "value", "version": 1}` (ISO 8601 times, absent
when None); the server's own expiry is set as well. py-key-value sets it in whole seconds (at least
one); we set it to the millisecond, and the document's `expires_at` says the same instant, so both
libraries see an entry expire at once. py-key-value's joined names are ambiguous when a collection
holds `::` (`a` + `b::c` and `a::b` + `c` share a name), so this layout refuses such collections
with `InvalidArgumentError` instead of mixing entries up; keys may hold `::`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from key_value.shared.codec import decode_value
from key_value.shared.errors import DeserializationError, InvalidArgumentError

SEPARATOR = "::"
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def document(collection: str, key: str, value_json: str, expires_at: float | None, created_at: datetime) -> str:
    """py-key-value's document for an entry, as its `BasicSerializationAdapter.dump_json` writes it."""
    fields: dict[str, Any] = {
        "collection": collection,
        "created_at": created_at.isoformat(),
        "key": key,
        "value": json.loads(value_json),
        "version": 1,
    }
    if expires_at is not None:
        fields["expires_at"] = expiry_text(expires_at)
    return json.dumps(fields, sort_keys=True)


def expiry_text(expires_at: float) -> str:
    """A document's `expires_at` for the instant `expires_at` (epoch seconds): ISO 8601 in UTC."""
    return datetime.fromtimestamp(expires_at, tz=timezone.utc).isoformat()


def document_value(raw: bytes | str) -> dict[str, Any]:
    """The value in one of py-key-value's documents; `DeserializationError` for anything else."""
    found = decode_value(raw)
    value = found.get("value")
    if isinstance(value, str):  # the adapter's value_format="string"
        value = decode_value(value)
    if not isinstance(value, dict) or "version" not in found:
        raise DeserializationError("stored text is not a py-key-value document")
    return value  # pyright: ignore[reportUnknownVariableType] - a JSON object: dict[str, Any]


def is_document(raw: bytes | str | None) -> bool:
    """Whether `raw` is one of py-key-value's documents (to tell its keys from foreign ones)."""
    if raw is None:
        return False
    try:
        document_value(raw)
    except DeserializationError:
        return False
    return True


def _checked(collection: str) -> str:
    """`collection`, unless py-key-value's `collection::key` names cannot tell it apart from another."""
    if SEPARATOR in collection:
        raise InvalidArgumentError(
            f"py-key-value's layout cannot hold a collection name containing {SEPARATOR!r}",
            extra_info={"collection": collection},
        )
    return collection


class PyKeyValueRespLayout:
    """py-key-value's names (`collection::key`) and documents; see the module docstring."""

    all_pattern = "*" + SEPARATOR + "*"

    def server_key(self, collection: str, key: str) -> str:
        return f"{_checked(collection)}{SEPARATOR}{key}"

    def server_keys(self, collection: str, keys: list[str]) -> list[str]:
        prefix = _checked(collection) + SEPARATOR
        return [prefix + key for key in keys]

    def collection_pattern(self, collection: str) -> str:
        return _GLOB_SPECIAL.sub(r"\\\1", collection + SEPARATOR) + "*"

    def split(self, name: bytes | str) -> tuple[str, str] | None:
        if isinstance(name, bytes):
            try:
                name = name.decode("utf-8")
            except UnicodeDecodeError:
                return None
        collection, found, key = name.partition(SEPARATOR)
        return (collection, key) if found and collection and key else None

    def key_in(self, collection: str, name: bytes | str) -> str | None:
        """The key of `collection` that server key `name` holds, or None (exact, unlike `split`)."""
        if isinstance(name, bytes):
            try:
                name = name.decode("utf-8")
            except UnicodeDecodeError:
                return None
        prefix = collection + SEPARATOR
        return name[len(prefix) :] if name.startswith(prefix) and len(name) > len(prefix) else None

    def encode(self, collection: str, key: str, value_json: str, expires_at: float | None) -> str:
        return document(collection, key, value_json, expires_at, datetime.now(tz=timezone.utc))

    def encode_many(
        self, collection: str, keys: list[str], values_json: list[str], expires_at: float | None
    ) -> list[str]:
        now = datetime.now(tz=timezone.utc)
        return [document(collection, key, value, expires_at, now) for key, value in zip(keys, values_json, strict=True)]

    decode = staticmethod(document_value)


PY_KEY_VALUE_RESP_LAYOUT = PyKeyValueRespLayout()

__all__ = [
    "PY_KEY_VALUE_RESP_LAYOUT",
    "PyKeyValueRespLayout",
    "document",
    "document_value",
    "expiry_text",
    "is_document",
]

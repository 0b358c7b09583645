"""The file tree family's layout: how names become path components and entries become file contents.

`FileTreeStore` keeps `<root>/<collection_component(collection)>/<key_component(key)>.json`; the
native layout percent-encodes names (hashed when too long) and writes `encode_record` records, which
carry the raw names so that listings can name hashed entries.
"""

from __future__ import annotations

from typing import Any, Protocol

from key_value.shared.errors import DeserializationError
from key_value.shared.naming import path_component
from key_value.shared.records import decode_record, encode_record


class FileTreeLayout(Protocol):
    """How names become path components and entries become file contents."""

    def collection_component(self, collection: str) -> str: ...

    def key_component(self, key: str) -> str: ...

    def encode(self, value_json: str, expires_at: float | None, *, collection: str, key: str) -> bytes: ...

    def decode(self, data: bytes) -> dict[str, Any]:
        """The record: `value`, `expires_at` (epoch seconds or None) and, when stored, `key` and `collection`."""
        ...

    def raw_key(self, record: dict[str, Any], path: str) -> str:
        """The raw key of the entry in `path` (for listings)."""
        ...


class NativeFileTreeLayout:
    """Our layout: reversible percent-encoded names (hashed when too long), records with the raw names."""

    def collection_component(self, collection: str) -> str:
        return path_component(collection)

    def key_component(self, key: str) -> str:
        return path_component(key)

    def encode(self, value_json: str, expires_at: float | None, *, collection: str, key: str) -> bytes:
        return encode_record(value_json, expires_at, collection=collection, key=key).encode()

    def decode(self, data: bytes) -> dict[str, Any]:
        return decode_record(data)

    def raw_key(self, record: dict[str, Any], path: str) -> str:
        return raw_name(record, "key", path)


def raw_name(record: dict[str, Any], field: str, path: str) -> str:
    """The raw name kept in a record's `field`; `DeserializationError` naming `path` if there is none."""
    name = record.get(field)
    if not isinstance(name, str):
        raise DeserializationError(f"stored record has no {field} name", extra_info={"path": path})
    return name


__all__ = ["FileTreeLayout", "NativeFileTreeLayout", "raw_name"]

"""The file tree family's layout: how names become path components and entries become file contents.

`FileTreeStore` keeps `<root>/<collection_component(collection)>/<key_component(key)>.json`; the
native layout percent-encodes names (hashed when too long) and writes records that carry the raw
names (so that listings can name hashed entries), the write's ETag (a random token drawn by every
write, plain or conditional), the expiry and the value:

    {"collection":"c","key":"k","etag":"3f9c0a7e5b21d864","expires_at":null,"value":{...}}

The write time is the file's modification time (a TTL refresh keeps it), not a field: parsing a
float costs every plain read a third more than the record's other fields. Records written before
ETags existed lack `etag`; they still read, and their ETag is a hash of their bytes (`content_etag`),
so it changes whenever the file does.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, NamedTuple, Protocol

from key_value.shared.errors import DeserializationError
from key_value.shared.naming import path_component
from key_value.shared.records import decode_record


class Versioned(NamedTuple):
    """A decoded entry file with what the conditional segment needs: its ETag and write time."""

    record: dict[str, Any]
    """As `FileTreeLayout.decode` returns it."""
    etag: str
    written_at: float | None
    """The write time the file records (epoch seconds); None: the file's modification time is it."""


class FileTreeLayout(Protocol):
    """How names become path components and entries become file contents."""

    def collection_component(self, collection: str) -> str: ...

    def key_component(self, key: str) -> str: ...

    def encode(self, value_json: str, expires_at: float | None, *, collection: str, key: str) -> bytes:
        """The file of a new write: it must get an ETag no earlier write of the entry had."""
        ...

    def encode_versioned(
        self, value_json: str, expires_at: float | None, *, collection: str, key: str
    ) -> tuple[bytes, str]:
        """`encode`, and the ETag `decode_versioned` will read from the file."""
        ...

    def decode(self, data: bytes) -> dict[str, Any]:
        """The record: `value`, `expires_at` (epoch seconds or None) and, when stored, `key` and `collection`."""
        ...

    def decode_versioned(self, data: bytes) -> Versioned:
        """The record with the file's ETag and write time."""
        ...

    def with_expiry(self, data: bytes, expires_at: float | None, *, collection: str, key: str) -> bytes:
        """The file `data` with another expiry, keeping its value, ETag and recorded write time (a TTL refresh)."""
        ...

    def raw_key(self, record: dict[str, Any], path: str) -> str:
        """The raw key of the entry in `path` (for listings)."""
        ...


def new_etag() -> str:
    """A random ETag: 16 hex digits (64 bits), never derived from the value, so a re-created entry gets a new one."""
    return os.urandom(8).hex()


def content_etag(*parts: str | bytes) -> str:
    """An ETag derived from stored content: 24 hex digits, so it never equals a `new_etag` token."""
    digest = hashlib.blake2b(digest_size=12)
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part)
        digest.update(b"\x00")
    return digest.hexdigest()


def native_record(value_json: str, expires_at: float | None, *, collection: str, key: str, etag: str) -> bytes:
    """The bytes of a native record (see the module docstring)."""
    expiry = "null" if expires_at is None else repr(float(expires_at))
    return (
        f'{{"collection":{json.dumps(collection)},"key":{json.dumps(key)},"etag":"{etag}",'
        f'"expires_at":{expiry},"value":{value_json}}}'
    ).encode()


class NativeFileTreeLayout:
    """Our layout: reversible percent-encoded names (hashed when too long), records with the raw names."""

    def collection_component(self, collection: str) -> str:
        return path_component(collection)

    def key_component(self, key: str) -> str:
        return path_component(key)

    def encode(self, value_json: str, expires_at: float | None, *, collection: str, key: str) -> bytes:
        return native_record(value_json, expires_at, collection=collection, key=key, etag=new_etag())

    def encode_versioned(
        self, value_json: str, expires_at: float | None, *, collection: str, key: str
    ) -> tuple[bytes, str]:
        etag = new_etag()
        data = native_record(value_json, expires_at, collection=collection, key=key, etag=etag)
        return data, etag

    def decode(self, data: bytes) -> dict[str, Any]:
        return decode_record(data)

    def decode_versioned(self, data: bytes) -> Versioned:
        record = decode_record(data)
        etag = record.get("etag")
        if not isinstance(etag, str) or not etag:
            etag = content_etag(data)  # a record from before ETags
        return Versioned(record, etag, None)

    def with_expiry(self, data: bytes, expires_at: float | None, *, collection: str, key: str) -> bytes:
        versioned = self.decode_versioned(data)
        value_json = json.dumps(versioned.record["value"], ensure_ascii=True, separators=(",", ":"))
        return native_record(value_json, expires_at, collection=collection, key=key, etag=versioned.etag)

    def raw_key(self, record: dict[str, Any], path: str) -> str:
        return raw_name(record, "key", path)


def raw_name(record: dict[str, Any], field: str, path: str) -> str:
    """The raw name kept in a record's `field`; `DeserializationError` naming `path` if there is none."""
    name = record.get(field)
    if not isinstance(name, str):
        raise DeserializationError(f"stored record has no {field} name", extra_info={"path": path})
    return name


__all__ = [
    "FileTreeLayout",
    "NativeFileTreeLayout",
    "Versioned",
    "content_etag",
    "native_record",
    "new_etag",
    "raw_name",
]

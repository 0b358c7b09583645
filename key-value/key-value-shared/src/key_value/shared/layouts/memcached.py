"""The memcached family's layout: item names, and the record stored under each.

The native layout names an item `kv:<collection>:<key>`, each name percent-encoded where a memcached
key may not hold the byte (space, control characters, non-ASCII) and at `%` and `:`, so no two entries
share an item. A name longer than memcached's 250 bytes becomes `kv#<sha256 of the name above>`, and
its record then keeps the raw collection and key, which reads check. The item is a JSON record of the
value and its expiry (`key_value.shared.records.encode_record`).

An entry's version (the conditional segment's ETag) is the item's CAS unique, which memcached changes
on every write and never hands out twice; a record whose TTL a conditional call refreshed (a rewrite,
so a new CAS unique) keeps the version it had in an `etag` field, as the entry's version.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote

from key_value.shared.entry import Entry
from key_value.shared.errors import DeserializationError
from key_value.shared.records import decode_record, encode_record

#: Memcached's longest key, in bytes.
MAX_KEY_BYTES = 250
_PLAIN_NAME = re.compile(r"[!-$&-9;-~]*\Z")  # printable ASCII but `%` and `:`: kept as they are
_QUOTE_SAFE = "!\"#$&'()*+,/;<=>?@[\\]^`{|}"  # with letters, digits and `_.-~`: everything _PLAIN_NAME keeps


class MemcachedLayout(Protocol):
    """How (collection, key) names a memcached item, and what the item holds."""

    def item_key(self, collection: str, key: str) -> bytes:
        """The item's name: at most 250 bytes, no spaces or control characters (else `InvalidKeyError`)."""
        ...

    def encode(
        self,
        name: bytes,
        value_json: str,
        expires_at: float | None,
        *,
        collection: str,
        key: str,
        version: str | None = None,
    ) -> bytes:
        """The item's data for an entry stored under `name`; `version`, when given, is kept as the entry's."""
        ...

    def decode(self, data: bytes, *, collection: str, key: str) -> Entry | None:
        """The entry in `data` (with the version it keeps, if any), or None if the item belongs to another
        (collection, key) sharing its name."""
        ...


class NativeMemcachedLayout:
    """Our layout: reversible percent-encoded names (hashed when too long), records with raw names when hashed."""

    def item_key(self, collection: str, key: str) -> bytes:
        name = f"kv:{_encode(collection)}:{_encode(key)}"
        if len(name) > MAX_KEY_BYTES:  # ASCII, so characters are bytes
            return b"kv#" + hashlib.sha256(name.encode()).hexdigest().encode()
        return name.encode()

    def encode(
        self,
        name: bytes,
        value_json: str,
        expires_at: float | None,
        *,
        collection: str,
        key: str,
        version: str | None = None,
    ) -> bytes:
        kept = {} if version is None else {"etag": version}
        if name.startswith(b"kv#"):  # hashed: keep the raw names to check on reads
            return encode_record(value_json, expires_at, collection=collection, key=key, **kept).encode()
        return encode_record(value_json, expires_at, **kept).encode()

    def decode(self, data: bytes, *, collection: str, key: str) -> Entry | None:
        return entry_of_record(data, collection=collection, key=key)


def entry_of_record(data: bytes, *, collection: str, key: str) -> Entry | None:
    """The entry in a `records` record; None if the record names another (collection, key)."""
    record = decode_record(data)
    if "key" in record and (record["key"] != key or record.get("collection") != collection):
        return None  # another entry whose item name matches
    return Entry(record["value"], record["expires_at"], kept_version(record))


def kept_version(record: Mapping[str, Any]) -> str | None:
    """The version a record keeps (its `etag` field, written when a TTL refresh rewrote it), or None."""
    version = record.get("etag")
    if version is None or (isinstance(version, str) and version):
        return version
    raise DeserializationError("stored record has a malformed etag")


def _encode(name: str) -> str:
    return name if _PLAIN_NAME.match(name) else quote(name, safe=_QUOTE_SAFE)


NATIVE_MEMCACHED_LAYOUT = NativeMemcachedLayout()

__all__ = [
    "MAX_KEY_BYTES",
    "NATIVE_MEMCACHED_LAYOUT",
    "MemcachedLayout",
    "NativeMemcachedLayout",
    "entry_of_record",
    "kept_version",
]

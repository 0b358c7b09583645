"""py-key-value-aio 0.4.x's layout on memcached (`layout="py-key-value"`, or `key_sanitization_strategy=`).

An item is named `<collection>::<key>`, through py-key-value's key sanitization strategy when one is
given (`MemcachedV1KeySanitizationStrategy` hashes names over 240 characters), and holds its JSON
document `{"collection", "created_at", "expires_at", "key", "value", "version": 1}` (ISO 8601 times,
absent when None). Items carry client flags 0: aiomcache, which py-key-value reads with, refuses
others. py-key-value sets memcached's expiry to the whole seconds left, at least one; we send ours
rounded up plus one second, as the native layout does, and the document's `expires_at` decides what
either library reads. Joined names are ambiguous when a collection holds `::` (`a` + `b::c` and
`a::b` + `c` share an item): reads check the names each document keeps, and writes and deletes in
a collection holding `::` are refused (`InvalidArgumentError`) rather than clobber another entry.
Records this store wrote with a strategy before it wrote py-key-value's documents are still read.
A document whose TTL a conditional call refreshed also holds `etag` (the entry's version), a field
py-key-value's reader ignores.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from key_value.shared.codec import decode_value
from key_value.shared.compat.records import AdapterRecords
from key_value.shared.compat.sanitization import SanitizationStrategy
from key_value.shared.compat.serialization import BasicSerializationAdapter
from key_value.shared.compat.strategies import sanitized
from key_value.shared.entry import Entry
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError
from key_value.shared.layouts.memcached import MAX_KEY_BYTES, entry_of_record, kept_version

SEPARATOR = "::"
#: What aiomcache, py-key-value's client, refuses in a key (checked on the text): whitespace, C0 and C1 controls.
_REFUSED_BY_AIOMCACHE = re.compile("[\\s\x00-\x1f\x7f-\x9f]")
#: What memcached itself refuses in a key: spaces and control characters.
_NOT_IN_KEYS = re.compile(rb"[\x00-\x20\x7f]")


class PyKeyValueMemcachedLayout:
    """py-key-value's item names and documents; see the module docstring."""

    def __init__(self, strategy: SanitizationStrategy | None = None) -> None:
        self.strategy = strategy
        self.records = AdapterRecords(BasicSerializationAdapter())

    def item_key(self, collection: str, key: str) -> bytes:
        name = self.name(collection, key)
        if name is None:
            raise InvalidKeyError(
                "py-key-value's memcached names cannot hold this entry (over 250 bytes, spaces or controls)",
                extra_info={"collection": collection, "key": key},
            )
        return name

    def name(self, collection: str, key: str) -> bytes | None:
        """The item py-key-value keeps the entry in, or None where it could not have kept one."""
        joined = f"{collection}{SEPARATOR}{key}"
        if self.strategy is not None:
            joined = sanitized(self.strategy, joined)
        name = joined.encode()
        if len(name) > MAX_KEY_BYTES or _REFUSED_BY_AIOMCACHE.search(joined):
            return None
        return name

    @staticmethod
    def check_writable(collection: str) -> None:
        """`InvalidArgumentError` for a collection whose items may be another entry's (it holds `::`)."""
        if SEPARATOR in collection:
            raise InvalidArgumentError(
                f"py-key-value's layout cannot write or delete in a collection whose name holds {SEPARATOR!r}",
                extra_info={"collection": collection},
            )

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
        self.check_writable(collection)
        document = self.records.encode(value_json, expires_at, collection=collection, key=key)
        if version is not None:  # only after a TTL refresh: an object, so one more member before its end
            document = f'{document[:-1]},"etag":{json.dumps(version)}}}'
        return document.encode()

    def decode(self, data: bytes, *, collection: str, key: str) -> Entry | None:
        """The entry, or None if the document names another entry sharing the item."""
        document = decode_value(data)
        if "version" not in document:
            return entry_of_record(data, collection=collection, key=key)  # an earlier version of ours
        if document.get("key", key) != key or document.get("collection", collection) != collection:
            return None
        record: dict[str, Any] = self.records.decode(data)
        return Entry(record["value"], record["expires_at"], kept_version(document))


def legacy_names(collection: str, keys: list[str]) -> Sequence[bytes | None]:
    """The items py-key-value's default store (no strategy) kept the keys in; None where it kept none.

    Collections holding `::` get none: their names are ambiguous (see the module docstring). Names
    memcached refuses (spaces, controls, over 250 bytes) get none; names only aiomcache refuses are
    looked up all the same (they are simply missing), which keeps the usual batch to one scan.
    """
    if SEPARATOR in collection:
        return [None] * len(keys)
    prefix = (collection + SEPARATOR).encode()
    names = [prefix + key.encode() for key in keys]
    if not _NOT_IN_KEYS.search(b"".join(names)) and max(map(len, names), default=0) <= MAX_KEY_BYTES:
        return names  # the usual case: every name is usable
    return [name if len(name) <= MAX_KEY_BYTES and not _NOT_IN_KEYS.search(name) else None for name in names]


PY_KEY_VALUE_MEMCACHED_LAYOUT = PyKeyValueMemcachedLayout()

__all__ = ["PY_KEY_VALUE_MEMCACHED_LAYOUT", "SEPARATOR", "PyKeyValueMemcachedLayout", "legacy_names"]

"""The disk stores' layout: what DiskStore and MultiDiskStore write into diskcache, and under which names.

`DiskLayout` is the interface the stores call; `NativeDiskLayout` is this library's own format:
DiskStore names an entry `compound_key(collection, key)` in one cache, MultiDiskStore keeps the raw
key in a cache per collection under the directory `path_component(collection)`, and both store a
JSON record holding the value and its absolute expiry (`encode_record`).
"""

from __future__ import annotations

from typing import Protocol

from key_value.shared.entry import Entry
from key_value.shared.errors import DeserializationError
from key_value.shared.naming import compound_key, compound_prefix, path_component, split_compound_key
from key_value.shared.records import decode_record, encode_record


class DiskLayout(Protocol):
    """Names and records of the disk stores."""

    def entry_name(self, collection: str, key: str) -> str:
        """DiskStore: the cache key of (collection, key)."""
        ...

    def collection_range(self, collection: str) -> tuple[str, str]:
        """DiskStore: the [start, stop) range of cache keys holding exactly the entries of `collection`."""
        ...

    def every_collection_range(self) -> tuple[str, str]:
        """DiskStore: the range of cache keys holding every entry of every collection."""
        ...

    def split_name(self, name: str) -> tuple[str, str]:
        """DiskStore: (collection, key) of a cache key made by `entry_name`."""
        ...

    def collection_directory(self, collection: str) -> str:
        """MultiDiskStore: the name of the directory holding `collection`'s cache."""
        ...

    def encode(self, value_json: str, expires_at: float | None) -> str:
        """The record stored for a value (JSON text) with its absolute expiry (or None)."""
        ...

    def decode(self, stored: object) -> Entry:
        """(value, absolute expiry or None) of a stored record; `DeserializationError` when malformed."""
        ...


class NativeDiskLayout:
    """This library's disk layout (see the module docstring); stateless, so one instance serves every store."""

    def entry_name(self, collection: str, key: str) -> str:
        return compound_key(collection, key)

    def collection_range(self, collection: str) -> tuple[str, str]:
        start = compound_prefix(collection)
        return start, start[:-1] + chr(ord(start[-1]) + 1)

    def every_collection_range(self) -> tuple[str, str]:
        # Compound keys start with a digit, and ":" sorts right after "9": all of them lie in ["0", ":").
        return "0", ":"

    def split_name(self, name: str) -> tuple[str, str]:
        return split_compound_key(name)

    def collection_directory(self, collection: str) -> str:
        return path_component(collection)

    def encode(self, value_json: str, expires_at: float | None) -> str:
        return encode_record(value_json, expires_at)

    def decode(self, stored: object) -> Entry:
        if not isinstance(stored, str):
            raise DeserializationError(f"stored record is {type(stored).__name__}, not JSON text")
        record = decode_record(stored)  # checked: `expires_at`, if present, is None or a float
        return Entry(record["value"], record.get("expires_at"))


#: The layout the disk stores use unless given another.
NATIVE_DISK_LAYOUT = NativeDiskLayout()

__all__ = ["NATIVE_DISK_LAYOUT", "DiskLayout", "NativeDiskLayout"]

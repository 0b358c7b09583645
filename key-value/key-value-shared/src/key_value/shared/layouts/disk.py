"""The disk stores' layout: what DiskStore and MultiDiskStore write into diskcache, and under which names.

`DiskLayout` is the interface the stores call; `NativeDiskLayout` is this library's own format:
DiskStore names an entry `compound_key(collection, key)` in one cache, MultiDiskStore keeps the raw
key in a cache per collection under the directory `path_component(collection)`, and both store a
JSON record holding the write's version (a random token, the entry's ETag), when it was written,
the value's absolute expiry and the value:

    {"version":"3f9c0a7e5b21d864","written_at":1765091234.5,"expires_at":null,"value":{...}}

The head before the value has a fixed shape, so the conditional path reads version and expiry
(`stamp`) without decoding the value. Records written before versions existed lack the first two
fields; they still decode (the stores name them by a hash of their text).
"""

from __future__ import annotations

import re
from typing import NamedTuple, Protocol

from key_value.shared.entry import Entry
from key_value.shared.errors import DeserializationError
from key_value.shared.naming import compound_key, compound_prefix, path_component, split_compound_key
from key_value.shared.records import decode_record


class RecordStamp(NamedTuple):
    """What a versioned record says about its write, read without decoding its value."""

    version: str
    written_at: float
    expires_at: float | None


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

    def encode(self, value_json: str, expires_at: float | None, *, version: str, written_at: float) -> str:
        """The record stored for a value (JSON text) with its absolute expiry (or None), version and write time."""
        ...

    def decode(self, stored: object) -> Entry:
        """(value, absolute expiry or None) of a stored record; `DeserializationError` when malformed."""
        ...

    def stamp(self, stored: object) -> RecordStamp | None:
        """Version, write time and expiry of a versioned record, without decoding the value; None otherwise."""
        ...

    def with_expiry(self, stored: str, expires_at: float | None) -> str:
        """A versioned record (`stamp` is not None) with another expiry; version, write time and value kept."""
        ...


#: The head of a versioned record: version, write time, expiry (numbers as `repr(float)` writes them).
_STAMP = re.compile(
    r'\{"version":"([0-9a-f]+)","written_at":(-?[0-9][0-9.e+-]*),"expires_at":(null|-?[0-9][0-9.e+-]*),"value":'
)


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

    def encode(self, value_json: str, expires_at: float | None, *, version: str, written_at: float) -> str:
        expiry = "null" if expires_at is None else repr(float(expires_at))
        return f'{{"version":"{version}","written_at":{written_at!r},"expires_at":{expiry},"value":{value_json}}}'

    def decode(self, stored: object) -> Entry:
        if not isinstance(stored, str):
            raise DeserializationError(f"stored record is {type(stored).__name__}, not JSON text")
        record = decode_record(stored)  # checked: `expires_at`, if present, is None or a float
        return Entry(record["value"], record.get("expires_at"))  # the version is read by `stamp`, where needed

    def stamp(self, stored: object) -> RecordStamp | None:
        found = _STAMP.match(stored) if isinstance(stored, str) else None
        if found is None:
            return None
        version, written_at, expires_at = found.groups()
        try:
            return RecordStamp(version, float(written_at), None if expires_at == "null" else float(expires_at))
        except ValueError:
            return None

    def with_expiry(self, stored: str, expires_at: float | None) -> str:
        found = _STAMP.match(stored)
        if found is None:
            raise DeserializationError("stored record has no version")
        version, written_at, _ = found.groups()
        expiry = "null" if expires_at is None else repr(float(expires_at))
        return (
            f'{{"version":"{version}","written_at":{written_at},"expires_at":{expiry},"value":' + stored[found.end() :]
        )


#: The layout the disk stores use unless given another.
NATIVE_DISK_LAYOUT = NativeDiskLayout()

__all__ = ["NATIVE_DISK_LAYOUT", "DiskLayout", "NativeDiskLayout", "RecordStamp"]

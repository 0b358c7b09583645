"""File records written through a py-key-value `SerializationAdapter` instead of our native record format.

A store that keeps one JSON document per entry (FileTreeStore) takes `AdapterRecords(adapter)` when the
application passes `serialization_adapter=`: each document is what the adapter's `dump_json` makes of
the entry (with the raw key and collection, so that listings still name them), and it is read back
through `load_dict`. Records come back in the native shape: `value`, `expires_at` (epoch seconds or
None) and the raw names when the document holds them.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from key_value.shared.codec import decode_value
from key_value.shared.compat.managed_entry import ManagedEntry
from key_value.shared.compat.serialization import SerializationAdapter
from key_value.shared.errors import DeserializationError


class AdapterRecords:
    """Encodes and decodes entry records with a py-key-value serialization adapter."""

    def __init__(self, adapter: SerializationAdapter, *, raw_names: bool = True) -> None:
        """`raw_names=False` leaves the key and collection out, as py-key-value's FileTreeStore does."""
        self.adapter = adapter
        self.raw_names = raw_names

    def encode(self, value_json: str, expires_at: float | None, *, collection: str, key: str) -> str:
        expiry = None if expires_at is None else datetime.fromtimestamp(expires_at, tz=timezone.utc)
        entry = ManagedEntry(value=json.loads(value_json), created_at=datetime.now(tz=timezone.utc), expires_at=expiry)
        if not self.raw_names:
            return self.adapter.dump_json(entry)
        return self.adapter.dump_json(entry, key=key, collection=collection)

    def decode(self, data: str | bytes) -> dict[str, Any]:
        document = decode_value(data)
        entry = self.adapter.load_dict(dict(document))
        if entry.expires_at is not None and entry.expires_at.tzinfo is None:
            raise DeserializationError("stored expiry has no time zone")
        record: dict[str, Any] = {
            "value": dict(entry.value),
            "expires_at": None if entry.expires_at is None else entry.expires_at.timestamp(),
        }
        for name in ("key", "collection"):
            if isinstance(document.get(name), str):
                record[name] = document[name]
        return record


__all__ = ["AdapterRecords"]

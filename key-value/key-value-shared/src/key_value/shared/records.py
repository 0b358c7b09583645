"""The record format of file-like stores: one JSON object holding the value, its expiry and optional raw names."""

from __future__ import annotations

import json
from typing import Any

from key_value.shared.codec import decode_value
from key_value.shared.errors import DeserializationError


def encode_record(value_json: str, expires_at: float | None, **names: str) -> str:
    """Build the JSON record that file-like stores keep: the value, its expiry and optional raw names."""
    head = "".join(f"{json.dumps(field)}:{json.dumps(name)}," for field, name in names.items())
    expiry = "null" if expires_at is None else repr(float(expires_at))
    return f'{{{head}"expires_at":{expiry},"value":{value_json}}}'


def decode_record(text: str | bytes) -> dict[str, Any]:
    """Decode a record written by `encode_record`, checking its shape."""
    record = decode_value(text)
    value = record.get("value")
    expires_at = record.get("expires_at")
    if value.__class__ is not dict or not (expires_at is None or isinstance(expires_at, float)):
        raise DeserializationError("stored record is malformed")
    return record


__all__ = ["decode_record", "encode_record"]

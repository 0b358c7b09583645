"""`ManagedEntry`: py-key-value's record of a value with its creation and expiry times, and its JSON helpers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, SupportsFloat, cast

from typing_extensions import Self

from key_value.shared.compat.time_to_live import now, now_plus, seconds_to
from key_value.shared.errors import DeserializationError, SerializationError


def verify_dict(obj: Any) -> dict[str, Any]:
    """A plain dict copy of `obj`; `DeserializationError` unless it is a mapping with `str` keys."""
    if not isinstance(obj, Mapping):
        raise DeserializationError(f"expected a JSON object, not {type(obj).__name__}")
    mapping = cast("Mapping[Any, Any]", obj)
    if not all(isinstance(key, str) for key in mapping):
        raise DeserializationError("a JSON object's keys must all be str")
    return dict(mapping)


def dump_to_json(obj: dict[str, Any]) -> str:
    """`obj` as JSON text with sorted keys; `SerializationError` for what JSON cannot hold exactly (NaN too)."""
    try:
        return json.dumps(obj, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise SerializationError(f"value cannot be stored as JSON: {exc}") from exc


def load_from_json(json_str: str) -> dict[str, Any]:
    """The JSON object in `json_str`; `DeserializationError` for anything else."""
    try:
        loaded: Any = json.loads(json_str)
    except (TypeError, ValueError) as exc:
        raise DeserializationError(f"stored text is not JSON: {exc}") from exc
    return verify_dict(loaded)


def estimate_serialized_size(value: Mapping[str, Any]) -> int:
    """Characters of `value` as JSON text."""
    return len(dump_to_json(dict(value)))


@dataclass(kw_only=True)
class ManagedEntry:
    """A value and, when known, when it was written and when it expires (aware datetimes)."""

    value: Mapping[str, Any]
    created_at: datetime | None = field(default=None)
    expires_at: datetime | None = field(default=None)

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= now()

    @property
    def ttl(self) -> float | None:
        """Seconds left to live, None when it never expires."""
        return None if self.expires_at is None else seconds_to(self.expires_at)

    @property
    def value_as_json(self) -> str:
        return dump_to_json(self.value_as_dict)

    @property
    def value_as_dict(self) -> dict[str, Any]:
        return verify_dict(self.value)

    @property
    def created_at_isoformat(self) -> str | None:
        return None if self.created_at is None else self.created_at.isoformat()

    @property
    def expires_at_isoformat(self) -> str | None:
        return None if self.expires_at is None else self.expires_at.isoformat()

    @classmethod
    def from_ttl(cls, *, value: Mapping[str, Any], created_at: datetime | None = None, ttl: SupportsFloat) -> Self:
        """An entry expiring `ttl` seconds from now (never, for a falsy `ttl`)."""
        return cls(value=value, created_at=created_at, expires_at=now_plus(float(ttl)) if ttl else None)


__all__ = ["ManagedEntry", "dump_to_json", "estimate_serialized_size", "load_from_json", "verify_dict"]

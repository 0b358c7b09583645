"""py-key-value's serialization adapters: how a `ManagedEntry` becomes a stored JSON document and back.

A subclass changes the document through `prepare_dump` / `prepare_load` (rename fields, add a tag,
encrypt). Stores that write one JSON document per entry honour an adapter given to their constructor
(`FileTreeStore(serialization_adapter=...)`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any, Literal, TypeVar

from key_value.shared.compat.managed_entry import ManagedEntry, dump_to_json, load_from_json, verify_dict
from key_value.shared.errors import DeserializationError, SerializationError

T = TypeVar("T")
DateFormat = Literal["isoformat", "datetime"]
ValueFormat = Literal["string", "dict"]


def key_must_be(dictionary: dict[str, Any], /, key: str, expected_type: type[T]) -> T | None:
    """`dictionary[key]` if present (None if not); `DeserializationError` if it is not an `expected_type`."""
    if key not in dictionary:
        return None
    found = dictionary[key]
    if not isinstance(found, expected_type):
        raise DeserializationError(f"{key} must be a {expected_type.__name__}", extra_info={"field": key})
    return found


def parse_datetime_str(value: str) -> datetime:
    """The datetime of an ISO 8601 string; `DeserializationError` if it is not one."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise DeserializationError(f"not an ISO 8601 datetime: {value!r}") from None


class SerializationAdapter(ABC):
    """Turns entries into documents (`dump_dict` / `dump_json`) and back (`load_dict` / `load_json`)."""

    _date_format: DateFormat | None = "isoformat"
    _value_format: ValueFormat | None = "dict"

    def __init__(
        self, *, date_format: DateFormat | None = "isoformat", value_format: ValueFormat | None = "dict"
    ) -> None:
        self._date_format = date_format
        self._value_format = value_format

    @abstractmethod
    def prepare_load(self, data: dict[str, Any]) -> dict[str, Any]:
        """Hook: the stored document, before it is read as an entry."""

    @abstractmethod
    def prepare_dump(self, data: dict[str, Any]) -> dict[str, Any]:
        """Hook: the entry's document, before it is stored."""

    def load_json(self, json_str: str) -> ManagedEntry:
        return self.load_dict(load_from_json(json_str))

    def load_dict(self, data: dict[str, Any]) -> ManagedEntry:
        data = self.prepare_load(data)
        times: dict[str, datetime] = {}
        for field in ("created_at", "expires_at"):
            if self._date_format == "isoformat":
                text = key_must_be(data, field, str)
                if text:
                    times[field] = parse_datetime_str(text)
            elif self._date_format == "datetime":
                moment = key_must_be(data, field, datetime)
                if moment:
                    times[field] = moment
        if "value" not in data:
            raise DeserializationError("stored document has no value field")
        stored = data["value"]
        if isinstance(stored, str):
            value = load_from_json(stored)
        elif isinstance(stored, dict):
            value = verify_dict(stored)
        else:
            raise DeserializationError("the value field is neither a JSON string nor an object")
        return ManagedEntry(value=value, created_at=times.get("created_at"), expires_at=times.get("expires_at"))

    def dump_dict(
        self,
        entry: ManagedEntry,
        exclude_none: bool = True,  # noqa: FBT001, FBT002  (py-key-value's signature)
        *,
        key: str | None = None,
        collection: str | None = None,
        version: int = 1,
    ) -> dict[str, Any]:
        value = entry.value_as_dict if self._value_format == "dict" else entry.value_as_json
        data: dict[str, Any] = {"version": version, "value": value}
        if key is not None:
            data["key"] = key
        if collection is not None:
            data["collection"] = collection
        if self._date_format == "isoformat":
            data["created_at"] = entry.created_at_isoformat
            data["expires_at"] = entry.expires_at_isoformat
        elif self._date_format == "datetime":
            data["created_at"] = entry.created_at
            data["expires_at"] = entry.expires_at
        if exclude_none:
            data = {name: item for name, item in data.items() if item is not None}
        return self.prepare_dump(data)

    def dump_json(
        self,
        entry: ManagedEntry,
        exclude_none: bool = True,  # noqa: FBT001, FBT002
        *,
        key: str | None = None,
        collection: str | None = None,
        version: int = 1,
    ) -> str:
        if self._date_format == "datetime":
            raise SerializationError('dump_json needs date_format="isoformat"; use dump_dict() for datetimes')
        return dump_to_json(self.dump_dict(entry, exclude_none, key=key, collection=collection, version=version))


class BasicSerializationAdapter(SerializationAdapter):
    """The documents as they are: `{"version", "value", "created_at", "expires_at"}`."""

    def __init__(
        self, *, date_format: DateFormat | None = "isoformat", value_format: ValueFormat | None = "dict"
    ) -> None:
        super().__init__(date_format=date_format, value_format=value_format)

    def prepare_load(self, data: dict[str, Any]) -> dict[str, Any]:
        return data

    def prepare_dump(self, data: dict[str, Any]) -> dict[str, Any]:
        return data


__all__ = ["BasicSerializationAdapter", "SerializationAdapter", "key_must_be", "parse_datetime_str"]

"""py-key-value's serialization adapters (compatibility re-export)."""

from key_value.shared.compat.serialization import (
    BasicSerializationAdapter,
    SerializationAdapter,
    key_must_be,
    parse_datetime_str,
)

__all__ = ["BasicSerializationAdapter", "SerializationAdapter", "key_must_be", "parse_datetime_str"]

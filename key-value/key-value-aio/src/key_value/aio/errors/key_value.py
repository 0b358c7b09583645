"""Errors of single operations, at py-key-value's module path (the same classes as `key_value.aio.errors`)."""

from key_value.shared.errors import (
    DeserializationError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    InvalidKeyError,
    InvalidTTLError,
    KeyValueOperationError,
    MissingKeyError,
    SerializationError,
    ValueTooLargeError,
)

__all__ = [
    "DeserializationError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "InvalidKeyError",
    "InvalidTTLError",
    "KeyValueOperationError",
    "MissingKeyError",
    "SerializationError",
    "ValueTooLargeError",
]

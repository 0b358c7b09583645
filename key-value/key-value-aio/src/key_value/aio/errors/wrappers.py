"""Errors raised by wrappers, at py-key-value's module path (the same classes as `key_value.aio.errors`)."""

from key_value.shared.errors import (
    CorruptedDataError,
    DecryptionError,
    EncryptionError,
    EncryptionVersionError,
    EntryTooLargeError,
    EntryTooSmallError,
    ReadOnlyError,
)

__all__ = [
    "CorruptedDataError",
    "DecryptionError",
    "EncryptionError",
    "EncryptionVersionError",
    "EntryTooLargeError",
    "EntryTooSmallError",
    "ReadOnlyError",
]

"""The one error hierarchy of key-value, shared by the async and sync twins.

BaseKeyValueError
├── KeyValueOperationError          a single operation failed
│   ├── InvalidArgumentError        bad input, rejected before anything is written
│   │   ├── InvalidKeyError
│   │   └── InvalidTTLError
│   ├── SerializationError          a value is not JSON-compatible
│   ├── DeserializationError        stored data cannot be decoded
│   ├── MissingKeyError
│   ├── ValueTooLargeError
│   ├── EntryTooLargeError / EntryTooSmallError
│   ├── ReadOnlyError
│   └── EncryptionError
│       ├── EncryptionVersionError
│       └── DecryptionError
│           └── CorruptedDataError
└── KeyValueStoreError              the store itself failed
    ├── StoreSetupError
    ├── StoreConnectionError        connection failures and timeouts
    │   └── StoreTimeoutError       a call ran past its time limit (also a TimeoutError)
    └── PathSecurityError
"""

from __future__ import annotations

ExtraInfoType = dict[str, str | int | float | bool | None]


class BaseKeyValueError(Exception):
    """Base of every error raised by key-value."""

    message: str | None = None
    extra_info: ExtraInfoType | None = None

    def __init__(self, message: str | None = None, extra_info: ExtraInfoType | None = None) -> None:
        parts: list[str] = [message] if message else []
        if extra_info:
            details = "; ".join(f"{name}: {value!r}" for name, value in extra_info.items())
            parts.append(f"({details})" if message else details)
        self.message = " ".join(parts)
        self.extra_info = extra_info
        super().__init__(self.message)


class KeyValueOperationError(BaseKeyValueError):
    """A single operation failed."""


class InvalidArgumentError(KeyValueOperationError):
    """An argument has the wrong type or value; nothing was written."""


class InvalidKeyError(InvalidArgumentError):
    """A key or collection name is not a non-empty string."""


class InvalidTTLError(InvalidArgumentError):
    """A TTL is not a finite number of seconds greater than zero."""


class SerializationError(KeyValueOperationError):
    """A value cannot be stored as JSON without changing it."""


class DeserializationError(KeyValueOperationError):
    """Stored data cannot be decoded into a value."""


class MissingKeyError(KeyValueOperationError):
    """A key that was required to exist does not."""


class ValueTooLargeError(KeyValueOperationError):
    """A value is larger than the store or a wrapper allows."""


class EntryTooLargeError(KeyValueOperationError):
    """An entry is larger than a size-limiting wrapper allows."""


class EntryTooSmallError(KeyValueOperationError):
    """An entry is smaller than a size-limiting wrapper allows."""


class ReadOnlyError(KeyValueOperationError):
    """A write was attempted through a read-only wrapper."""


class EncryptionError(KeyValueOperationError):
    """A value could not be encrypted."""


class EncryptionVersionError(EncryptionError):
    """A ciphertext uses a format version this code does not know."""


class DecryptionError(EncryptionError):
    """A value could not be decrypted."""


class CorruptedDataError(DecryptionError):
    """Decrypted data is not a valid value."""


class KeyValueStoreError(BaseKeyValueError):
    """The store itself failed."""


class StoreSetupError(KeyValueStoreError):
    """The store could not be set up."""


class StoreConnectionError(KeyValueStoreError):
    """The backend could not be reached, or did not answer in time."""


class StoreTimeoutError(StoreConnectionError, TimeoutError):
    """A call did not finish within its time limit; also a `TimeoutError`, so both kinds of handler catch it."""


class PathSecurityError(KeyValueStoreError):
    """A path would leave the store's base directory."""


__all__ = [
    "BaseKeyValueError",
    "CorruptedDataError",
    "DecryptionError",
    "DeserializationError",
    "EncryptionError",
    "EncryptionVersionError",
    "EntryTooLargeError",
    "EntryTooSmallError",
    "ExtraInfoType",
    "InvalidArgumentError",
    "InvalidKeyError",
    "InvalidTTLError",
    "KeyValueOperationError",
    "KeyValueStoreError",
    "MissingKeyError",
    "PathSecurityError",
    "ReadOnlyError",
    "SerializationError",
    "StoreConnectionError",
    "StoreSetupError",
    "StoreTimeoutError",
    "ValueTooLargeError",
]

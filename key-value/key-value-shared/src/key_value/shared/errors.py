"""The one error hierarchy of key-value, shared by the async and sync twins.

BaseKeyValueError
├── KeyValueOperationError          a single operation failed
│   ├── InvalidArgumentError        bad input, rejected before anything is written (also a ValueError)
│   │   ├── InvalidArgumentTypeError  an argument of the wrong kind (also a TypeError)
│   │   ├── InvalidKeyError
│   │   └── InvalidTTLError
│   ├── SerializationError          a value is not JSON-compatible
│   ├── DeserializationError        stored data cannot be decoded
│   ├── MissingKeyError
│   │   └── KeyNotFoundError        a mapping's `m[key]` of a missing key (also a KeyError)
│   ├── UnsupportedOperationError   the store lacks the segment a call needs (also a TypeError)
│   ├── ImmutableEntryError         an overwrite or delete refused by a write-once or append-only wrapper
│   ├── ValueTooLargeError
│   ├── EntryTooLargeError / EntryTooSmallError
│   ├── ReadOnlyError
│   ├── ConcurrencyConflictError    a conditional update kept losing to concurrent writers
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

from typing import Any

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


class InvalidArgumentError(KeyValueOperationError, ValueError):
    """An argument has the wrong type or value; nothing was written. Also a `ValueError`, which
    py-key-value raised for such misuse, so `except ValueError` handlers keep catching it."""


class InvalidArgumentTypeError(InvalidArgumentError, TypeError):
    """An argument is of the wrong kind (not merely a bad value). Also a `TypeError`, which py-key-value
    raised for such misuse, so `except TypeError` handlers keep catching it."""


class InvalidKeyError(InvalidArgumentError):
    """A key or collection name is not a non-empty string."""


class InvalidTTLError(InvalidArgumentError):
    """A TTL is not a finite number of seconds greater than zero."""

    def __init__(self, ttl: Any = None, extra_info: ExtraInfoType | None = None, *, message: str | None = None) -> None:
        self.ttl = ttl
        super().__init__(message or "The TTL is not valid.", {"ttl": str(ttl), **(extra_info or {})})


class SerializationError(KeyValueOperationError):
    """A value cannot be stored as JSON without changing it."""


class DeserializationError(KeyValueOperationError):
    """Stored data cannot be decoded into a value."""


class CodecMismatchError(DeserializationError):
    """An entry was written with another value codec (`json`, `text`, `pickle`) than the reader uses;
    nothing was decoded."""


class MissingKeyError(KeyValueOperationError):
    """A key that was required to exist does not."""

    def __init__(
        self,
        operation: str = "get",
        collection: str | None = None,
        key: str | None = None,
        *,
        message: str | None = None,
    ) -> None:
        self.operation, self.collection, self.key = operation, collection, key
        info: ExtraInfoType = {"operation": operation, "collection": collection, "key": key}
        super().__init__(message or "A required key is missing from the store.", info)


class KeyNotFoundError(MissingKeyError, KeyError):
    """A mapping was asked for a key it does not hold (`m[key]`, `del m[key]`, `pop` without a default).

    Also a `KeyError`, so code written for a `dict` keeps working.
    """

    def __str__(self) -> str:
        return self.message or ""


class UnsupportedOperationError(KeyValueOperationError, TypeError):
    """The call needs a segment the store does not have (e.g. `len` of a mapping over Memcached, which
    cannot list its keys). Also a `TypeError`, as Python raises for an operation a type lacks."""


class ImmutableEntryError(KeyValueOperationError):
    """A write-once or append-only wrapper refused to change an existing entry; nothing was written."""

    def __init__(
        self,
        operation: str = "put",
        collection: str | None = None,
        key: str | None = None,
        *,
        message: str | None = None,
    ) -> None:
        self.operation, self.collection, self.key = operation, collection, key
        info: ExtraInfoType = {"operation": operation, "collection": collection, "key": key}
        super().__init__(message or "This entry was written once and cannot be changed.", info)


class _SizeError(KeyValueOperationError):
    """Base of the size errors: the size found, the limit, and where."""

    _limit_name = "max_size"
    _default_message = "A value is out of the allowed size."

    def __init__(
        self,
        size: int | None = None,
        limit: int | None = None,
        collection: str | None = None,
        key: str | None = None,
        *,
        message: str | None = None,
        extra_info: ExtraInfoType | None = None,
    ) -> None:
        self.size, self.collection, self.key = size, collection, key
        setattr(self, self._limit_name, limit)
        info: ExtraInfoType = {"size": size, self._limit_name: limit, "collection": collection, "key": key}
        super().__init__(message or self._default_message, {**info, **(extra_info or {})})


class ValueTooLargeError(_SizeError):
    """A value is larger than the store or a wrapper allows."""

    _default_message = "The value is larger than allowed."
    max_size: int | None

    def __init__(
        self,
        size: int | None = None,
        max_size: int | None = None,
        collection: str | None = None,
        key: str | None = None,
        *,
        message: str | None = None,
        extra_info: ExtraInfoType | None = None,
    ) -> None:
        super().__init__(size, max_size, collection, key, message=message, extra_info=extra_info)


class EntryTooLargeError(_SizeError):
    """An entry is larger than a size-limiting wrapper allows."""

    _default_message = "The entry is larger than the maximum size."
    max_size: int | None

    def __init__(
        self,
        size: int | None = None,
        max_size: int | None = None,
        collection: str | None = None,
        key: str | None = None,
        *,
        message: str | None = None,
        extra_info: ExtraInfoType | None = None,
    ) -> None:
        super().__init__(size, max_size, collection, key, message=message, extra_info=extra_info)


class EntryTooSmallError(_SizeError):
    """An entry is smaller than a size-limiting wrapper allows."""

    _limit_name = "min_size"
    _default_message = "The entry is smaller than the minimum size."
    min_size: int | None

    def __init__(
        self,
        size: int | None = None,
        min_size: int | None = None,
        collection: str | None = None,
        key: str | None = None,
        *,
        message: str | None = None,
        extra_info: ExtraInfoType | None = None,
    ) -> None:
        super().__init__(size, min_size, collection, key, message=message, extra_info=extra_info)


class ReadOnlyError(KeyValueOperationError):
    """A write was attempted through a read-only wrapper."""

    def __init__(
        self,
        operation: str = "write",
        collection: str | None = None,
        key: str | None = None,
        *,
        message: str | None = None,
    ) -> None:
        self.operation, self.collection, self.key = operation, collection, key
        info: ExtraInfoType = {"operation": operation, "collection": collection, "key": key}
        super().__init__(message or "Writes are not allowed on a read-only store.", info)


class EncryptionError(KeyValueOperationError):
    """A value could not be encrypted."""


class EncryptionVersionError(EncryptionError):
    """A ciphertext uses a format version this code does not know."""


class DecryptionError(EncryptionError):
    """A value could not be decrypted."""


class CorruptedDataError(DecryptionError):
    """Decrypted data is not a valid value."""


class ConcurrencyConflictError(KeyValueOperationError):
    """`transform` found the entry changed by another writer on every attempt, and gave up; nothing was written."""

    def __init__(
        self,
        collection: str | None = None,
        key: str | None = None,
        attempts: int | None = None,
        *,
        message: str | None = None,
    ) -> None:
        self.collection, self.key, self.attempts = collection, key, attempts
        info: ExtraInfoType = {"collection": collection, "key": key, "attempts": attempts}
        super().__init__(message or "Concurrent writers changed the entry on every attempt.", info)


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
    "CodecMismatchError",
    "ConcurrencyConflictError",
    "CorruptedDataError",
    "DecryptionError",
    "DeserializationError",
    "EncryptionError",
    "EncryptionVersionError",
    "EntryTooLargeError",
    "EntryTooSmallError",
    "ExtraInfoType",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
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

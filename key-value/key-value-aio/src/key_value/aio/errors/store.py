"""Errors of the store itself, at py-key-value's module path (the same classes as `key_value.aio.errors`)."""

from key_value.shared.errors import (
    KeyValueStoreError,
    PathSecurityError,
    StoreConnectionError,
    StoreSetupError,
    StoreTimeoutError,
)

__all__ = [
    "KeyValueStoreError",
    "PathSecurityError",
    "StoreConnectionError",
    "StoreSetupError",
    "StoreTimeoutError",
]

"""The root of the error hierarchy, at py-key-value's module path (the same class as `key_value.aio.errors`)."""

from key_value.shared.errors import BaseKeyValueError, ExtraInfoType

__all__ = ["BaseKeyValueError", "ExtraInfoType"]

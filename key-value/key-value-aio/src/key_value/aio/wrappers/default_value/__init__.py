"""A wrapper that reads missing keys as a default value."""

from key_value.aio.wrappers.default_value.wrapper import DefaultValueWrapper

__all__ = ["DefaultValueWrapper"]

"""A wrapper that refuses entries outside a size range."""

from key_value.aio.wrappers.limit_size.wrapper import LimitSizeWrapper

__all__ = ["LimitSizeWrapper"]

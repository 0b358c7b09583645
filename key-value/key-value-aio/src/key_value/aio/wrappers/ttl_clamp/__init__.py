"""A wrapper that keeps the TTLs of writes between a minimum and a maximum."""

from key_value.aio.wrappers.ttl_clamp.wrapper import TTLClampWrapper

__all__ = ["TTLClampWrapper"]

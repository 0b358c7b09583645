"""A wrapper that gives every key a prefix, so several users can share one store without meeting."""

from key_value.aio.wrappers.prefix_keys.wrapper import PrefixKeysWrapper

__all__ = ["PrefixKeysWrapper"]

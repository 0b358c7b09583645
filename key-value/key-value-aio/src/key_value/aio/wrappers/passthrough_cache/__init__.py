"""A wrapper that reads through a cache store in front of a primary store."""

from key_value.aio.wrappers.passthrough_cache.wrapper import PassthroughCacheWrapper

__all__ = ["PassthroughCacheWrapper"]

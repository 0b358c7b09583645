"""A wrapper that caches entries of append-only data in this process and trusts them without asking the store."""

from key_value.aio.wrappers.immutable_cache.wrapper import ImmutableCacheWrapper

__all__ = ["ImmutableCacheWrapper"]

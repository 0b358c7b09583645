"""A wrapper that caches entries in this process and checks each hit's ETag with the store in one request."""

from key_value.aio.wrappers.validated_cache.wrapper import ValidatedCacheWrapper

__all__ = ["ValidatedCacheWrapper"]

"""Memcached store on aiomcache (sync twin: pymemcache): one item per entry, no enumeration."""

from key_value.aio.stores.memcached.store import MemcachedStore, MemcachedV1KeySanitizationStrategy

__all__ = ["MemcachedStore", "MemcachedV1KeySanitizationStrategy"]

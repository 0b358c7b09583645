"""Redis store on redis-py: standalone or cluster, millisecond TTLs kept by the server."""

from key_value.aio.stores.redis.store import RedisStore

__all__ = ["RedisStore"]

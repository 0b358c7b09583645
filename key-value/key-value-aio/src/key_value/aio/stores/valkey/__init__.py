"""Valkey store on Valkey GLIDE: standalone or cluster, millisecond TTLs kept by the server."""

from key_value.aio.stores.valkey.store import ValkeyStore

__all__ = ["ValkeyStore"]

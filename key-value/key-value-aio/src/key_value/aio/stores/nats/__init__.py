"""NATS JetStream key-value store on nats-py (nats-server 2.11+): per-key TTL kept by the server."""

from key_value.aio.stores.nats.store import NATSStore

__all__ = ["NATSStore"]

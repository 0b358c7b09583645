"""In-memory store: fast, bounded on request, and the store tests swap in for a real backend."""

from key_value.aio.stores.memory.store import MemoryStore

__all__ = ["MemoryStore"]

"""Persistent stores on diskcache: `DiskStore` (one cache) and `MultiDiskStore` (one cache per collection)."""

from key_value.aio.stores.disk.multi_store import MultiDiskStore
from key_value.aio.stores.disk.store import DiskStore

__all__ = ["DiskStore", "MultiDiskStore"]

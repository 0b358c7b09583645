"""File-tree store: one JSON file per entry, one directory per collection."""

from key_value.aio.stores.filetree.store import (
    FileTreeStore,
    FileTreeV1CollectionSanitizationStrategy,
    FileTreeV1KeySanitizationStrategy,
)

__all__ = ["FileTreeStore", "FileTreeV1CollectionSanitizationStrategy", "FileTreeV1KeySanitizationStrategy"]

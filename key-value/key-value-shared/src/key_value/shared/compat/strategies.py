"""The store-specific sanitization strategies of py-key-value-aio 0.4.x (FileTree, Memcached, S3).

Stores re-export them from their packages (`key_value.aio.stores.filetree` and so on), where
applications import them; a store given one names its files or backend keys exactly as py-key-value does.
"""

from __future__ import annotations

import os
from pathlib import Path

from key_value.shared.compat.sanitization import (
    HashExcessLengthStrategy,
    HybridSanitizationStrategy,
    SanitizationStrategy,
)
from key_value.shared.compat.sanitize import ALPHANUMERIC_CHARACTERS, HashFragmentMode, hash_excess_length

#: Characters FileTree's V1 strategies keep in directory and file names; any other run becomes `_`.
FILE_NAME_CHARACTERS = ALPHANUMERIC_CHARACTERS + "_"
#: Limits assumed where the file system does not say (and on Windows).
MAX_FILE_NAME_LENGTH = 255
MAX_PATH_LENGTH = 260
#: Memcached's key limit as py-key-value's V1 strategy keeps it (the server allows 250 bytes).
MEMCACHED_MAX_KEY_LENGTH = 240
S3_MAX_KEY_BYTES = 500
S3_MAX_COLLECTION_BYTES = 500


def _path_limit(root: str | os.PathLike[str], name: str, fallback: int) -> int:
    if os.name == "nt":
        return fallback
    reported = os.pathconf(os.fspath(root), name)
    return reported if reported > 0 else fallback


def get_max_path_length(root: str | os.PathLike[str]) -> int:
    """The longest path the file system under `root` allows."""
    return _path_limit(root, "PC_PATH_MAX", MAX_PATH_LENGTH)


def get_max_file_name_length(root: str | os.PathLike[str]) -> int:
    """The longest file name the file system under `root` allows."""
    return _path_limit(root, "PC_NAME_MAX", MAX_FILE_NAME_LENGTH)


class FileTreeV1CollectionSanitizationStrategy(HybridSanitizationStrategy):
    """Collection directory names as py-key-value's FileTreeStore makes them (room kept for `-info.json`)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        super().__init__(
            max_length=get_max_file_name_length(directory) - 10,
            allowed_characters=FILE_NAME_CHARACTERS,
            replacement_character="_",
            hash_fragment_mode=HashFragmentMode.ONLY_IF_CHANGED,
        )


class FileTreeV1KeySanitizationStrategy(HybridSanitizationStrategy):
    """Entry file names (without `.json`) as py-key-value's FileTreeStore makes them."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        remaining = get_max_path_length(directory) - len(Path(directory).as_posix())
        super().__init__(
            max_length=min(remaining, get_max_file_name_length(directory) - 5),
            allowed_characters=FILE_NAME_CHARACTERS,
            replacement_character="_",
            hash_fragment_mode=HashFragmentMode.ONLY_IF_CHANGED,
        )


class MemcachedV1KeySanitizationStrategy(HashExcessLengthStrategy):
    """Memcached keys (`collection::key`) longer than 240 characters become `H_` and a digest."""

    def __init__(self) -> None:
        super().__init__(max_length=MEMCACHED_MAX_KEY_LENGTH)


class S3KeySanitizationStrategy(SanitizationStrategy):
    """Keys longer than `max_bytes` in UTF-8 are cut and end in a hash fragment."""

    def __init__(self, max_bytes: int = S3_MAX_KEY_BYTES) -> None:
        self.max_bytes = max_bytes

    def sanitize(self, value: str) -> str:
        return hash_excess_length(value, self.max_bytes, length_is_bytes=True)

    def validate(self, value: str) -> None:
        return None


class S3CollectionSanitizationStrategy(S3KeySanitizationStrategy):
    """The same for collection names (the first part of `collection/key`)."""

    def __init__(self, max_bytes: int = S3_MAX_COLLECTION_BYTES) -> None:
        super().__init__(max_bytes=max_bytes)


def sanitized(strategy: SanitizationStrategy, name: str) -> str:
    """`name` checked by the strategy (`InvalidKeyError` for reserved names), then mapped."""
    strategy.validate(name)
    return strategy.sanitize(name)


__all__ = [
    "FileTreeV1CollectionSanitizationStrategy",
    "FileTreeV1KeySanitizationStrategy",
    "MemcachedV1KeySanitizationStrategy",
    "S3CollectionSanitizationStrategy",
    "S3KeySanitizationStrategy",
    "get_max_file_name_length",
    "get_max_path_length",
    "sanitized",
]

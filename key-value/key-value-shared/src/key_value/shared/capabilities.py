"""What a store (or a wrapper around one) really supports beyond the core protocol."""

from __future__ import annotations

import enum


class Capability(enum.Flag):
    """Optional protocol segments; a store's `capabilities` is the union of the ones it has."""

    NONE = 0
    KEYS = enum.auto()
    COLLECTIONS = enum.auto()
    DESTROY = enum.auto()
    DESTROY_COLLECTION = enum.auto()
    CULL = enum.auto()
    CONDITIONAL = enum.auto()


DEFAULT_COLLECTION_NAME = "default_collection"

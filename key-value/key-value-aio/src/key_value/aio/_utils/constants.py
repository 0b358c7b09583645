"""py-key-value's constants (compatibility re-export)."""

from key_value.shared.capabilities import DEFAULT_COLLECTION_NAME

__all__ = ["DEFAULT_COLLECTION_NAME"]

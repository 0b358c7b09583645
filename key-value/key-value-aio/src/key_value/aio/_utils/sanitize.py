"""py-key-value's string sanitizers (compatibility re-export)."""

from key_value.shared.compat.sanitize import (
    ALPHANUMERIC_CHARACTERS,
    HashFragmentMode,
    generate_hash_fragment,
    hash_excess_length,
    sanitize_characters_in_string,
    sanitize_string,
)

__all__ = [
    "ALPHANUMERIC_CHARACTERS",
    "HashFragmentMode",
    "generate_hash_fragment",
    "hash_excess_length",
    "sanitize_characters_in_string",
    "sanitize_string",
]

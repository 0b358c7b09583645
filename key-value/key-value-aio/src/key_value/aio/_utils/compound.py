"""py-key-value's compound-name helpers (compatibility re-export)."""

from key_value.shared.compat.compound import (
    compound_key,
    compound_string,
    get_collections_from_compound_keys,
    get_keys_from_compound_keys,
    prefix_collection,
    prefix_key,
    uncompound_key,
    uncompound_string,
    uncompound_strings,
    unprefix_collection,
    unprefix_key,
)

__all__ = [
    "compound_key",
    "compound_string",
    "get_collections_from_compound_keys",
    "get_keys_from_compound_keys",
    "prefix_collection",
    "prefix_key",
    "uncompound_key",
    "uncompound_string",
    "uncompound_strings",
    "unprefix_collection",
    "unprefix_key",
]

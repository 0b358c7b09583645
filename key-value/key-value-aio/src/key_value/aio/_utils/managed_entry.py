"""py-key-value's `ManagedEntry` and JSON helpers (compatibility re-export)."""

from key_value.shared.compat.managed_entry import (
    ManagedEntry,
    dump_to_json,
    estimate_serialized_size,
    load_from_json,
    verify_dict,
)

__all__ = ["ManagedEntry", "dump_to_json", "estimate_serialized_size", "load_from_json", "verify_dict"]

"""py-key-value's sanitization strategies (compatibility re-export)."""

from key_value.shared.compat.sanitization import (
    AlwaysHashStrategy,
    HashExcessLengthStrategy,
    HashFragmentMode,
    HybridSanitizationStrategy,
    PassthroughStrategy,
    SanitizationStrategy,
)

__all__ = [
    "AlwaysHashStrategy",
    "HashExcessLengthStrategy",
    "HashFragmentMode",
    "HybridSanitizationStrategy",
    "PassthroughStrategy",
    "SanitizationStrategy",
]

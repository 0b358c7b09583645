"""py-key-value-aio's `_utils` helpers, for code written against it; see `key_value.shared.compat`.

Native code does not use this package: it exists so that `from key_value.aio._utils.managed_entry import
ManagedEntry` (custom serializers, FastMCP) and the other imports py-key-value documents keep working.
"""

from key_value.shared.compat.managed_entry import ManagedEntry

__all__ = ["ManagedEntry"]

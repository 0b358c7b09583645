"""key-value, async: one protocol over many key-value stores."""

from key_value.aio.protocols.key_value import AsyncKeyValue

__all__ = ["AsyncKeyValue"]

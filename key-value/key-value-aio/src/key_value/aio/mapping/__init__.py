"""Persistent dicts over any store and collection: `AsyncKVMapping`, with `edit` for nested changes."""

from key_value.aio.mapping.mapping import ATTEMPTS, PAGE, AsyncEdit, AsyncKVMapping
from key_value.shared.mapping import ENVELOPE, Key, LiveDict, LiveList

__all__ = ["ATTEMPTS", "ENVELOPE", "PAGE", "AsyncEdit", "AsyncKVMapping", "Key", "LiveDict", "LiveList"]

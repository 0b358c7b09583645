"""Adapter whose reads can raise `MissingKeyError` instead of returning None."""

from key_value.aio.adapters.raise_on_missing.adapter import RaiseOnMissingAdapter

__all__ = ["RaiseOnMissingAdapter"]

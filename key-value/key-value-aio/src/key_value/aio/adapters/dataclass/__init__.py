"""Typed adapter for dataclasses and sequences of them."""

from key_value.aio.adapters.dataclass.adapter import DataclassAdapter

__all__ = ["DataclassAdapter"]

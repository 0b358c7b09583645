"""Typed adapter for any type pydantic can validate."""

from key_value.aio.adapters.pydantic.adapter import PydanticAdapter

__all__ = ["PydanticAdapter"]

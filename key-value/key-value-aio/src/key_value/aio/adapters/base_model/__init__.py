"""Typed adapter for pydantic models and lists of them."""

from key_value.aio.adapters.base_model.adapter import BaseModelAdapter

__all__ = ["BaseModelAdapter"]

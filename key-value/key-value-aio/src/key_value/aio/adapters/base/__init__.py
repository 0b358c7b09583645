"""The shared core of the pydantic-based adapters, at the path py-key-value-aio exports it from."""

from key_value.aio.adapters.pydantic.base import BasePydanticAdapter

__all__ = ["BasePydanticAdapter"]

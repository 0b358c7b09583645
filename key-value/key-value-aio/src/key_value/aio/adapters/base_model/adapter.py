"""`BaseModelAdapter`: typed access for one pydantic model class, or a list of them."""

# ruff: noqa: FBT001, FBT002 - the options stay positional, as in py-key-value-aio

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar, get_args, get_origin

from pydantic import BaseModel

from key_value.aio.adapters.pydantic.base import BasePydanticAdapter, type_adapter_for
from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.shared.errors import InvalidArgumentError

T = TypeVar("T", bound="BaseModel | Sequence[BaseModel]")


def _is_model_class(candidate: object) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, BaseModel)


class BaseModelAdapter(BasePydanticAdapter[T]):
    """Stores a `BaseModel` subclass as its JSON object, or `list[Model]` as `{"items": [...]}`."""

    value_kind = "BaseModel"

    def __init__(
        self,
        key_value: AsyncKeyValue,
        pydantic_model: type[T],
        default_collection: str | None = None,
        raise_on_validation_error: bool = False,
    ) -> None:
        origin = get_origin(pydantic_model)
        if origin is list:
            arguments = get_args(pydantic_model)
            if not arguments or not _is_model_class(arguments[0]):
                raise InvalidArgumentError(f"the items of {pydantic_model!r} must be a BaseModel subclass")
        elif origin is not None or not _is_model_class(pydantic_model):
            raise InvalidArgumentError(
                f"pydantic_model must be a BaseModel subclass or list of one, not {pydantic_model!r}"
            )
        super().__init__(
            key_value,
            type_adapter_for(pydantic_model),
            needs_wrapping=origin is list,
            default_collection=default_collection,
            raise_on_validation_error=raise_on_validation_error,
        )


__all__ = ["BaseModelAdapter"]

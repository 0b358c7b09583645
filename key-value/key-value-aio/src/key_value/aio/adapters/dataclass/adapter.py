"""`DataclassAdapter`: typed access for a dataclass (standard or pydantic), or a sequence of one."""

# ruff: noqa: FBT001, FBT002 - the options stay positional, as in py-key-value-aio

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TypeVar, get_args, get_origin

from key_value.aio.adapters.pydantic.base import BasePydanticAdapter, type_adapter_for
from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.shared.errors import InvalidArgumentError

T = TypeVar("T")


def _is_dataclass_type(candidate: object) -> bool:
    target = get_origin(candidate) or candidate  # a parametrized generic dataclass counts as its class
    return isinstance(target, type) and dataclasses.is_dataclass(target)


class DataclassAdapter(BasePydanticAdapter[T]):
    """Stores a dataclass as its JSON object, or `list[Data]` (any sequence type) as `{"items": [...]}`."""

    value_kind = "dataclass"

    def __init__(
        self,
        key_value: AsyncKeyValue,
        dataclass_type: type[T],
        default_collection: str | None = None,
        raise_on_validation_error: bool = False,
    ) -> None:
        origin = get_origin(dataclass_type)
        is_sequence = isinstance(origin, type) and issubclass(origin, Sequence)
        inner: object = dataclass_type
        if is_sequence:
            arguments = get_args(dataclass_type)
            inner = arguments[0] if arguments else None
        if not _is_dataclass_type(inner):
            raise InvalidArgumentError(
                f"dataclass_type must be a dataclass or a sequence of one, not {dataclass_type!r}"
            )
        super().__init__(
            key_value,
            type_adapter_for(dataclass_type),
            needs_wrapping=is_sequence,
            default_collection=default_collection,
            raise_on_validation_error=raise_on_validation_error,
        )


__all__ = ["DataclassAdapter"]

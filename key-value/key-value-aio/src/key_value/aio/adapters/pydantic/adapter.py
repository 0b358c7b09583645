"""`PydanticAdapter`: typed access for any type pydantic can validate (models, lists, dicts, unions, scalars)."""

# ruff: noqa: FBT001, FBT002 - the options stay positional, as in py-key-value-aio

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import PydanticOmit
from typing_extensions import TypeForm

from key_value.aio.adapters.pydantic.base import BasePydanticAdapter, type_adapter_for
from key_value.aio.protocols.key_value import AsyncKeyValue

T = TypeVar("T")


class _SchemaWithoutInvalidParts(GenerateJsonSchema):
    """Drops parts that have no JSON schema (callables, arbitrary classes): only the top-level `type` is needed."""

    def handle_invalid_for_json_schema(self, schema: object, error_info: str) -> JsonSchemaValue:
        raise PydanticOmit


def _is_json_object(type_adapter: TypeAdapter[Any]) -> bool:
    """Whether values of the type dump to a JSON object, judged as py-key-value-aio does: by the JSON schema."""
    try:
        schema = type_adapter.json_schema(schema_generator=_SchemaWithoutInvalidParts)
    except PydanticOmit:  # the whole type has no JSON schema, so it is not an object
        return False
    return schema.get("type") == "object"


class PydanticAdapter(BasePydanticAdapter[T]):
    """Stores any pydantic-validatable type; values that are not JSON objects are kept as `{"items": value}`."""

    value_kind = "pydantic-serializable value"

    def __init__(
        self,
        key_value: AsyncKeyValue,
        pydantic_model: TypeForm[T],
        default_collection: str | None = None,
        raise_on_validation_error: bool = False,
    ) -> None:
        type_adapter = type_adapter_for(pydantic_model)
        super().__init__(
            key_value,
            type_adapter,
            needs_wrapping=not _is_json_object(type_adapter),
            default_collection=default_collection,
            raise_on_validation_error=raise_on_validation_error,
        )


__all__ = ["PydanticAdapter"]

"""`BasePydanticAdapter`: the one core of the typed adapters, storing values of a type as JSON objects via pydantic.

Values are dumped in JSON mode (datetimes, bytes, sets become JSON types) so they pass the value codec,
and read back with JSON-mode validation, its exact inverse. A type that does not dump to a JSON object
is stored as `{"items": <value>}`, the layout py-key-value-aio uses, so stored data stays interchangeable.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, SupportsFloat, TypeVar, overload

from pydantic import PydanticUserError, TypeAdapter, ValidationError
from pydantic_core import to_json
from typing_extensions import TypeForm

from key_value.aio.protocols.key_value import AsyncConditionalProtocol, AsyncKeyValue
from key_value.shared.conditional import Joker
from key_value.shared.errors import DeserializationError, ExtraInfoType, InvalidArgumentError, SerializationError
from key_value.shared.validation import check_collection, check_keys, check_same_length

T = TypeVar("T")

#: The field that holds a value which is not itself a JSON object.
ITEMS_KEY = "items"

logger = logging.getLogger(__name__)


def type_adapter_for(model: TypeForm[T]) -> TypeAdapter[T]:
    """A pydantic `TypeAdapter` for `model`; `InvalidArgumentError` when pydantic cannot handle the type."""
    try:
        return TypeAdapter[T](model)
    except PydanticUserError as exc:
        raise InvalidArgumentError(f"pydantic cannot validate {model!r}: {exc.message}") from exc


def _type_name(adapter: TypeAdapter[Any]) -> str:
    """The validated type's name (`User`, `list[User]`), for log records."""
    target = getattr(adapter, "_type", None)
    name = getattr(target, "__name__", None)
    return name if isinstance(name, str) else repr(target)


def _summary(error: ValidationError) -> str:
    """The validation errors as `location: message` pairs, without the (possibly sensitive) input."""
    return "; ".join(
        f"{'.'.join(map(str, detail['loc'])) or '<root>'}: {detail['msg']}"
        for detail in error.errors(include_input=False)
    )


class BasePydanticAdapter(Generic[T]):
    """Typed get/put/delete/ttl over a store; subclasses choose the type, its wrapping and its name in errors."""

    #: What the adapter stores, as error messages name it.
    value_kind: ClassVar[str] = "value"

    def __init__(
        self,
        key_value: AsyncKeyValue,
        type_adapter: TypeAdapter[T],
        *,
        needs_wrapping: bool,
        default_collection: str | None,
        raise_on_validation_error: bool,
    ) -> None:
        self._key_value = key_value
        self._type_adapter = type_adapter
        self._needs_wrapping = needs_wrapping
        self._default_collection = None if default_collection is None else check_collection(default_collection)
        self._raise_on_validation_error = raise_on_validation_error

    # -- conversion -----------------------------------------------------------------------------

    def _collection(self, collection: str | None) -> str | None:
        return self._default_collection if collection is None else collection

    def _dump(self, value: T) -> dict[str, Any]:
        """The stored form of `value`; `SerializationError` unless it dumps as this type and reads back as one.

        The read-back check matters because pydantic dumps some wrong values loosely (an unrelated
        dataclass given for a model dumps as `{}`); refusing them here keeps every stored value readable.
        """
        try:
            dumped: Any = self._type_adapter.dump_python(value, mode="json", by_alias=False, warnings="error")
            self._validate(dumped)
        except ValidationError as exc:
            message = f"{type(value).__name__} would not read back as a {self.value_kind}: {_summary(exc)}"
            raise SerializationError(message) from exc
        except (ValueError, TypeError, AttributeError) as exc:  # PydanticSerializationError is a ValueError
            message = f"cannot store {type(value).__name__} as a {self.value_kind}: {exc}"
            raise SerializationError(message) from exc
        if self._needs_wrapping:
            return {ITEMS_KEY: dumped}
        if not isinstance(dumped, dict):
            raise SerializationError(f"a {self.value_kind} must dump to a JSON object, not {type(dumped).__name__}")
        return dumped  # pyright: ignore[reportUnknownVariableType]

    def _validate(self, payload: Any) -> T:
        """`payload` (JSON data) as T, validated in JSON mode: the exact inverse of the JSON-mode dump.

        Fields are stored under their names (as py-key-value-aio stores them); aliases are read too.
        """
        return self._type_adapter.validate_json(to_json(payload), by_alias=True, by_name=True)

    def _load(self, stored: dict[str, Any], key: str, collection: str | None) -> tuple[T] | None:
        """`(value,)` when `stored` validates; otherwise raise `DeserializationError` or log and return None."""
        if self._needs_wrapping and ITEMS_KEY not in stored:
            return self._invalid(key, collection, f"the stored object has no {ITEMS_KEY!r} field", None)
        try:
            return (self._validate(stored[ITEMS_KEY] if self._needs_wrapping else stored),)
        except ValidationError as exc:
            return self._invalid(key, collection, _summary(exc), exc)

    def _invalid(self, key: str, collection: str | None, reason: str, cause: Exception | None) -> None:
        if self._raise_on_validation_error:
            extra: ExtraInfoType = {"key": key, "collection": collection, "reason": reason}
            raise DeserializationError(f"stored value is not a valid {self.value_kind}", extra_info=extra) from cause
        # At ERROR, with the model's name in `extra`, as py-key-value logs a dropped value.
        logger.error(
            "stored value is not a valid %s (key %r, collection %r): %s",
            self.value_kind,
            key,
            collection,
            reason,
            extra={"model_type": _type_name(self._type_adapter), "key": key, "collection": collection, "error": reason},
        )

    def _value_or(self, stored: dict[str, Any] | None, key: str, collection: str | None, default: T | None) -> T | None:
        if stored is None:
            return default
        loaded = self._load(stored, key, collection)
        return default if loaded is None else loaded[0]

    def _with_ttl(
        self, entry: tuple[dict[str, Any] | None, float | None], key: str, collection: str | None
    ) -> tuple[T | None, float | None]:
        stored, remaining = entry
        loaded = None if stored is None else self._load(stored, key, collection)
        return (None, None) if loaded is None else (loaded[0], remaining)

    # -- reads ----------------------------------------------------------------------------------

    @overload
    async def get(self, key: str, *, collection: str | None = None, default: T) -> T: ...

    @overload
    async def get(self, key: str, *, collection: str | None = None, default: None = None) -> T | None: ...

    async def get(self, key: str, *, collection: str | None = None, default: T | None = None) -> T | None:
        """The value under `key` as T; `default` when it is missing (or invalid and not raising)."""
        collection = self._collection(collection)
        stored = await self._key_value.get(key, collection=collection)
        return self._value_or(stored, key, collection, default)

    @overload
    async def get_many(self, keys: Sequence[str], *, collection: str | None = None, default: T) -> list[T]: ...

    @overload
    async def get_many(
        self, keys: Sequence[str], *, collection: str | None = None, default: None = None
    ) -> list[T | None]: ...

    async def get_many(
        self, keys: Sequence[str], *, collection: str | None = None, default: T | None = None
    ) -> list[T] | list[T | None]:
        """One value (or `default`) per key, in order."""
        collection = self._collection(collection)
        stored = await self._key_value.get_many(keys, collection=collection)
        return [self._value_or(value, key, collection, default) for key, value in zip(keys, stored, strict=True)]

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[T | None, float | None]:
        """The value as T and its remaining seconds; (None, None) when missing (or invalid and not raising)."""
        collection = self._collection(collection)
        return self._with_ttl(await self._key_value.ttl(key, collection=collection), key, collection)

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[T | None, float | None]]:
        """One (value, ttl) pair per key, in order."""
        collection = self._collection(collection)
        entries = await self._key_value.ttl_many(keys, collection=collection)
        return [self._with_ttl(entry, key, collection) for key, entry in zip(keys, entries, strict=True)]

    # -- writes ---------------------------------------------------------------------------------

    async def put(self, key: str, value: T, *, collection: str | None = None, ttl: SupportsFloat | None = None) -> None:
        """Store `value` under `key`; `SerializationError` (and nothing written) if it cannot be dumped."""
        await self._key_value.put(key, self._dump(value), collection=self._collection(collection), ttl=ttl)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[T],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        """Store each value under the key at its position; every value is dumped before anything is written."""
        check_same_length(check_keys(keys), values)
        dumped = [self._dump(value) for value in values]
        await self._key_value.put_many(keys, dumped, collection=self._collection(collection), ttl=ttl)

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        """Delete `key`; True if it existed."""
        return await self._key_value.delete(key, collection=self._collection(collection))

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        """Delete the keys; return how many existed."""
        return await self._key_value.delete_many(keys, collection=self._collection(collection))

    # -- conditional calls (stores with `Capability.CONDITIONAL`) --------------------------------

    def _conditional(self) -> AsyncConditionalProtocol:
        if not isinstance(self._key_value, AsyncConditionalProtocol):
            raise InvalidArgumentError("the store has no conditional operations (it lacks Capability.CONDITIONAL)")
        return self._key_value

    async def put_if_absent(
        self, key: str, value: T, *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> bool:
        """Store `value` only if `key` holds no live entry; whether it was stored (one winner among racers)."""
        stored = self._dump(value)
        return await self._conditional().put_if_absent(key, stored, collection=self._collection(collection), ttl=ttl)

    async def transform(
        self,
        key: str,
        fn: Callable[[T | None], Any],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
        retries: int = 20,
        backoff: float = 0.002,
    ) -> T | None:
        """Replace the value under `key` with `fn(current)`, a value of this type (None when absent), retried
        on conflicts as the store's `transform` is; `fn` may also return `KEEP_CURRENT` or `DELETE_CURRENT`
        (and, in the async twin, be a coroutine function). Returns the value after the call (None: deleted).

        A stored value that does not validate raises `DeserializationError`, or, with
        `raise_on_validation_error=False`, reaches `fn` as None, as `get` reads it.
        """
        target = self._collection(collection)

        async def step(stored: dict[str, Any] | None) -> dict[str, Any] | Joker:
            loaded = None if stored is None else self._load(stored, key, target)
            outcome = fn(None if loaded is None else loaded[0])
            if True:  # ASYNC
                if inspect.isawaitable(outcome):
                    outcome = await outcome
            return outcome if isinstance(outcome, Joker) else self._dump(outcome)

        result = await self._conditional().transform(
            key, step, collection=target, ttl=ttl, retries=retries, backoff=backoff
        )
        value = result.value
        if not isinstance(value, dict):
            return None
        loaded = self._load(value, key, target)
        return None if loaded is None else loaded[0]


__all__ = ["ITEMS_KEY", "BasePydanticAdapter", "type_adapter_for"]

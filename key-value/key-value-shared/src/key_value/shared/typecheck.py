"""Runtime type checks at the public boundary, switched on by `KV_TYPECHECK=1` (and always in tests).

When off, `public_api` returns the function unchanged, so it costs nothing. When on, each argument
and the result are checked with beartype, and a violation raises the error from our hierarchy that
the explicit checks would raise for that parameter, so callers see the same errors either way.
"""

from __future__ import annotations

import functools
import inspect
import os
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from key_value.shared.errors import (
    InvalidArgumentError,
    InvalidKeyError,
    InvalidTTLError,
    KeyValueOperationError,
    SerializationError,
)

F = TypeVar("F", bound=Callable[..., Any])

ENABLED: bool = os.environ.get("KV_TYPECHECK", "").strip() not in ("", "0")

_ERROR_FOR_PARAMETER: dict[str, type[InvalidArgumentError | SerializationError]] = {
    "key": InvalidKeyError,
    "keys": InvalidKeyError,
    "collection": InvalidKeyError,
    "ttl": InvalidTTLError,
    "value": SerializationError,
    "values": SerializationError,
}


def public_api(func: F) -> F:
    """Check arguments and result of `func` at run time when type checking is switched on."""
    return _checked(func) if ENABLED else func


def _checked(func: F) -> F:  # pragma: no cover - exercised only with KV_TYPECHECK=1
    from beartype.door import is_bearable  # noqa: PLC0415 - imported only when switched on

    signature = inspect.signature(func)
    hints: dict[str, Any] = {}

    def check_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if not hints:
            hints.update(typing.get_type_hints(func))
        bound = signature.bind(*args, **kwargs)
        for name, argument in bound.arguments.items():
            hint = hints.get(name)
            if hint is not None and not is_bearable(argument, hint):
                error = _ERROR_FOR_PARAMETER.get(name, InvalidArgumentError)
                raise error(f"{func.__qualname__}() got {name}={argument!r}, expected {hint}")

    def check_result(result: Any) -> Any:
        hint = hints.get("return")
        if hint is not None and not is_bearable(result, hint):
            raise KeyValueOperationError(f"{func.__qualname__}() returned {type(result).__name__}, expected {hint}")
        return result

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def checked_coroutine(*args: Any, **kwargs: Any) -> Any:
            check_arguments(args, kwargs)
            return check_result(await func(*args, **kwargs))

        return typing.cast("F", checked_coroutine)

    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        check_arguments(args, kwargs)
        return check_result(func(*args, **kwargs))

    return typing.cast("F", checked)

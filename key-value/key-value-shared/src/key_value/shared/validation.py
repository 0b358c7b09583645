"""Cheap explicit checks on the hot path; each raises our own error and runs before any write."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from key_value.shared.errors import InvalidArgumentError, InvalidKeyError, InvalidTTLError


def _bad_name(what: str, name: object) -> InvalidKeyError:
    if isinstance(name, str):
        reason = "must not be empty" if not name else "must be valid Unicode (it holds a lone surrogate)"
        return InvalidKeyError(f"{what} {reason}", extra_info={what: name})
    return InvalidKeyError(f"{what} must be a str, not {type(name).__name__}")


def _valid(name: object) -> bool:
    if not isinstance(name, str) or not name:
        return False
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_key(key: object) -> str:
    """Return `key` if it is a non-empty, UTF-8 encodable `str`, else raise `InvalidKeyError`."""
    if key.__class__ is str and key and key.isascii():  # type: ignore[union-attr]  # fast path
        return key  # pyright: ignore[reportReturnType]
    if not _valid(key):
        raise _bad_name("key", key)
    return key  # pyright: ignore[reportReturnType]


def check_collection(collection: object) -> str:
    """Return `collection` if it is a valid name (same rules as keys), else raise `InvalidKeyError`."""
    if collection.__class__ is str and collection and collection.isascii():  # type: ignore[union-attr]
        return collection  # pyright: ignore[reportReturnType]
    if not _valid(collection):
        raise _bad_name("collection", collection)
    return collection  # pyright: ignore[reportReturnType]


def check_keys(keys: object) -> list[str]:
    """Return `keys` as a list after checking every one; a bare `str` is refused, not split into characters."""
    if isinstance(keys, (str, bytes)) or not isinstance(keys, Sequence):
        raise InvalidKeyError(f"keys must be a sequence of str, not {type(keys).__name__}")
    checked: list[str] = list(keys)  # pyright: ignore[reportUnknownArgumentType]
    for key in checked:
        check_key(key)
    return checked


def check_ttl(ttl: object) -> float | None:
    """Return `ttl` in seconds as a float, or None; raise `InvalidTTLError` unless it is finite and > 0."""
    if ttl is None:
        return None
    cls = ttl.__class__
    if cls is float or cls is int:
        seconds = float(ttl)  # type: ignore[arg-type]
    elif isinstance(ttl, (bool, str, bytes)) or not hasattr(ttl, "__float__"):
        raise InvalidTTLError(ttl, message=f"ttl must be a number of seconds, not {cls.__name__}")
    else:
        try:
            seconds = float(ttl)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidTTLError(ttl, message="ttl is not convertible to float") from exc
    if not (seconds > 0 and seconds != math.inf):  # NaN fails `> 0`
        raise InvalidTTLError(ttl, message="ttl must be finite and greater than zero")
    return seconds


def check_timeout(timeout: object) -> float:
    """Return `timeout` in seconds as a float; raise `InvalidArgumentError` unless it is finite and > 0."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
        raise InvalidArgumentError(
            "timeout must be a finite number of seconds > 0", extra_info={"timeout": repr(timeout)}
        )
    return float(timeout)


def check_optional_timeout(timeout: object) -> float | None:
    """`check_timeout`, where None (wait forever) is allowed too."""
    return None if timeout is None else check_timeout(timeout)


def check_limit(limit: object) -> int | None:
    """Return `limit` if it is None or an int >= 0, else raise `InvalidArgumentError`."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidArgumentError("limit must be None or an int >= 0", extra_info={"limit": repr(limit)})
    return limit


def check_same_length(keys: Sequence[Any], values: Sequence[Any]) -> None:
    """Raise `InvalidArgumentError` when bulk keys and values differ in length."""
    if isinstance(values, (str, bytes, dict)) or not isinstance(values, Sequence):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidArgumentError(f"values must be a sequence of mappings, not {type(values).__name__}")
    if len(keys) != len(values):
        raise InvalidArgumentError(
            "keys and values must have the same length", extra_info={"keys": len(keys), "values": len(values)}
        )

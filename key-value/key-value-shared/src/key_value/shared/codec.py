"""The value codec: JSON text that round-trips exactly, or a `SerializationError` before any write.

Values are JSON objects with `str` keys. Anything json would silently change (int keys become
strings, tuples become lists, NaN is not JSON) or cannot encode (datetime, set, bytes) is refused.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Mapping
from typing import Any, cast

from key_value.shared.errors import DeserializationError, SerializationError

_Encoder = Callable[[Any], str]


def _refuse(obj: object) -> object:
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def _make_encoder() -> _Encoder:
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # pragma: no cover - PyPy and builds without the C accelerator
        return json.JSONEncoder(allow_nan=False, separators=(",", ":"), default=_refuse, check_circular=False).encode
    # The C encoder, called the way json.JSONEncoder.iterencode calls it, minus the per-call setup.
    # No marker dict: a circular value hits the recursion limit, which is reported as such below.
    make = cast("Callable[..., Callable[[Any, int], tuple[str, ...]]]", c_make_encoder)
    # Arguments: markers, default, string encoder, indent, separators, sort_keys, skipkeys, allow_nan.
    no = False
    encode_chunks = make(None, _refuse, json.encoder.encode_basestring_ascii, None, ":", ",", no, no, no)

    def encode(value: Any) -> str:
        return "".join(encode_chunks(value, 0))

    return encode


_encode: _Encoder = _make_encoder()
_scan = cast("Callable[[str, int], tuple[Any, int]]", json.JSONDecoder().scan_once)  # pyright: ignore[reportAttributeAccessIssue]


def encode_value(value: Mapping[str, Any]) -> str:
    """Encode a value as compact ASCII JSON; raise `SerializationError` unless it round-trips unchanged."""
    if value.__class__ is not dict:
        if not isinstance(value, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise SerializationError(f"value must be a mapping with str keys, not {type(value).__name__}")
        value = dict(value)
    try:
        text = _encode(value)
    except (TypeError, ValueError) as exc:
        raise SerializationError(f"value is not JSON-compatible: {exc}") from exc
    except RecursionError as exc:
        raise SerializationError("value is circular or nested too deeply") from exc
    if _scan(text, 0)[0] != value:
        raise SerializationError("value would not round-trip through JSON unchanged (non-str keys or tuples inside it)")
    return text


# -- in-memory snapshots ----------------------------------------------------------------------------
# MemoryStore keeps values as Python objects instead of JSON text when that is exact: a value built only
# from dict (str keys), list, str, int, float (finite), bool and None, each of exactly that type, is
# already what JSON would give back. `freeze_value` proves that in one walk while taking a private copy,
# and records where the containers are, so `thaw_value` hands out a fresh copy without decoding text.
# Anything else (subclasses, tuples, int keys, NaN, circular or very deep values) returns None and goes
# through `encode_value`, which converts or refuses it with the usual error.

#: Where a frozen container's child containers are: (key or index, that child's own plan) pairs.
Plan = tuple[tuple[Any, "Plan"], ...]

_NONE_TYPE = type(None)
_INT_LIMIT = 10**4000  # ints past this are left to encode_value (CPython caps int/str conversion at 4300 digits)


class _NotExactError(Exception):
    """Raised inside the walk to leave it; never seen outside this module."""


_NOT_EXACT = _NotExactError()

# `_freeze_dict` and `_freeze_list` are one walk written twice on purpose: a shared helper per item, or
# a generic (place, item) iteration, costs a third more on the path every MemoryStore.put takes.


def _freeze_dict(value: dict[Any, Any]) -> tuple[Any, Plan]:
    copy: dict[Any, Any] | None = None
    plan: list[tuple[Any, Plan]] = []
    for key, item in value.items():
        if key.__class__ is not str:
            raise _NOT_EXACT
        cls = item.__class__
        if cls is str or cls is bool or cls is _NONE_TYPE:
            continue
        if cls is int:
            if -_INT_LIMIT < item < _INT_LIMIT:
                continue
            raise _NOT_EXACT
        if cls is float:
            if item - item == 0.0:  # False for NaN and the infinities
                continue
            raise _NOT_EXACT
        if cls is list:
            child, child_plan = _freeze_list(item)
        elif cls is dict:
            child, child_plan = _freeze_dict(item)
        else:
            raise _NOT_EXACT
        if copy is None:
            copy = value.copy()
        copy[key] = child
        plan.append((key, child_plan))
    return (value.copy() if copy is None else copy), tuple(plan)


def _freeze_list(value: list[Any]) -> tuple[Any, Plan]:
    copy: list[Any] | None = None
    plan: list[tuple[Any, Plan]] = []
    index = -1
    for item in value:
        index += 1
        cls = item.__class__
        if cls is str or cls is bool or cls is _NONE_TYPE:
            continue
        if cls is int:
            if -_INT_LIMIT < item < _INT_LIMIT:
                continue
            raise _NOT_EXACT
        if cls is float:
            if item - item == 0.0:
                continue
            raise _NOT_EXACT
        if cls is list:
            child, child_plan = _freeze_list(item)
        elif cls is dict:
            child, child_plan = _freeze_dict(item)
        else:
            raise _NOT_EXACT
        if copy is None:
            copy = value.copy()
        copy[index] = child
        plan.append((index, child_plan))
    return (value.copy() if copy is None else copy), tuple(plan)


def freeze_value(value: object) -> tuple[dict[str, Any], Plan] | None:
    """A private deep copy of `value` and its plan when JSON would give `value` back unchanged, else None.

    None is not an error: the caller falls back to `encode_value`, which converts or refuses the value.
    """
    if value.__class__ is not dict:
        return None
    try:
        return _freeze_dict(value)  # pyright: ignore[reportArgumentType] - exactly dict, checked above
    except (_NotExactError, RecursionError):
        return None


def thaw_value(frozen: Any, plan: Plan) -> Any:
    """A fresh deep copy of a value frozen by `freeze_value` (only containers are copied; leaves are immutable)."""
    fresh = frozen.copy()
    for place, child_plan in plan:
        fresh[place] = thaw_value(frozen[place], child_plan) if child_plan else frozen[place].copy()
    return fresh


def decode_value(text: str | bytes) -> dict[str, Any]:
    """Decode JSON text written by `encode_value` into a fresh dict."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        value, end = _scan(text, 0)
    except (StopIteration, ValueError, UnicodeDecodeError) as exc:
        raise DeserializationError("stored value is not valid JSON") from exc
    if end != len(text) or value.__class__ is not dict:
        raise DeserializationError("stored value is not a JSON object")
    decoded: dict[str, Any] = value
    return decoded


def encode_record(value_json: str, expires_at: float | None, **names: str) -> str:
    """Build the JSON record that file-like stores keep: the value, its expiry and optional raw names."""
    head = "".join(f"{json.dumps(field)}:{json.dumps(name)}," for field, name in names.items())
    expiry = "null" if expires_at is None else repr(float(expires_at))
    return f'{{{head}"expires_at":{expiry},"value":{value_json}}}'


def decode_record(text: str | bytes) -> dict[str, Any]:
    """Decode a record written by `encode_record`, checking its shape."""
    record = decode_value(text)
    value = record.get("value")
    expires_at = record.get("expires_at")
    if value.__class__ is not dict or not (expires_at is None or isinstance(expires_at, float)):
        raise DeserializationError("stored record is malformed")
    return record

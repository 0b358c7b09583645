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


__all__ = ["decode_value", "encode_value"]

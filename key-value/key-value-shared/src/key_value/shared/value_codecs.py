"""Value codecs of the layers above the protocol (mappings, the `cached` decorator): how a Python value
becomes the JSON payload of an entry, and back.

The protocol stores JSON objects. A codec turns a value into a JSON *payload* (`dump`) and back
(`load`); the layer puts the payload into an envelope that records the codec's name, so a reader that
expects another codec gets a `CodecMismatchError` instead of a wrong value.

- `json` (the default): any JSON value, stored as it is (no copy, no conversion).
- `text`: `str` values only.
- `pickle`: any picklable Python object, as base64 text. Unpickling runs code chosen by whoever wrote
  the entry, so use it only on stores that nobody else can write. It is never a default: a layer takes
  it only when asked for by the name `"pickle"`.
"""

from __future__ import annotations

import base64
import binascii
import pickle
from typing import Any, Final, Literal, cast

from key_value.shared.errors import (
    CodecMismatchError,
    DeserializationError,
    InvalidArgumentError,
    SerializationError,
)

CodecName = Literal["json", "text", "pickle"]

#: The envelope key that records the codec of an entry not written with `json`.
CODEC_KEY: Final = "__codec__"


class ValueCodec:
    """A named, reversible mapping between Python values and JSON payloads."""

    name: str = "json"
    #: Whether a loaded dict or list is the stored JSON itself (so a mapping may hand out live views).
    json_native: bool = True

    def dump(self, value: Any) -> Any:
        """The JSON payload of `value`; `SerializationError` if this codec cannot hold it."""
        return value

    def load(self, payload: Any, where: str) -> Any:
        """The value of a payload `dump` made; `DeserializationError` (naming `where`) if it is not one."""
        del where
        return payload

    def __repr__(self) -> str:
        return f"<{self.name} codec>"


class _TextCodec(ValueCodec):
    name = "text"
    json_native = False

    def dump(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise SerializationError("the text codec stores str values only", {"type": type(value).__name__})
        return value

    def load(self, payload: Any, where: str) -> Any:
        if not isinstance(payload, str):
            raise DeserializationError("a text entry does not hold a str", {"key": where})
        return payload


class _PickleCodec(ValueCodec):
    name = "pickle"
    json_native = False

    def dump(self, value: Any) -> Any:
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # pickle raises PicklingError, TypeError, AttributeError, ...
            raise SerializationError(f"value cannot be pickled: {error}", {"type": type(value).__name__}) from error
        return base64.b64encode(data).decode("ascii")

    def load(self, payload: Any, where: str) -> Any:
        if not isinstance(payload, str):
            raise DeserializationError("a pickle entry does not hold base64 text", {"key": where})
        try:
            data = base64.b64decode(payload.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as error:
            raise DeserializationError("a pickle entry does not hold base64 text", {"key": where}) from error
        try:
            return pickle.loads(data)  # opt-in by name, documented as unsafe for untrusted stores
        except Exception as error:  # an unpickler can raise anything
            raise DeserializationError(f"a pickle entry cannot be unpickled: {error}", {"key": where}) from error


JSON_CODEC: Final = ValueCodec()
TEXT_CODEC: Final = _TextCodec()
PICKLE_CODEC: Final = _PickleCodec()

_CODECS: Final = {codec.name: codec for codec in (JSON_CODEC, TEXT_CODEC, PICKLE_CODEC)}


def codec_named(name: object) -> ValueCodec:
    """The codec called `name` (exactly the str `"json"`, `"text"` or `"pickle"`); anything else is refused,
    a codec object or a str subclass included, so that `pickle` is only ever taken by its plain name."""
    codec = _CODECS.get(cast("str", name)) if name.__class__ is str else None
    if codec is None:
        raise InvalidArgumentError(
            "codec must be one of " + ", ".join(repr(known) for known in _CODECS), {"codec": repr(name)}
        )
    return codec


def check_codec(found: object, codec: ValueCodec, where: str) -> None:
    """Refuse an entry whose recorded codec (`found`; None for a `json` entry) is not `codec`."""
    name = "json" if found is None else found
    if name != codec.name:
        raise CodecMismatchError(
            f"entry was written with the {name!r} codec, this reader uses {codec.name!r}",
            {"key": where, "codec": str(name)},
        )


__all__ = [
    "CODEC_KEY",
    "JSON_CODEC",
    "PICKLE_CODEC",
    "TEXT_CODEC",
    "CodecMismatchError",
    "CodecName",
    "ValueCodec",
    "check_codec",
    "codec_named",
]

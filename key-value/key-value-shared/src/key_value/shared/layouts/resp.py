"""The Redis-protocol family's layout (RedisStore, ValkeyStore): server key names and the bytes under them.

The native layout keeps one server key per (collection, key):

    kv:{<collection>}<key>

The collection sits in a hash tag, so a cluster keeps all its keys in one hash slot (MGET, DEL and
pipelines over one collection need that). Inside the tag `%` and `}` are escaped as `%25` and `%7D`,
so the first `}` always closes the tag: no two (collection, key) pairs share a server key, and the raw
names are recovered exactly for enumeration. The key follows unescaped; Redis keys are binary-safe.
Every key of every collection starts with `kv:{`, which is how `destroy()` finds this store's keys and
leaves foreign keys in the same database alone. The value is the entry's JSON text; the expiry is the
server's own.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from key_value.shared.codec import decode_value


class RespLayout(Protocol):
    """Where (collection, key) lives on a Redis-protocol server, and what is stored there.

    The store sets the server's own expiry on every key; a layout only names keys and encodes values.
    """

    #: SCAN MATCH pattern for every key this layout makes (foreign keys may match too; `split` sorts them out).
    all_pattern: str

    def server_key(self, collection: str, key: str) -> str: ...

    def server_keys(self, collection: str, keys: list[str]) -> list[str]: ...

    def collection_pattern(self, collection: str) -> str:
        """SCAN MATCH pattern for the keys of `collection`."""
        ...

    def split(self, name: bytes | str) -> tuple[str, str] | None:
        """The (collection, key) of a server key, or None for a key this layout did not make."""
        ...

    def encode(self, collection: str, key: str, value_json: str, expires_at: float | None) -> str:
        """What to SET for (collection, key) holding `value_json`, expiring at `expires_at` (epoch s) or never."""
        ...

    def encode_many(
        self, collection: str, keys: list[str], values_json: list[str], expires_at: float | None
    ) -> list[str]:
        """`encode` for each of `keys` and its value."""
        ...

    def decode(self, raw: bytes | str, /) -> dict[str, Any]:
        """The value stored in `raw` (what GET returned)."""
        ...


_PREFIX = "kv:{"
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def _escape(collection: str) -> str:
    if "%" in collection:
        collection = collection.replace("%", "%25")
    if "}" in collection:
        collection = collection.replace("}", "%7D")
    return collection


class NativeRespLayout:
    """Our layout: `kv:{<escaped collection>}<key>` holding the value's JSON text."""

    all_pattern = _PREFIX + "*"

    def server_key(self, collection: str, key: str) -> str:
        return f"{_PREFIX}{_escape(collection)}}}{key}"

    def server_keys(self, collection: str, keys: list[str]) -> list[str]:
        prefix = f"{_PREFIX}{_escape(collection)}}}"
        return [prefix + key for key in keys]

    def collection_pattern(self, collection: str) -> str:
        return _GLOB_SPECIAL.sub(r"\\\1", f"{_PREFIX}{_escape(collection)}}}") + "*"

    def split(self, name: bytes | str) -> tuple[str, str] | None:
        if isinstance(name, bytes):
            try:
                name = name.decode("utf-8")
            except UnicodeDecodeError:
                return None
        end = name.find("}", len(_PREFIX))
        if not name.startswith(_PREFIX) or end <= len(_PREFIX) or end == len(name) - 1:
            return None
        escaped = name[len(_PREFIX) : end]
        collection = escaped.replace("%7D", "}").replace("%25", "%")
        if _escape(collection) != escaped:  # a stray `%` that this layout would have escaped
            return None
        return collection, name[end + 1 :]

    def encode(self, collection: str, key: str, value_json: str, expires_at: float | None) -> str:
        return value_json

    def encode_many(
        self, collection: str, keys: list[str], values_json: list[str], expires_at: float | None
    ) -> list[str]:
        return values_json

    #: The value is the JSON text itself (a plain function: this runs once per key read).
    decode = staticmethod(decode_value)


NATIVE_RESP_LAYOUT = NativeRespLayout()

__all__ = ["NATIVE_RESP_LAYOUT", "NativeRespLayout", "RespLayout"]

"""Key layout of the Redis-protocol stores (Redis, Valkey): one server key per (collection, key).

    kv:{<collection>}<key>

The collection sits in a hash tag, so a cluster keeps all its keys in one hash slot (MGET, DEL and
pipelines over one collection need that). Inside the tag `%` and `}` are escaped as `%25` and `%7D`,
so the first `}` always closes the tag: no two (collection, key) pairs share a server key, and the raw
names are recovered exactly for enumeration. The key follows unescaped; Redis keys are binary-safe.
Every key of every collection starts with `kv:{`, which is how `destroy()` finds this store's keys and
leaves foreign keys in the same database alone.
"""

from __future__ import annotations

import re

PREFIX = "kv:{"

#: SCAN MATCH pattern for every key of the layout.
ALL_KEYS_PATTERN = PREFIX + "*"

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def _escape(collection: str) -> str:
    if "%" in collection:
        collection = collection.replace("%", "%25")
    if "}" in collection:
        collection = collection.replace("}", "%7D")
    return collection


def collection_prefix(collection: str) -> str:
    """The start shared by every server key of `collection`, hash tag included."""
    return f"{PREFIX}{_escape(collection)}}}"


def server_key(collection: str, key: str) -> str:
    """The server key of (collection, key)."""
    return f"{PREFIX}{_escape(collection)}}}{key}"


def collection_pattern(collection: str) -> str:
    """SCAN MATCH pattern for the keys of `collection`, with glob characters in its name escaped."""
    return _GLOB_SPECIAL.sub(r"\\\1", collection_prefix(collection)) + "*"


def split_server_key(name: bytes | str) -> tuple[str, str] | None:
    """The (collection, key) of a server key, or None for a key this layout did not make."""
    if isinstance(name, bytes):
        try:
            name = name.decode("utf-8")
        except UnicodeDecodeError:
            return None
    end = name.find("}", len(PREFIX))
    if not name.startswith(PREFIX) or end <= len(PREFIX) or end == len(name) - 1:
        return None
    escaped = name[len(PREFIX) : end]
    collection = escaped.replace("%7D", "}").replace("%25", "%")
    if _escape(collection) != escaped:  # a stray `%` that this layout would have escaped
        return None
    return collection, name[end + 1 :]

"""py-key-value-aio 0.4.x's disk layout: the names and documents its DiskStore and MultiDiskStore write.

- DiskStore: one diskcache, each entry under the text key `collection::key`, untagged.
- MultiDiskStore: one diskcache per collection, directly in `base_directory/<sanitize_filename(collection)>`
  (pathvalidate's default sanitizer, reimplemented in `sanitize_filename`), each entry under its raw key.
- Both store a JSON document as text: `{"collection", "created_at", "expires_at"?, "key", "value", "version": 1}`
  (its `BasicSerializationAdapter`, sorted keys), and give diskcache the TTL as `expire`; on reading,
  diskcache's expire time wins over the document's `expires_at`.

The names are ambiguous (`a::b::c`, collections that sanitize alike), so reading checks the document's
own `collection` and `key` and treats another pair's document as a miss; writing the colliding pair still
overwrites it, as py-key-value does. A collection whose directory would be `..` is refused.
"""

from __future__ import annotations

import json
import re
import string
import sys
from datetime import datetime, timezone
from typing import Any, cast

from key_value.shared.compat.compound import compound_key
from key_value.shared.compat.managed_entry import ManagedEntry
from key_value.shared.compat.serialization import BasicSerializationAdapter
from key_value.shared.entry import Entry
from key_value.shared.errors import DeserializationError, InvalidKeyError

#: pathvalidate 3.x, platform "universal": the characters `sanitize_filename` removes.
_UNPRINTABLE = "".join(chr(code) for code in range(128) if chr(code) not in string.printable)
_REMOVED = re.compile("[" + re.escape(_UNPRINTABLE + '/:*?"<>|\t\n\r\x0b\x0c\\') + "]")
#: The names it treats as reserved (compared upper-cased), and how long a file name may be, in bytes.
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "CLOCK$", "NUL", ":"]
    + [f"{name}{n}" for name in ("COM", "LPT") for n in [*range(10), "\u00b9", "\u00b2", "\u00b3"]]
)
_MAX_FILENAME_BYTES = 255
_ROOT_NAME = re.compile(r"[^.]+")

#: The name of the directory that holds no collection of its own: the base directory itself.
BASE_DIRECTORY = ""


def _root_name(name: str) -> str:
    """The part of `name` pathvalidate checks against reserved names: what comes before the first dot."""
    if name in {".", ".."} or name.startswith("..."):
        return name
    found = _ROOT_NAME.match(name)
    return "" if found is None else found.group()


def sanitize_filename(name: str) -> str:
    """What `pathvalidate.sanitize_filename(name)` returns with its defaults (py-key-value's directory names).

    Invalid characters are dropped, the result cut to 255 bytes (never mid-character), a reserved
    name (`CON`, `NUL.txt`, ...) gets a trailing `_`, and otherwise leading spaces and trailing spaces
    and dots are stripped; a name that is blank before or after this becomes "".
    """
    if not name.strip():
        return ""
    encoding = sys.getfilesystemencoding()
    try:
        cut = _REMOVED.sub("", name).encode(encoding)[:_MAX_FILENAME_BYTES]
    except UnicodeEncodeError as exc:
        raise InvalidKeyError("collection cannot be a file name", extra_info={"collection": name}) from exc
    sanitized = cut.decode(encoding, "ignore")
    if not sanitized.strip():
        return ""
    root = _root_name(sanitized)
    if root.upper() in _RESERVED or sanitized.upper() in _RESERVED:  # the first failing check decides, as there
        return sanitized if root in {".", ".."} else sanitized.replace(root, root + "_")
    if sanitized in {".", ".."} or not (sanitized[-1] in " ." or sanitized[0] == " "):
        return sanitized
    stripped = sanitized.strip(" ")
    return stripped if stripped in {".", ".."} else stripped.rstrip(" .")


def _timestamp(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise DeserializationError("stored expiry has no time zone")
    return moment.timestamp()


class PyKeyValueDiskLayout:
    """py-key-value's names and documents (see the module docstring); stateless, so one instance serves all."""

    adapter = BasicSerializationAdapter()

    def entry_name(self, collection: str, key: str) -> str:
        """DiskStore: the cache key of (collection, key)."""
        return compound_key(collection, key)

    def collection_range(self, collection: str) -> tuple[str, str]:
        """DiskStore: the [start, stop) range of cache keys that may hold `collection`'s entries (and others')."""
        start = compound_key(collection, "")
        return start, start[:-1] + chr(ord(start[-1]) + 1)

    def collection_directory(self, collection: str) -> str:
        """MultiDiskStore: the directory of `collection`'s cache under the base directory ("" for the base itself)."""
        directory = sanitize_filename(collection)
        if directory == "..":
            raise InvalidKeyError(
                "py-key-value would keep this collection's cache outside its base directory",
                extra_info={"collection": collection},
            )
        return BASE_DIRECTORY if directory == "." else directory

    def encode(self, value_json: str, expires_at: float | None, *, collection: str, key: str) -> str:
        """The document py-key-value stores for a value (JSON text) written now, expiring at `expires_at`."""
        expiry = None if expires_at is None else datetime.fromtimestamp(expires_at, tz=timezone.utc)
        entry = ManagedEntry(value=json.loads(value_json), created_at=datetime.now(tz=timezone.utc), expires_at=expiry)
        return self.adapter.dump_json(entry, key=key, collection=collection)

    def document(self, stored: object) -> dict[str, Any] | None:
        """The py-key-value document in a stored value, or None if it holds none (our record, foreign data)."""
        if not isinstance(stored, str) or '"version"' not in stored:
            return None
        try:
            loaded: object = json.loads(stored)
        except ValueError:
            return None
        if not isinstance(loaded, dict):
            return None
        document = cast("dict[str, Any]", loaded)
        return document if "version" in document and "value" in document else None

    def owner(self, document: dict[str, Any]) -> tuple[str | None, str | None]:
        """The (collection, key) a document names; None for a field it lacks."""
        collection, key = document.get("collection"), document.get("key")
        return (
            collection if isinstance(collection, str) else None,
            key if isinstance(key, str) else None,
        )

    def owns(self, stored: object, *, collection: str, key: str) -> bool:
        """True if `stored` is a py-key-value document of (collection, key) (or of no pair in particular)."""
        document = self.document(stored)
        if document is None:
            return False
        owner_collection, owner_key = self.owner(document)
        return owner_collection in {None, collection} and owner_key in {None, key}

    def decode(self, stored: object, expire_time: float | None, *, collection: str, key: str) -> Entry | None:
        """The entry of (collection, key) in a stored value, or None if it holds none of this pair's.

        `expire_time` is diskcache's; `DeserializationError` for a py-key-value document that is malformed.
        """
        document = self.document(stored)
        if document is None:
            return None
        owner_collection, owner_key = self.owner(document)
        if owner_collection not in {None, collection} or owner_key not in {None, key}:
            return None  # a colliding pair's entry
        return self.entry(document, expire_time)

    def written_at(self, document: dict[str, Any]) -> float | None:
        """When py-key-value wrote a document (its `created_at`, set on every put), or None if it has none."""
        created_at = document.get("created_at")
        if not isinstance(created_at, str):
            return None
        try:
            return _timestamp(datetime.fromisoformat(created_at))
        except (ValueError, DeserializationError):
            return None

    def entry(self, document: dict[str, Any], expire_time: float | None) -> Entry:
        """The value and expiry of a document; diskcache's `expire_time`, when it has one, wins (as there)."""
        loaded = self.adapter.load_dict(dict(document))
        expires_at = expire_time if expire_time else _timestamp(loaded.expires_at)
        return Entry(dict(loaded.value), expires_at)


#: The one instance the disk stores use.
PY_KEY_VALUE_DISK_LAYOUT = PyKeyValueDiskLayout()

__all__ = ["BASE_DIRECTORY", "PY_KEY_VALUE_DISK_LAYOUT", "PyKeyValueDiskLayout", "sanitize_filename"]

"""Reversible encodings of (collection, key) names for backends with restricted name spaces."""

from __future__ import annotations

import hashlib

_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-_")
_HASH_MARK = "~"  # never produced by `_percent_encode`, so hashed names cannot collide with plain ones

#: Bytes kept for a path component, leaving room for suffixes and temp-file names under the usual 255.
MAX_COMPONENT_BYTES = 200


def compound_key(collection: str, key: str) -> str:
    """Join a collection and a key into one string that no other pair can produce."""
    return f"{len(collection)}:{collection}/{key}"


def compound_prefix(collection: str) -> str:
    """The prefix shared by every `compound_key` of `collection`, and by no other collection's."""
    return f"{len(collection)}:{collection}/"


def split_compound_key(compound: str) -> tuple[str, str]:
    """Invert `compound_key`."""
    length, rest = compound.split(":", 1)
    size = int(length)
    return rest[:size], rest[size + 1 :]


def _percent_encode(name: str) -> str:
    # Upper-case letters are escaped too, so names stay distinct on case-insensitive file systems.
    return "".join(chr(b) if b in _SAFE else f"%{b:02X}" for b in name.encode("utf-8"))


def path_component(name: str, *, max_bytes: int = MAX_COMPONENT_BYTES) -> str:
    """A file-name-safe, reversible-or-hashed component for `name`.

    Short names are percent-encoded (reversible with `decode_path_component`); names whose encoding
    would exceed `max_bytes` become a readable prefix plus a SHA-256 digest, so callers must keep the
    raw name elsewhere to enumerate them.
    """
    encoded = _percent_encode(name)
    if len(encoded) <= max_bytes:
        return encoded
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
    prefix = encoded[: max_bytes - len(digest) - 1]
    prefix = prefix[: prefix.rfind("%")] if "%" in prefix[-2:] else prefix  # do not cut an escape in half
    return f"{prefix}{_HASH_MARK}{digest}"


def is_hashed_component(component: str) -> bool:
    """True when `path_component` had to hash the name, so it cannot be decoded."""
    return _HASH_MARK in component


def decode_path_component(component: str) -> str:
    """Invert `path_component` for names that were not hashed."""
    out = bytearray()
    i = 0
    while i < len(component):
        char = component[i]
        if char == "%":
            out.append(int(component[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(ord(char))
            i += 1
    return out.decode("utf-8")

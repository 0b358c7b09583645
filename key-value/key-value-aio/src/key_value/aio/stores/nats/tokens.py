"""How collections and keys map onto NATS key tokens, reversibly.

An entry is the NATS key `<collection token>.<key token>` in the store's bucket, that is the subject
`$KV.<bucket>.<collection token>.<key token>`. NATS keys allow only `[-/_=.a-zA-Z0-9]`; a token uses
the same characters without the dot, so the dot between the two tokens is the only one and no two
(collection, key) pairs can share a subject. A token takes whichever of two forms is shorter:

- readable: `-`, `/`, `_`, letters and digits stay as they are, every other UTF-8 byte becomes `=XX`
  (two upper-case hex digits): `a.b` -> `a=2Eb`, `with space` -> `with=20space`, `é` -> `=C3=A9`;
- compact: `==` and then the unpadded base64url of the UTF-8 bytes. A readable token never holds `==`
  (`=` is always followed by two hex digits), so the prefix tells the forms apart.

Both decode to the raw name, so enumeration returns the names as given. Subjects must fit the NATS
protocol line (4 KiB by default): names up to a few thousand bytes together work.
"""

from __future__ import annotations

import base64
import re

from key_value.shared.errors import InvalidKeyError

_PLAIN = frozenset(b"-/_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_COMPACT = "=="
_ESCAPE = re.compile(r"=([0-9A-F]{2})")

#: Longest subject the store sends; leaves room in the 4 KiB protocol line for the API prefix and inbox.
MAX_SUBJECT_BYTES = 3584


def encode_token(name: str) -> str:
    """The token for a collection or key name."""
    raw = name.encode("utf-8")
    readable = (
        name
        if all(byte in _PLAIN for byte in raw)
        else "".join(chr(byte) if byte in _PLAIN else f"={byte:02X}" for byte in raw)
    )
    compact_size = len(_COMPACT) + (len(raw) * 4 + 2) // 3
    if compact_size < len(readable):
        return _COMPACT + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    return readable


def decode_token(token: str) -> str:
    """Invert `encode_token`."""
    if token.startswith(_COMPACT):
        body = token[len(_COMPACT) :]
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
    if "=" not in token:
        return token
    return _ESCAPE.sub(lambda match: chr(int(match[1], 16)), token).encode("latin-1").decode("utf-8")


def entry_subject(prefix: str, collection_token: str, key: str) -> str:
    """The subject of (collection, key) under `prefix` (`$KV.<bucket>.`); `InvalidKeyError` if too long."""
    subject = f"{prefix}{collection_token}.{encode_token(key)}"
    if len(subject) > MAX_SUBJECT_BYTES:
        raise InvalidKeyError(
            "collection and key are too long for a NATS subject",
            extra_info={"encoded_bytes": len(subject), "limit": MAX_SUBJECT_BYTES},
        )
    return subject


def split_subject(prefix: str, subject: str) -> tuple[str, str] | None:
    """(collection, key) of an entry's subject, or None for a subject that is not one of ours."""
    if not subject.startswith(prefix):
        return None
    collection, dot, key = subject[len(prefix) :].partition(".")
    if not dot or not collection or not key or "." in key:
        return None
    try:
        names = decode_token(collection), decode_token(key)
    except (ValueError, UnicodeDecodeError):
        return None
    if encode_token(names[0]) != collection or encode_token(names[1]) != key:
        return None  # written by someone else: we would store these names under other tokens
    return names

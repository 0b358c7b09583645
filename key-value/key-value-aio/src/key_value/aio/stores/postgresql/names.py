"""Collection and key names as PostgreSQL text, which cannot hold NUL: a reversible escape.

`\x01` is the escape character: `\x01` becomes `\x01\x01` and NUL becomes `\x01\x02`. Names without
either character (nearly all) are stored unchanged, so the table stays readable; distinct names stay
distinct, so no two (collection, key) pairs share a row.
"""

from __future__ import annotations

import re

_ESCAPE = "\x01"
_ESCAPED = re.compile("\x01([\x01\x02])")


def to_column(name: str) -> str:
    """The text stored for `name`."""
    if "\x00" not in name and _ESCAPE not in name:
        return name
    return name.replace(_ESCAPE, "\x01\x01").replace("\x00", "\x01\x02")


def from_column(text: str) -> str:
    """Invert `to_column`."""
    if _ESCAPE not in text:
        return text
    return _ESCAPED.sub(lambda match: "\x00" if match[1] == "\x02" else _ESCAPE, text)

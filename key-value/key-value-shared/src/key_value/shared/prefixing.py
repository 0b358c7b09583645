"""Unambiguous `<prefix><separator><name>` joins, for wrappers that fold one name into another.

The prefix is percent-escaped so it never holds the separator's first character (nor a bare `%`);
the first separator in a joined string therefore always ends the prefix, whatever the name holds,
and no two (prefix, name) pairs share a joined string. Plain prefixes stay readable: `app__key`.
"""

from __future__ import annotations

from key_value.shared.errors import InvalidArgumentError

DEFAULT_SEPARATOR = "__"

_ESCAPE = "%"
_HEX = "0123456789ABCDEF"


def check_separator(separator: object) -> str:
    """Return `separator` if it can delimit an escaped prefix, else raise `InvalidArgumentError`."""
    if not isinstance(separator, str) or not separator:
        raise InvalidArgumentError("separator must be a non-empty str", extra_info={"separator": repr(separator)})
    if separator[0] == _ESCAPE or separator[0] in _HEX:
        raise InvalidArgumentError(
            "separator must not start with '%' or an upper-case hex digit (they spell escapes)",
            extra_info={"separator": separator},
        )
    return separator


def escape_prefix(prefix: str, separator: str) -> str:
    """`prefix` with `%` and the separator's first character written as `%XX` UTF-8 escapes."""
    special = (_ESCAPE, separator[0])
    if not any(char in prefix for char in special):
        return prefix
    return "".join(
        "".join(f"%{byte:02X}" for byte in char.encode("utf-8")) if char in special else char for char in prefix
    )


def join_prefixed(prefix: str, name: str, separator: str) -> str:
    """The one string for (prefix, name); `split_prefixed` inverts it."""
    return f"{escape_prefix(prefix, separator)}{separator}{name}"


def split_prefixed(joined: str, separator: str) -> tuple[str, str] | None:
    """Invert `join_prefixed`; None when `joined` was not made by it (so it belongs to someone else)."""
    end = joined.find(separator)
    if end < 0:
        return None
    head = joined[:end]
    prefix = _unescape(head)
    if prefix is None or escape_prefix(prefix, separator) != head:  # only the canonical spelling is ours
        return None
    return prefix, joined[end + len(separator) :]


def _unescape(text: str) -> str | None:
    if _ESCAPE not in text:
        return text
    out = bytearray()
    index = 0
    while index < len(text):
        char = text[index]
        if char != _ESCAPE:
            out += char.encode("utf-8")
            index += 1
            continue
        digits = text[index + 1 : index + 3]
        if len(digits) != 2 or any(digit not in _HEX for digit in digits):
            return None
        out.append(int(digits, 16))
        index += 3
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return None

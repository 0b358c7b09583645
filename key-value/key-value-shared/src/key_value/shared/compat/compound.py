"""py-key-value's name joiners: `collection::key` compound keys and `prefix__name` prefixes.

Joined names are ambiguous when a part contains the separator, which is why our native layouts never
use them; they stay for code that builds py-key-value's backend names itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from key_value.shared.errors import InvalidArgumentError, InvalidArgumentTypeError

DEFAULT_COMPOUND_SEPARATOR = "::"
DEFAULT_PREFIX_SEPARATOR = "__"


def compound_string(first: str, second: str, separator: str | None = None) -> str:
    return f"{first}{separator or DEFAULT_COMPOUND_SEPARATOR}{second}"


def uncompound_string(string: str, separator: str | None = None) -> tuple[str, str]:
    """Split at the first separator; `InvalidArgumentTypeError` (also a `TypeError`, as there) when there is none."""
    first, found, second = string.partition(separator or DEFAULT_COMPOUND_SEPARATOR)
    if not found:
        raise InvalidArgumentTypeError("not a compound name", extra_info={"name": string})
    return first, second


def uncompound_strings(strings: Sequence[str], separator: str | None = None) -> list[tuple[str, str]]:
    return [uncompound_string(string, separator) for string in strings]


def compound_key(collection: str, key: str, separator: str | None = None) -> str:
    return compound_string(collection, key, separator)


def uncompound_key(key: str, separator: str | None = None) -> tuple[str, str]:
    return uncompound_string(key, separator)


def prefix_key(key: str, prefix: str, separator: str | None = None) -> str:
    return compound_string(prefix, key, separator or DEFAULT_PREFIX_SEPARATOR)


def _unprefix(name: str, prefix: str, separator: str | None) -> str:
    head = prefix + (separator or DEFAULT_PREFIX_SEPARATOR)
    if not name.startswith(head):
        raise InvalidArgumentError("name does not carry the prefix", extra_info={"name": name, "prefix": head})
    return name[len(head) :]


def unprefix_key(key: str, prefix: str, separator: str | None = None) -> str:
    return _unprefix(key, prefix, separator)


def prefix_collection(collection: str, prefix: str, separator: str | None = None) -> str:
    return compound_string(prefix, collection, separator or DEFAULT_PREFIX_SEPARATOR)


def unprefix_collection(collection: str, prefix: str, separator: str | None = None) -> str:
    return _unprefix(collection, prefix, separator)


def get_collections_from_compound_keys(compound_keys: Sequence[str], separator: str | None = None) -> list[str]:
    """The distinct collections of compound keys (in first-seen order)."""
    return list(dict.fromkeys(collection for collection, _ in uncompound_strings(compound_keys, separator)))


def get_keys_from_compound_keys(
    compound_keys: Sequence[str], collection: str, separator: str | None = None
) -> list[str]:
    return [key for owner, key in uncompound_strings(compound_keys, separator) if owner == collection]


__all__ = [
    "compound_key",
    "compound_string",
    "get_collections_from_compound_keys",
    "get_keys_from_compound_keys",
    "prefix_collection",
    "prefix_key",
    "uncompound_key",
    "uncompound_string",
    "uncompound_strings",
    "unprefix_collection",
    "unprefix_key",
]

"""String sanitizers with py-key-value's exact results: character replacement, hash fragments, truncation.

The outputs must stay byte-identical to py-key-value-aio 0.4.x's, since they name files and backend keys
that data written by it already occupies; `tests/test_compat_names.py` pins them with known answers.
"""

from __future__ import annotations

import enum
import hashlib

from key_value.shared.errors import InvalidArgumentError

MINIMUM_MAX_LENGTH = 16
DEFAULT_HASH_FRAGMENT_SIZE = 8
DEFAULT_HASH_FRAGMENT_SEPARATOR = "-"
DEFAULT_REPLACEMENT_CHARACTER = "_"
LOWERCASE_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
UPPERCASE_ALPHABET = LOWERCASE_ALPHABET.upper()
NUMBERS = "0123456789"
ALPHANUMERIC_CHARACTERS = LOWERCASE_ALPHABET + UPPERCASE_ALPHABET + NUMBERS


class HashFragmentMode(str, enum.Enum):
    """When a sanitizer appends a fragment of the name's SHA-256 digest."""

    ALWAYS = "always"
    NEVER = "never"
    ONLY_IF_CHANGED = "only_if_changed"


def generate_hash_fragment(value: str, size: int = DEFAULT_HASH_FRAGMENT_SIZE) -> str:
    """The first `size` hex digits of the SHA-256 of `value`."""
    return hashlib.sha256(value.encode()).hexdigest()[:size]


def sanitize_characters_in_string(value: str, allowed_characters: str, replace_with: str) -> str:
    """`value` with each run of disallowed characters replaced by one `replace_with`.

    A value that was one disallowed run and nothing else becomes the empty string.
    """
    kept: list[str] = []
    in_run = False
    for char in value:
        if char in allowed_characters:
            kept.append(char)
            in_run = False
        elif not in_run:
            kept.append(replace_with)
            in_run = True
    if len(kept) == 1 and in_run:
        return ""
    return "".join(kept)


def _cut_to_bytes(value: str, max_bytes: int) -> str:
    """The longest prefix of `value` whose UTF-8 encoding fits in `max_bytes` (never half a character)."""
    if len(value.encode()) <= max_bytes:
        return value
    return value.encode()[:max_bytes].decode("utf-8", errors="ignore")


def _check_lengths(max_length: int, hash_fragment_length: int | None = None) -> None:
    if max_length < MINIMUM_MAX_LENGTH:
        raise InvalidArgumentError(
            f"max_length must be at least {MINIMUM_MAX_LENGTH}", extra_info={"max_length": max_length}
        )
    if hash_fragment_length is not None and hash_fragment_length > max_length // 2:
        raise InvalidArgumentError(
            "hash_fragment_length must be at most half of max_length",
            extra_info={"max_length": max_length, "hash_fragment_length": hash_fragment_length},
        )


def sanitize_string(  # noqa: PLR0917  (py-key-value's signature)
    value: str,
    max_length: int,
    allowed_characters: str | None = None,
    replacement_character: str = DEFAULT_REPLACEMENT_CHARACTER,
    hash_fragment_separator: str = DEFAULT_HASH_FRAGMENT_SEPARATOR,
    hash_fragment_mode: HashFragmentMode = HashFragmentMode.ONLY_IF_CHANGED,
    hash_fragment_length: int = DEFAULT_HASH_FRAGMENT_SIZE,
    length_is_bytes: bool = False,  # noqa: FBT001, FBT002  (py-key-value's signature)
) -> str:
    """`value` made to fit `allowed_characters` and `max_length`, with a hash fragment as `hash_fragment_mode` says."""
    _check_lengths(max_length, hash_fragment_length)
    fragment = generate_hash_fragment(value, hash_fragment_length)
    suffix = hash_fragment_separator + fragment
    suffix_size = len(suffix.encode()) if length_is_bytes else len(suffix)

    def cut(text: str, limit: int) -> str:
        return _cut_to_bytes(text, limit) if length_is_bytes else text[:limit]

    sanitized = (
        sanitize_characters_in_string(value, allowed_characters, replacement_character) if allowed_characters else value
    )
    if hash_fragment_mode == HashFragmentMode.NEVER:
        if not sanitized:
            raise InvalidArgumentError(
                "the whole value was replaced and hash_fragment_mode is NEVER", extra_info={"value": value}
            )
        return cut(sanitized, max_length)
    if hash_fragment_mode == HashFragmentMode.ONLY_IF_CHANGED and cut(sanitized, max_length) == value:
        return value
    sanitized = cut(sanitized, max_length - suffix_size)
    return sanitized + suffix if sanitized else fragment


def hash_excess_length(value: str, max_length: int, length_is_bytes: bool = False) -> str:  # noqa: FBT001, FBT002
    """`value` if it fits `max_length`, else its first `max_length - 8` characters (or bytes) and a hash fragment."""
    _check_lengths(max_length)
    size = len(value.encode()) if length_is_bytes else len(value)
    if size <= max_length:
        return value
    head = _cut_to_bytes(value, max_length - 8) if length_is_bytes else value[: max_length - 8]
    return head + generate_hash_fragment(value, 8)


__all__ = [
    "ALPHANUMERIC_CHARACTERS",
    "HashFragmentMode",
    "generate_hash_fragment",
    "hash_excess_length",
    "sanitize_characters_in_string",
    "sanitize_string",
]

"""py-key-value's sanitization strategies: objects that map a key or collection name to a backend name.

A strategy's `sanitize` must give exactly py-key-value-aio 0.4.x's result, so that a store given one
reaches the files and backend keys py-key-value wrote; `validate` refuses names that could collide with
a sanitized one (those starting with the reserved `H_` or `S_`), as py-key-value does.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod

from key_value.shared.compat.sanitize import HashFragmentMode, sanitize_characters_in_string
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError

MINIMUM_HASH_LENGTH = 8
MAXIMUM_HASH_LENGTH = 64
#: Prefixes of hashed (`H_`) and character-sanitized (`S_`) names; user names may not start with them.
RESERVED_PREFIXES = ("H_", "S_")


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _refuse_reserved(value: str) -> None:
    if value.startswith(RESERVED_PREFIXES):
        raise InvalidKeyError(
            "names may not start with the reserved prefixes 'H_' or 'S_' under this sanitization strategy",
            extra_info={"name": value},
        )


class SanitizationStrategy(ABC):
    """Maps user names to names the backend accepts; `validate` refuses names the mapping could confuse."""

    @abstractmethod
    def sanitize(self, value: str) -> str:
        """The backend name for `value`."""

    @abstractmethod
    def validate(self, value: str) -> None:
        """Raise `InvalidKeyError` if `value` must not be used with this strategy."""

    def try_unsanitize(self, value: str) -> str | None:
        """The user name behind a backend name, when the mapping can be reversed; None otherwise."""
        return None


class PassthroughStrategy(SanitizationStrategy):
    """Names are used as they are."""

    def sanitize(self, value: str) -> str:
        return value

    def validate(self, value: str) -> None:
        return None

    def try_unsanitize(self, value: str) -> str | None:
        return value


class AlwaysHashStrategy(SanitizationStrategy):
    """Every name becomes the first `hash_length` hex digits of its SHA-256 (9 to 64)."""

    def __init__(self, hash_length: int = 64) -> None:
        if not MINIMUM_HASH_LENGTH < hash_length <= MAXIMUM_HASH_LENGTH:
            raise InvalidArgumentError(
                f"hash_length must be more than {MINIMUM_HASH_LENGTH} and at most {MAXIMUM_HASH_LENGTH}",
                extra_info={"hash_length": hash_length},
            )
        self.hash_length: int = hash_length

    def sanitize(self, value: str) -> str:
        return _sha256(value)[: self.hash_length]

    def validate(self, value: str) -> None:
        return None

    def try_unsanitize(self, value: str) -> str | None:
        return value  # as py-key-value answers, though a digest cannot really be reversed


class HashExcessLengthStrategy(SanitizationStrategy):
    """Names longer than `max_length` become `H_` and a digest cut to fit; shorter ones stay as they are."""

    def __init__(self, max_length: int = 240) -> None:
        self.max_length = max_length

    def sanitize(self, value: str) -> str:
        if len(value) <= self.max_length:
            return value
        return "H_" + _sha256(value)[: self.max_length - 2]

    def validate(self, value: str) -> None:
        _refuse_reserved(value)


class HybridSanitizationStrategy(SanitizationStrategy):
    """Disallowed characters replaced, a hash fragment added when the name changed, `S_` marking changed names."""

    def __init__(
        self,
        max_length: int = 240,
        allowed_characters: str | None = None,
        replacement_character: str = "_",
        hash_fragment_mode: HashFragmentMode = HashFragmentMode.ONLY_IF_CHANGED,
        hash_fragment_length: int = 8,
    ) -> None:
        self.max_length = max_length
        self.allowed_characters: str | None = allowed_characters
        self.replacement_character = replacement_character
        self.hash_fragment_mode = hash_fragment_mode
        self.hash_fragment_length = hash_fragment_length

    def sanitize(self, value: str) -> str:
        sanitized = value
        if self.allowed_characters:
            sanitized = sanitize_characters_in_string(value, self.allowed_characters, self.replacement_character)
        changed = sanitized != value
        if self.hash_fragment_mode == HashFragmentMode.ALWAYS or (
            self.hash_fragment_mode == HashFragmentMode.ONLY_IF_CHANGED and changed
        ):
            # "S_" + name + "-" + fragment, the name cut so that the whole fits max_length.
            room = self.max_length - 3 - self.hash_fragment_length
            return f"S_{sanitized[:room]}-{_sha256(value)[: self.hash_fragment_length]}"
        if len(sanitized) > self.max_length:
            sanitized = sanitized[: self.max_length]
            changed = True
        if not changed:
            return sanitized
        marked = "S_" + sanitized
        return marked if len(marked) <= self.max_length else "S_" + sanitized[: self.max_length - 2]

    def validate(self, value: str) -> None:
        _refuse_reserved(value)


__all__ = [
    "AlwaysHashStrategy",
    "HashExcessLengthStrategy",
    "HashFragmentMode",
    "HybridSanitizationStrategy",
    "PassthroughStrategy",
    "SanitizationStrategy",
]

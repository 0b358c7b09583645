"""Memcached item names given by a py-key-value key sanitization strategy (`key_sanitization_strategy=`).

The strategy is applied to `collection::key`, as py-key-value names its items. Two entries may then
share a name (`a::b` + `c`, `a` + `b::c`), so every record keeps the raw names, which reads check.
"""

from __future__ import annotations

import re

from key_value.shared.compat.compound import compound_key
from key_value.shared.compat.sanitization import SanitizationStrategy
from key_value.shared.compat.strategies import sanitized
from key_value.shared.entry import Entry
from key_value.shared.errors import InvalidKeyError
from key_value.shared.layouts.memcached import MAX_KEY_BYTES, entry_of_record
from key_value.shared.records import encode_record

_NOT_IN_KEYS = re.compile(rb"[\x00-\x20\x7f]")  # memcached keys hold no spaces or control characters


class SanitizedMemcachedLayout:
    """A `MemcachedLayout` whose item names come from a py-key-value sanitization strategy."""

    def __init__(self, strategy: SanitizationStrategy) -> None:
        self.strategy = strategy

    def item_key(self, collection: str, key: str) -> bytes:
        name = sanitized(self.strategy, compound_key(collection, key)).encode()
        if len(name) > MAX_KEY_BYTES or _NOT_IN_KEYS.search(name):
            raise InvalidKeyError(
                "the sanitization strategy gives a name memcached refuses (over 250 bytes, spaces or controls)",
                extra_info={"collection": collection, "key": key},
            )
        return name

    def encode(self, name: bytes, value_json: str, expires_at: float | None, *, collection: str, key: str) -> bytes:
        return encode_record(value_json, expires_at, collection=collection, key=key).encode()

    def decode(self, data: bytes, *, collection: str, key: str) -> Entry | None:
        return entry_of_record(data, collection=collection, key=key)


__all__ = ["SanitizedMemcachedLayout"]

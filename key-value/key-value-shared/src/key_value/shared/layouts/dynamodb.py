"""The DynamoDB store's layout: where `DynamoDBStore` keeps an entry and what the item holds; no I/O.

Table: partition key `collection` (S), sort key `key` (S), both the names as given, unless a name
starts with "#" or is longer than DynamoDB allows in a key (2,048 bytes for the partition key, 1,024
for the sort key): then it is "#" and the SHA-256 hex digest of the name, and the raw name is kept in
`collection_name` / `key_name`. A name as given never starts with "#", so no two pairs share an item.

Other attributes:
  value       S  the value as JSON text, so it round-trips exactly (DynamoDB numbers are decimals),
              B  or that text compressed with zlib when the item would otherwise exceed 400 KB
  expires_at  N  epoch seconds as written by `repr(float)`: this store's clock decides expiry
  ttl         N  the same rounded up to whole seconds: DynamoDB's TTL reclaims expired items with it
  etag        S  16 random hex digits, new with every write: the entry's ETag (conditional segment)

An item without `etag` (written before it existed, or by py-key-value) has an ETag derived from its
`value` attribute, marked with a leading "~" (`item_etag`).
"""

from __future__ import annotations

import hashlib
import math
import zlib
from typing import Any, Protocol

from key_value.shared.codec import decode_value
from key_value.shared.entry import Entry
from key_value.shared.errors import DeserializationError, ValueTooLargeError

#: A DynamoDB attribute value in the low-level API's form, such as {"S": "text"} or {"N": "1.5"}.
Attribute = dict[str, Any]
Item = dict[str, Attribute]

COLLECTION = "collection"
KEY = "key"
COLLECTION_NAME = "collection_name"
KEY_NAME = "key_name"
VALUE = "value"
EXPIRES_AT = "expires_at"
TTL = "ttl"
ETAG = "etag"
#: The first character of the ETag of an item without an `etag` attribute (derived from its content).
CONTENT_ETAG_MARK = "~"

MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
#: DynamoDB's item size limit (names and values of all attributes).
MAX_ITEM_BYTES = 400 * 1024
_HASH_MARK = "#"


def _stored_name(name: str, max_bytes: int) -> str:
    """The key attribute for `name`: the name itself, or "#" and its digest when it cannot be used as it is."""
    if name.startswith(_HASH_MARK) or len(name.encode("utf-8")) > max_bytes:
        return _HASH_MARK + hashlib.sha256(name.encode("utf-8")).hexdigest()
    return name


def _is_hashed(stored: str) -> bool:
    """Whether a key attribute is a digest (the raw name is then kept in its own attribute)."""
    return stored.startswith(_HASH_MARK)


def _size(item: Item) -> int:
    """An upper bound of the item's size as DynamoDB counts it (numbers are counted as their text)."""
    total = 0
    for name, attribute in item.items():
        (kind, data), *_ = attribute.items()
        total += len(name) + (len(data) if kind == "B" else len(str(data).encode("utf-8")))
    return total


def item_etag(item: Item) -> str:
    """The ETag of a stored item: its `etag` attribute, else "~" and a digest of its `value` attribute.

    (Not of the expiry: a TTL refresh keeps an entry's ETag.)
    """
    attribute = item.get(ETAG)
    if attribute is not None:
        return str(attribute["S"])
    return CONTENT_ETAG_MARK + hashlib.sha256(repr(item.get(VALUE)).encode("utf-8")).hexdigest()[:32]


class DynamoDBLayout(Protocol):
    """Names and items of `DynamoDBStore`."""

    #: Placeholders (`#name`) of the attributes that decide expiry, and their names: reads that check
    #: expiry project these, and `live_condition` refers to them.
    expiry_names: dict[str, str]

    def live_condition(self, now: float) -> tuple[str, dict[str, Attribute]]:
        """A filter expression that keeps the items live at `now`, and its values (`:name`)."""
        ...

    def stored_collection(self, collection: str) -> str:
        """The partition key of `collection`'s items."""
        ...

    def stored_key(self, key: str) -> str:
        """The sort key of `key`'s item."""
        ...

    def item_key(self, collection: str, key: str) -> Item:
        """The primary key of (collection, key)."""
        ...

    def encode_item(self, collection: str, key: str, value_json: str, expires_at: float | None, etag: str) -> Item:
        """The whole item for an entry written with ETag `etag`; `ValueTooLargeError` if it cannot fit in 400 KB."""
        ...

    def expiry_attributes(self, expires_at: float) -> Item:
        """The attributes that hold an expiry (what a TTL refresh sets)."""
        ...

    def decode_entry(self, item: Item) -> Entry:
        """The value and expiry held by an item."""
        ...

    def decode_written(self, item: Item) -> tuple[Entry, float | None]:
        """The value and expiry held by an item, and when it was written (None if the item does not say)."""
        ...

    def item_expiry(self, item: Item) -> float | None:
        """The expiry of an item (None if it has none)."""
        ...

    def raw_key(self, item: Item) -> str:
        """The raw key of an item (from `key_name` when the sort key is hashed)."""
        ...

    def raw_collection(self, item: Item) -> str:
        """The raw collection of an item (from `collection_name` when the partition key is hashed)."""
        ...


class NativeDynamoDBLayout:
    """This library's DynamoDB layout (see the module docstring); stateless."""

    expiry_names: dict[str, str] = {"#e": EXPIRES_AT}  # noqa: RUF012  (read only)

    def live_condition(self, now: float) -> tuple[str, dict[str, Attribute]]:
        return "attribute_not_exists(#e) OR #e > :now", {":now": {"N": repr(now)}}

    def stored_collection(self, collection: str) -> str:
        return _stored_name(collection, MAX_PARTITION_KEY_BYTES)

    def stored_key(self, key: str) -> str:
        return _stored_name(key, MAX_SORT_KEY_BYTES)

    def item_key(self, collection: str, key: str) -> Item:
        return {COLLECTION: {"S": self.stored_collection(collection)}, KEY: {"S": self.stored_key(key)}}

    def encode_item(self, collection: str, key: str, value_json: str, expires_at: float | None, etag: str) -> Item:
        item = self.item_key(collection, key)
        if _is_hashed(item[COLLECTION]["S"]):
            item[COLLECTION_NAME] = {"S": collection}
        if _is_hashed(item[KEY]["S"]):
            item[KEY_NAME] = {"S": key}
        if expires_at is not None:
            item.update(self.expiry_attributes(expires_at))
        item[ETAG] = {"S": etag}
        overhead = _size(item) + len(VALUE)
        if overhead + len(value_json) <= MAX_ITEM_BYTES:  # the JSON text is ASCII: one byte per character
            item[VALUE] = {"S": value_json}
            return item
        compressed = zlib.compress(value_json.encode("ascii"))
        if overhead + len(compressed) > MAX_ITEM_BYTES:
            raise ValueTooLargeError(
                len(compressed),
                message="value does not fit in a DynamoDB item (400 KB) even compressed",
                extra_info={"json_bytes": len(value_json)},
            )
        item[VALUE] = {"B": compressed}
        return item

    def decode_entry(self, item: Item) -> Entry:
        attribute = item.get(VALUE, {})
        if "S" in attribute:
            text: str | bytes = attribute["S"]
        elif "B" in attribute:
            try:
                text = zlib.decompress(attribute["B"])
            except zlib.error as exc:
                raise DeserializationError("stored value is not valid compressed JSON") from exc
        else:
            raise DeserializationError("stored item has no value")
        return Entry(decode_value(text), self.item_expiry(item))

    def expiry_attributes(self, expires_at: float) -> Item:
        return {EXPIRES_AT: {"N": repr(float(expires_at))}, TTL: {"N": str(math.ceil(expires_at))}}

    def decode_written(self, item: Item) -> tuple[Entry, float | None]:
        return self.decode_entry(item), None  # the native items do not record when they were written

    def item_expiry(self, item: Item) -> float | None:
        attribute = item.get(EXPIRES_AT)
        if attribute is None:
            return None
        try:
            return float(attribute["N"])
        except (KeyError, ValueError) as exc:
            raise DeserializationError("stored item has a malformed expiry") from exc

    def raw_key(self, item: Item) -> str:
        return str(item[KEY_NAME]["S"] if KEY_NAME in item else item[KEY]["S"])

    def raw_collection(self, item: Item) -> str:
        return str(item[COLLECTION_NAME]["S"] if COLLECTION_NAME in item else item[COLLECTION]["S"])


#: The layout `DynamoDBStore` uses unless given another.
NATIVE_DYNAMODB_LAYOUT = NativeDynamoDBLayout()

__all__ = [
    "COLLECTION",
    "COLLECTION_NAME",
    "CONTENT_ETAG_MARK",
    "ETAG",
    "EXPIRES_AT",
    "KEY",
    "KEY_NAME",
    "MAX_ITEM_BYTES",
    "NATIVE_DYNAMODB_LAYOUT",
    "TTL",
    "VALUE",
    "Attribute",
    "DynamoDBLayout",
    "Item",
    "NativeDynamoDBLayout",
    "item_etag",
]

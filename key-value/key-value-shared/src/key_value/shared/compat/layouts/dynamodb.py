"""py-key-value-aio 0.4.x's DynamoDB layout (`DynamoDBStore(layout="py-key-value")`), for sharing its table; no I/O.

Table: partition key `collection` (S) and sort key `key` (S), the names as given (the same key schema as
ours), DynamoDB's TTL on the `ttl` attribute. Item attributes:

  value       S  the `BasicSerializationAdapter` document as sorted JSON: `{"collection", "created_at",
                 "expires_at" (without TTL: absent), "key", "value": {...}, "version": 1}`
  ttl         N  the expiry in whole epoch seconds, cut down (`int()`): py-key-value's expiry, which
                 overrides the document's when it reads

py-key-value's expiry has whole seconds; ours has milliseconds. So this layout also writes `expires_at`
(N, epoch seconds as `repr(float)`, the attribute our native layout uses), which py-key-value ignores:
an item that has it expires then, one without it (written by py-key-value) when its `ttl` says, for
reads and listings alike. py-key-value, reading ours, sees them expire up to a second early, as it
sees its own.

It also writes `etag` (S, 16 random hex digits, new with every write: the ETag of the conditional
segment), which py-key-value ignores too; items py-key-value writes have none, and their ETag is
derived from their content (`key_value.shared.layouts.dynamodb.item_etag`). An entry's write time
(`get_entry(...).written_at`) is the document's `created_at`, which py-key-value sets on every put.

What py-key-value's items cannot hold is refused before anything is written: a collection longer than
2,048 bytes or a key longer than 1,024 bytes in UTF-8 (DynamoDB's key limits; py-key-value does not
shorten names; `InvalidKeyError`), and an item over DynamoDB's 400 KB (py-key-value does not compress;
`ValueTooLargeError`).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from key_value.shared.codec import decode_value
from key_value.shared.compat.managed_entry import dump_to_json
from key_value.shared.compat.serialization import BasicSerializationAdapter
from key_value.shared.entry import Entry
from key_value.shared.errors import DeserializationError, InvalidKeyError, ValueTooLargeError
from key_value.shared.layouts.dynamodb import (
    COLLECTION,
    ETAG,
    EXPIRES_AT,
    KEY,
    MAX_ITEM_BYTES,
    MAX_PARTITION_KEY_BYTES,
    MAX_SORT_KEY_BYTES,
    TTL,
    Attribute,
    Item,
)

_ADAPTER = BasicSerializationAdapter()
#: Placeholders of the attributes that decide expiry, for projections and filters.
_EXPIRY_NAMES = {"#e": EXPIRES_AT, "#t": TTL}
_LIVE = "(attribute_not_exists(#e) AND (attribute_not_exists(#t) OR #t > :now)) OR #e > :now"


def _checked(what: str, name: str, max_bytes: int) -> str:
    if len(name.encode("utf-8")) > max_bytes:
        raise InvalidKeyError(
            f"with layout='py-key-value', a {what} must be at most {max_bytes} bytes of UTF-8: py-key-value "
            "keeps names as DynamoDB keys as they are",
            extra_info={what: name[:100], "bytes": len(name.encode("utf-8"))},
        )
    return name


def _size(item: Item) -> int:
    """The item's size as DynamoDB counts it (attribute names and values; numbers counted as their text)."""
    return sum(len(name) + len(str(next(iter(value.values()))).encode("utf-8")) for name, value in item.items())


class PyKeyValueDynamoDBLayout:
    """py-key-value-aio 0.4.x's items (see the module docstring); stateless."""

    expiry_names: dict[str, str] = _EXPIRY_NAMES

    def live_condition(self, now: float) -> tuple[str, dict[str, Attribute]]:
        return _LIVE, {":now": {"N": repr(now)}}

    def stored_collection(self, collection: str) -> str:
        return _checked("collection", collection, MAX_PARTITION_KEY_BYTES)

    def stored_key(self, key: str) -> str:
        return _checked("key", key, MAX_SORT_KEY_BYTES)

    def item_key(self, collection: str, key: str) -> Item:
        return {COLLECTION: {"S": self.stored_collection(collection)}, KEY: {"S": self.stored_key(key)}}

    def encode_item(self, collection: str, key: str, value_json: str, expires_at: float | None, etag: str) -> Item:
        item = self.item_key(collection, key)
        document: dict[str, Any] = {
            "collection": collection,
            "created_at": datetime.now(tz=timezone.utc).isoformat(),
            "key": key,
            "value": decode_value(value_json),
            "version": 1,
        }
        if expires_at is not None:
            document["expires_at"] = datetime.fromtimestamp(expires_at, tz=timezone.utc).isoformat()
            item.update(self.expiry_attributes(expires_at))
        item["value"] = {"S": dump_to_json(document)}
        item[ETAG] = {"S": etag}
        size = _size(item)
        if size > MAX_ITEM_BYTES:
            raise ValueTooLargeError(
                size,
                message="with layout='py-key-value', an entry must fit in one DynamoDB item (400 KB): py-key-value "
                "does not compress values",
                extra_info={"json_bytes": len(value_json)},
            )
        return item

    def expiry_attributes(self, expires_at: float) -> Item:
        return {TTL: {"N": str(math.floor(expires_at))}, EXPIRES_AT: {"N": repr(float(expires_at))}}

    def decode_entry(self, item: Item) -> Entry:
        return self.decode_written(item)[0]

    def decode_written(self, item: Item) -> tuple[Entry, float | None]:
        text = item.get("value", {}).get("S")
        if not text:
            raise DeserializationError("stored item has no value document")
        entry = _ADAPTER.load_json(str(text))
        expires_at = self.item_expiry(item)
        if expires_at is None and TTL not in item and entry.expires_at is not None:
            expires_at = entry.expires_at.timestamp()  # no ttl attribute: py-key-value reads the document's
        written_at = None if entry.created_at is None else entry.created_at.timestamp()
        return Entry(dict(entry.value), expires_at), written_at

    def item_expiry(self, item: Item) -> float | None:
        try:
            if EXPIRES_AT in item:
                return float(item[EXPIRES_AT]["N"])
            if TTL in item:
                return float(math.floor(float(item[TTL]["N"])))
        except (KeyError, ValueError) as exc:
            raise DeserializationError("stored item has a malformed expiry") from exc
        return None

    def raw_key(self, item: Item) -> str:
        return str(item[KEY]["S"])

    def raw_collection(self, item: Item) -> str:
        return str(item[COLLECTION]["S"])


__all__ = ["PyKeyValueDynamoDBLayout"]

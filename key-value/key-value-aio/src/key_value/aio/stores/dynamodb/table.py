"""`DynamoTable`: the few DynamoDB calls `DynamoDBStore` makes, typed, on one table; errors come out as ours.

botocore clients are generated at run time and untyped, so this is the one place that touches one.
Every read is strongly consistent, so a read sees every write that finished before it. A conditional
write that fails its condition returns the item as it was checked (`ReturnValuesOnConditionCheckFailure`),
so that the caller learns the current entry in the same round trip.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from key_value.aio.stores._aws import error_code, translated
from key_value.shared.layouts.dynamodb import COLLECTION, KEY, Item

#: Keys per BatchGetItem and writes per BatchWriteItem request: DynamoDB's maximums.
GET_BATCH = 100
WRITE_BATCH = 25

_SERVICE = "DynamoDB"
_NOT_FOUND = frozenset({"ResourceNotFoundException"})
_IN_USE = frozenset({"ResourceInUseException"})
_CHECK_FAILED = "ConditionalCheckFailedException"
_KEY_SCHEMA = {
    "KeySchema": [{"AttributeName": COLLECTION, "KeyType": "HASH"}, {"AttributeName": KEY, "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": COLLECTION, "AttributeType": "S"},
        {"AttributeName": KEY, "AttributeType": "S"},
    ],
}


@dataclass(frozen=True)
class Projection:
    """Which attributes a read returns, and (optionally) which items a query or scan keeps."""

    expression: str
    names: dict[str, str]
    condition: str | None = None
    values: dict[str, Any] | None = None

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"ProjectionExpression": self.expression, "ExpressionAttributeNames": self.names}
        if self.condition is not None:
            options["FilterExpression"] = self.condition
            options["ExpressionAttributeValues"] = self.values
        return options


@dataclass(frozen=True)
class Expression:
    """A condition or update expression with its placeholders (`#name`) and values (`:name`)."""

    text: str
    names: dict[str, str]
    values: dict[str, Any]

    def __and__(self, other: Expression) -> Expression:
        return Expression(
            f"({self.text}) AND ({other.text})", {**self.names, **other.names}, {**self.values, **other.values}
        )

    def options(self, kind: str) -> dict[str, Any]:
        """Request options: `kind` ("ConditionExpression", "UpdateExpression") and its names and values."""
        options: dict[str, Any] = {kind: self.text, "ExpressionAttributeNames": self.names}
        if self.values:
            options["ExpressionAttributeValues"] = self.values
        return options


@dataclass(frozen=True)
class Outcome:
    """What a conditional write did: whether the condition held, and the item it returned.

    `item`: when the condition held, the item before (`ALL_OLD`) or after (`ALL_NEW`) if asked for;
    when it failed, the item the condition was checked on; None where there is none.
    """

    written: bool
    item: Item | None


@dataclass(frozen=True)
class Page:
    """One page of a query or scan, and where the next one starts (None after the last)."""

    items: list[Item]
    next_start: Item | None


class DynamoTable:
    """Typed calls on one table through a botocore DynamoDB client (aiobotocore's in the async twin)."""

    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self.name = name

    # -- the table itself ---------------------------------------------------------------------------

    async def status(self) -> str | None:
        """The table's status ("ACTIVE", "CREATING", ...), or None if it does not exist."""
        with translated(_SERVICE, "DescribeTable", ignore=_NOT_FOUND):
            response = await self._client.describe_table(TableName=self.name)
            return str(response["Table"]["TableStatus"])
        return None

    async def create(self, options: Mapping[str, Any]) -> None:
        """Create the table with our key schema and `options` (billing mode, tags, ...); fine if it now exists."""
        with translated(_SERVICE, "CreateTable", ignore=_IN_USE):  # made meanwhile by another process
            await self._client.create_table(TableName=self.name, **options, **_KEY_SCHEMA)

    async def wait_until_active(self) -> None:
        """Wait (polling every second, for up to ten minutes) until the table can be used."""
        with translated(_SERVICE, "DescribeTable"):
            waiter = self._client.get_waiter("table_exists")
            await waiter.wait(TableName=self.name, WaiterConfig={"Delay": 1, "MaxAttempts": 600})

    async def enable_ttl(self, attribute: str) -> None:
        """Switch DynamoDB's TTL on for `attribute`, unless TTL is already on (or being switched on)."""
        with translated(_SERVICE, "DescribeTimeToLive"):
            response = await self._client.describe_time_to_live(TableName=self.name)
        if response.get("TimeToLiveDescription", {}).get("TimeToLiveStatus") not in (None, "DISABLED"):
            return
        with translated(_SERVICE, "UpdateTimeToLive"):
            await self._client.update_time_to_live(
                TableName=self.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            )

    # -- items ----------------------------------------------------------------------------------------

    async def get(self, key: Item) -> Item | None:
        """The item with this primary key, or None."""
        with translated(_SERVICE, "GetItem"):
            response = await self._client.get_item(TableName=self.name, Key=key, ConsistentRead=True)
        item: Item | None = response.get("Item")
        return item

    async def put(self, item: Item) -> None:
        """Create or replace an item."""
        with translated(_SERVICE, "PutItem"):
            await self._client.put_item(TableName=self.name, Item=item)

    async def delete(self, key: Item) -> Item | None:
        """Delete the item with this primary key; return what it held, or None if there was none."""
        with translated(_SERVICE, "DeleteItem"):
            response = await self._client.delete_item(TableName=self.name, Key=key, ReturnValues="ALL_OLD")
        old: Item | None = response.get("Attributes")
        return old

    async def put_if(self, item: Item, condition: Expression | None, *, old: bool) -> Outcome:
        """Create or replace an item if `condition` holds (always if None); `old`: return the item it replaced."""
        options = {} if condition is None else condition.options("ConditionExpression")
        return await self._conditional(
            "PutItem", self._client.put_item, Item=item, ReturnValues="ALL_OLD" if old else "NONE", **options
        )

    async def delete_if(self, key: Item, condition: Expression | None, *, old: bool) -> Outcome:
        """Delete an item if `condition` holds (always if None); `old`: return the item it deleted."""
        options = {} if condition is None else condition.options("ConditionExpression")
        return await self._conditional(
            "DeleteItem", self._client.delete_item, Key=key, ReturnValues="ALL_OLD" if old else "NONE", **options
        )

    async def update_if(self, key: Item, update: Expression, condition: Expression, *, new: bool) -> Outcome:
        """Apply `update` to an item if `condition` holds; `new`: return the item as updated."""
        both = update & condition
        options = {
            "UpdateExpression": update.text,
            "ConditionExpression": condition.text,
            "ExpressionAttributeNames": both.names,
            "ExpressionAttributeValues": both.values,
            "ReturnValues": "ALL_NEW" if new else "NONE",
        }
        return await self._conditional("UpdateItem", self._client.update_item, Key=key, **options)

    async def _conditional(self, operation: str, call: Any, **options: Any) -> Outcome:
        if "ConditionExpression" in options:
            options["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        with translated(_SERVICE, operation):
            try:
                response = await call(TableName=self.name, **options)
            except ClientError as exc:
                if error_code(exc) != _CHECK_FAILED:
                    raise
                reply: Any = exc.response  # botocore leaves it untyped
                current: Item | None = reply.get("Item")
                return Outcome(written=False, item=current)
        item: Item | None = response.get("Attributes")
        return Outcome(written=True, item=item)

    async def batch_get(self, keys: list[Item], projection: Projection | None = None) -> tuple[list[Item], list[Item]]:
        """One BatchGetItem of up to `GET_BATCH` distinct keys: (the items found, the keys left unprocessed)."""
        request: dict[str, Any] = {"Keys": keys, "ConsistentRead": True}
        if projection is not None:
            request.update(projection.options())
        with translated(_SERVICE, "BatchGetItem"):
            response = await self._client.batch_get_item(RequestItems={self.name: request})
        items: list[Item] = response.get("Responses", {}).get(self.name, [])
        unprocessed: list[Item] = response.get("UnprocessedKeys", {}).get(self.name, {}).get("Keys", [])
        return items, unprocessed

    async def batch_write(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One BatchWriteItem of up to `WRITE_BATCH` puts or deletes of distinct keys; return the unprocessed."""
        with translated(_SERVICE, "BatchWriteItem"):
            response = await self._client.batch_write_item(RequestItems={self.name: requests})
        unprocessed: list[dict[str, Any]] = response.get("UnprocessedItems", {}).get(self.name, [])
        return unprocessed

    async def query_page(
        self, collection: str, projection: Projection, start: Item | None, *, limit: int | None = None
    ) -> Page:
        """One page (of at most `limit` items, if given) of the items whose partition key is `collection`."""
        names = {**projection.names, "#partition": COLLECTION}
        values = {**(projection.values or {}), ":partition": {"S": collection}}
        options: dict[str, Any] = {
            **projection.options(),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "KeyConditionExpression": "#partition = :partition",
        }
        if start is not None:
            options["ExclusiveStartKey"] = start
        if limit is not None:
            options["Limit"] = limit
        with translated(_SERVICE, "Query"):
            response = await self._client.query(TableName=self.name, ConsistentRead=True, **options)
        return Page(response.get("Items", []), response.get("LastEvaluatedKey"))

    async def scan_page(self, projection: Projection, start: Item | None, *, limit: int | None = None) -> Page:
        """One page (of at most `limit` items, if given) of a scan of the whole table."""
        options = projection.options()
        if start is not None:
            options["ExclusiveStartKey"] = start
        if limit is not None:
            options["Limit"] = limit
        with translated(_SERVICE, "Scan"):
            response = await self._client.scan(TableName=self.name, ConsistentRead=True, **options)
        return Page(response.get("Items", []), response.get("LastEvaluatedKey"))

"""`DynamoDBStore`: one DynamoDB table, one item per entry (layout in `key_value.shared.layouts.dynamodb`).

The table is created on first use unless `auto_create=False`, with on-demand billing (or `table_config`)
and DynamoDB's TTL switched on for the `ttl` attribute. DynamoDB removes expired items lazily (often
hours later), so reads check `expires_at` against this store's clock and never return expired entries;
the store has no `cull()` because the table reclaims them by itself.

Requests: `get`/`put` are one GetItem/PutItem, `delete` one DeleteItem returning the old item. `get_many`
sends BatchGetItem (100 keys per request), `put_many` BatchWriteItem (25 items per request), `delete_many`
a BatchGetItem of the keys (DynamoDB does not say which batch deletes removed something) then a
BatchWriteItem of the deletes; several requests run at once, and unprocessed keys or items are sent
again with growing, jittered pauses until none are left. `keys()` pages through Query and
`collections()` through Scan (a whole-table read) to the end. `destroy()` deletes every item and keeps
the table, with its settings, TTL and permissions, so that the store stays usable at once (making a
table again takes time on AWS); `destroy_collection()` deletes the collection's items.

Conditional segment: every write (plain ones too) gives the item a new random `etag` attribute, its
ETag. `put_if` / `delete_if` are one PutItem / DeleteItem / UpdateItem (a TTL refresh sets only the
expiry attributes) whose `ConditionExpression` checks the ETag and the expiry together, so check and
write are one step for every client of the table (`Atomicity.ACROSS_PROCESSES`); a write that loses
gets the current item back in the same reply (`ReturnValuesOnConditionCheckFailure`). DynamoDB has no
clock in expressions, so expiry is judged by the caller's clock: `:now` in the condition is this
store's `clock()`, as for reads. `KEEP_CURRENT` without a TTL changes nothing and is one GetItem.
An item without `etag` (written by py-key-value, or before this attribute existed) has an ETag
derived from its content; a conditional call that expects such an ETag reads the item first and then
writes on condition that it is still the same (two round trips, still atomic).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Mapping
from typing import Any

import aioboto3
from botocore.client import BaseClient

from key_value.aio.stores._aws import AwsSettings, Connection, aws_clients, run_bounded
from key_value.aio.stores.base import (
    BaseConditionalStore,
    BaseContextManagerStore,
    BaseDestroyCollectionStore,
    BaseDestroyStore,
    BaseEnumerateCollectionsStore,
    BaseEnumerateKeysStore,
    Entry,
)
from key_value.aio.stores.dynamodb.table import GET_BATCH, WRITE_BATCH, DynamoTable, Expression, Projection
from key_value.shared.codec import decode_value
from key_value.shared.compat.layouts.dynamodb import PyKeyValueDynamoDBLayout
from key_value.shared.conditional import (
    ABSENT,
    NOT_RETRIEVED,
    Absent,
    Atomicity,
    Condition,
    ConditionalResult,
    Joker,
    VersionedEntry,
    holds,
)
from key_value.shared.errors import InvalidArgumentError, KeyValueStoreError, StoreConnectionError, StoreSetupError
from key_value.shared.layouts import LayoutName, choose_layout
from key_value.shared.layouts.dynamodb import (
    COLLECTION,
    COLLECTION_NAME,
    CONTENT_ETAG_MARK,
    ETAG,
    KEY,
    KEY_NAME,
    NATIVE_DYNAMODB_LAYOUT,
    TTL,
    VALUE,
    DynamoDBLayout,
    Item,
    item_etag,
)

#: First and longest pause before unprocessed keys or items are sent again (seconds; jittered).
BACKOFF_START = 0.05
BACKOFF_MAX = 2.0

_RESERVED_OPTIONS = frozenset({"TableName", "KeySchema", "AttributeDefinitions"})
_KEYS_ONLY = Projection("#c, #k", {"#c": COLLECTION, "#k": KEY})
_MISSING = Expression("attribute_not_exists(#key)", {"#key": KEY}, {})


def new_etag() -> str:
    """A random ETag for one write (64 bits): an old ETag does not come back after delete and re-create."""
    return os.urandom(8).hex()


class DynamoDBStore(
    BaseEnumerateKeysStore,
    BaseEnumerateCollectionsStore,
    BaseDestroyStore,
    BaseDestroyCollectionStore,
    BaseConditionalStore,
    BaseContextManagerStore,
):
    """A store in one DynamoDB table (hash key `collection`, range key `key`).

    Pass `client=` (an open DynamoDB client, which the store never closes), or `session=`, or
    `region_name=`, `endpoint_url=` and `aws_*` credentials, which default to botocore's usual chain.
    `table_config` adds options to CreateTable (BillingMode, ProvisionedThroughput, Tags, ...); with
    `auto_create=False` the table must exist and the store changes nothing about it.
    """

    atomicity = Atomicity.ACROSS_PROCESSES

    #: Items per Query/Scan page (`Limit`); None: DynamoDB's own pages of up to 1 MB. Set it to see
    #: several pages from a few hundred items (the tests do).
    page_items: int | None = None

    def __init__(
        self,
        *,
        table_name: str,
        client: BaseClient | None = None,
        session: aioboto3.Session | None = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        default_collection: str | None = None,
        table_config: Mapping[str, Any] | None = None,
        auto_create: bool = True,
        layout: LayoutName | DynamoDBLayout = "native",
    ) -> None:
        """`layout` chooses the items written: "native" (`key_value.shared.layouts.dynamodb`), "py-key-value"
        (py-key-value-aio 0.4.x's items, `key_value.shared.compat.layouts.dynamodb`) or a layout object."""
        if not isinstance(table_name, str) or not table_name:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidArgumentError("table_name must be a non-empty str")
        config = dict(table_config or {})
        if reserved := _RESERVED_OPTIONS & config.keys():
            raise InvalidArgumentError(f"table_config must not set {', '.join(sorted(reserved))}: the store sets them")
        self.table_name = table_name
        self.auto_create = auto_create
        self._layout: DynamoDBLayout = choose_layout(
            layout, native=lambda: NATIVE_DYNAMODB_LAYOUT, py_key_value=PyKeyValueDynamoDBLayout, store="DynamoDBStore"
        )
        self._create_options = {"BillingMode": "PAY_PER_REQUEST", **config}
        settings = AwsSettings(
            session=session,
            region_name=region_name,
            endpoint_url=endpoint_url,
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
        )
        self._clients = aws_clients("dynamodb", self._make_table, client=client, settings=settings)
        super().__init__(default_collection=default_collection)

    def _make_table(self, client: object) -> DynamoTable:
        return DynamoTable(client, self.table_name)

    async def _table(self) -> DynamoTable:
        connection: Connection[DynamoTable] = await self._clients.get()
        return connection.api

    async def _setup(self) -> None:
        try:
            await self._prepare(await self._table())
        except (StoreConnectionError, StoreSetupError):
            raise
        except KeyValueStoreError as exc:
            raise StoreSetupError(f"cannot use table {self.table_name!r}: {exc}") from exc

    async def _prepare(self, table: DynamoTable) -> None:
        """Make the table (and switch its TTL on) if allowed to, and wait until it is active."""
        status = await table.status()
        if status is None:
            if not self.auto_create:
                raise StoreSetupError(f"table {self.table_name!r} does not exist (and auto_create is False)")
            await table.create(self._create_options)
        if status != "ACTIVE":
            await table.wait_until_active()
        if self.auto_create:
            await table.enable_ttl(TTL)

    async def _close(self) -> None:
        await self._clients.close()

    # -- reads ----------------------------------------------------------------------------------

    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        item = await (await self._table()).get(self._layout.item_key(collection, key))
        return None if item is None else self._layout.decode_entry(item)

    async def _get_entries(self, collection: str, keys: list[str]) -> list[Entry | None]:
        found = await self._batch_get(collection, keys, None)
        items = [found.get(self._layout.stored_key(key)) for key in keys]
        return [None if item is None else self._layout.decode_entry(item) for item in items]

    async def _batch_get(self, collection: str, keys: list[str], projection: Projection | None) -> dict[str, Item]:
        """The items of the distinct keys that exist, by stored key: BatchGetItem, some requests at once."""
        table = await self._table()
        unique = list({self._layout.stored_key(key): self._layout.item_key(collection, key) for key in keys}.values())
        batches = [unique[start : start + GET_BATCH] for start in range(0, len(unique), GET_BATCH)]

        async def fetch(batch: list[Item]) -> list[Item]:
            items: list[Item] = []
            pending = batch
            pause = BACKOFF_START
            while True:
                found, pending = await table.batch_get(pending, projection)
                items.extend(found)
                if not pending:
                    return items
                await asyncio.sleep(random.uniform(0, pause))
                pause = min(pause * 2, BACKOFF_MAX)

        return {item[KEY]["S"]: item for batch in await run_bounded(fetch, batches) for item in batch}

    # -- writes ---------------------------------------------------------------------------------

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        item = self._layout.encode_item(collection, key, value_json, expires_at, new_etag())
        await (await self._table()).put(item)

    async def _put_entries(
        self, collection: str, keys: list[str], values_json: list[str], *, ttl: float | None, expires_at: float | None
    ) -> None:
        items = [
            self._layout.encode_item(collection, key, value, expires_at, new_etag())
            for key, value in zip(keys, values_json, strict=True)
        ]
        await self._batch_write([{"PutRequest": {"Item": item}} for item in items])

    async def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        """Send puts or deletes of distinct keys with BatchWriteItem, some requests at once, until all are done."""
        table = await self._table()
        batches = [requests[start : start + WRITE_BATCH] for start in range(0, len(requests), WRITE_BATCH)]

        async def write(batch: list[dict[str, Any]]) -> None:
            pending = batch
            pause = BACKOFF_START
            while True:
                pending = await table.batch_write(pending)
                if not pending:
                    return
                await asyncio.sleep(random.uniform(0, pause))
                pause = min(pause * 2, BACKOFF_MAX)

        await run_bounded(write, batches)

    async def _delete_entry(self, collection: str, key: str) -> bool:
        old = await (await self._table()).delete(self._layout.item_key(collection, key))
        return old is not None and self._is_live(old)

    async def _delete_entries(self, collection: str, keys: list[str]) -> int:
        names = self._layout.expiry_names
        expiry = Projection(", ".join(("#c", "#k", *names)), {"#c": COLLECTION, "#k": KEY, **names})
        found = list((await self._batch_get(collection, keys, expiry)).values())
        await self._delete_items(found)
        return sum(1 for item in found if self._is_live(item))

    async def _delete_items(self, items: list[Item]) -> None:
        keys = [{COLLECTION: item[COLLECTION], KEY: item[KEY]} for item in items]
        await self._batch_write([{"DeleteRequest": {"Key": key}} for key in keys])

    def _is_live(self, item: Item) -> bool:
        expires_at = self._layout.item_expiry(item)
        return expires_at is None or expires_at > self.clock()

    # -- conditional writes ---------------------------------------------------------------------

    async def _get_versioned(self, collection: str, key: str) -> VersionedEntry | None:
        item = await (await self._table()).get(self._layout.item_key(collection, key))
        now = self.clock()
        if self._live_etag(item, now) is ABSENT:
            return None
        assert item is not None
        entry, written_at = self._layout.decode_written(item)
        remaining = None if entry.expires_at is None else entry.expires_at - now
        return VersionedEntry(entry.value, item_etag(item), remaining, written_at)

    async def _put_if(
        self,
        collection: str,
        key: str,
        value: str | Joker,
        *,
        etag: str | Absent,
        condition: Condition,
        ttl: float | None,
        expires_at: float | None,
        retrieve: bool,
    ) -> ConditionalResult:
        now = self.clock()
        item_key = self._layout.item_key(collection, key)
        if value is Joker.KEEP_CURRENT and (expires_at is None or (etag is ABSENT and condition is Condition.SAME)):
            item = await (await self._table()).get(item_key)  # nothing can change: a read decides
            return self._decided(item, now, condition, etag, retrieve=retrieve)
        if condition is not Condition.ANY and isinstance(etag, str) and etag.startswith(CONTENT_ETAG_MARK):
            return await self._put_if_read_first(
                collection, key, value, etag=etag, condition=condition, expires_at=expires_at, retrieve=retrieve
            )
        guard = self._guard(condition, etag, now)
        known: str | Absent | None = etag if condition is Condition.SAME else None
        return await self._apply(
            collection,
            key,
            value,
            guard,
            condition=condition,
            etag=etag,
            known=known,
            expires_at=expires_at,
            now=now,
            retrieve=retrieve,
        )

    async def _put_if_read_first(
        self,
        collection: str,
        key: str,
        value: str | Joker,
        *,
        etag: str,
        condition: Condition,
        expires_at: float | None,
        retrieve: bool,
    ) -> ConditionalResult:
        """`_put_if` expecting a content ETag: read the item, decide, write if it is still the same; again if not."""
        table = await self._table()
        item_key = self._layout.item_key(collection, key)
        while True:
            now = self.clock()
            item = await table.get(item_key)
            actual = self._live_etag(item, now)
            if not holds(condition, etag, actual):
                return self._unchanged(item, now, satisfied=False, retrieve=retrieve)
            if value is Joker.KEEP_CURRENT and actual is ABSENT:
                return self._unchanged(item, now, satisfied=True, retrieve=retrieve)
            result = await self._apply(
                collection,
                key,
                value,
                self._pin(item),
                condition=condition,
                etag=etag,
                known=actual,
                expires_at=expires_at,
                now=now,
                retrieve=retrieve,
            )
            if result.satisfied:
                return result
            # Another write came between the read and this one: decide again on what it left.

    async def _apply(
        self,
        collection: str,
        key: str,
        value: str | Joker,
        guard: Expression | None,
        *,
        condition: Condition,
        etag: str | Absent,
        known: str | Absent | None,
        expires_at: float | None,
        now: float,
        retrieve: bool,
    ) -> ConditionalResult:
        """One conditional write under `guard`; `known`: the entry's ETag if the guard held (None: learn it)."""
        table = await self._table()
        item_key = self._layout.item_key(collection, key)
        if value is Joker.DELETE_CURRENT:
            outcome = await table.delete_if(item_key, guard, old=known is None)
            if not outcome.written:
                return self._unchanged(outcome.item, now, satisfied=False, retrieve=retrieve)
            actual = self._live_etag(outcome.item, now) if known is None else known
            return ConditionalResult(
                satisfied=True, actual_etag=actual, resulting_etag=ABSENT, value=None if retrieve else NOT_RETRIEVED
            )
        if value is Joker.KEEP_CURRENT:
            assert expires_at is not None
            return await self._refresh(
                item_key,
                guard,
                condition=condition,
                etag=etag,
                known=known,
                expires_at=expires_at,
                now=now,
                retrieve=retrieve,
            )
        new = new_etag()
        item = self._layout.encode_item(collection, key, value, expires_at, new)
        outcome = await table.put_if(item, guard, old=known is None)
        if not outcome.written:
            return self._unchanged(outcome.item, now, satisfied=False, retrieve=retrieve)
        actual = self._live_etag(outcome.item, now) if known is None else known
        return ConditionalResult(
            satisfied=True,
            actual_etag=actual,
            resulting_etag=new,
            value=decode_value(value) if retrieve else NOT_RETRIEVED,
        )

    async def _refresh(
        self,
        item_key: Item,
        guard: Expression | None,
        *,
        condition: Condition,
        etag: str | Absent,
        known: str | Absent | None,
        expires_at: float,
        now: float,
        retrieve: bool,
    ) -> ConditionalResult:
        """KEEP_CURRENT with a TTL: set the expiry of a live entry only (an UpdateItem), if `guard` holds."""
        attributes = self._layout.expiry_attributes(expires_at)
        sets = [(f"#set{n}", name, f":set{n}", attribute) for n, (name, attribute) in enumerate(attributes.items())]
        update = Expression(
            "SET " + ", ".join(f"{placeholder} = {value}" for placeholder, _, value, _ in sets),
            {placeholder: name for placeholder, name, _, _ in sets},
            {value: attribute for _, _, value, attribute in sets},
        )
        live = self._live_guard(now)
        outcome = await (await self._table()).update_if(
            item_key, update, live if guard is None else guard & live, new=retrieve or known is None
        )
        if outcome.written:  # the item returned (if asked for) has the new expiry, the ETag it had
            actual = self._live_etag(outcome.item, now) if known is None else known
            return self._unchanged(outcome.item, now, satisfied=True, retrieve=retrieve, etag=actual)
        # Refused: the condition failed, or it held on an absent entry (nothing to refresh).
        return self._decided(outcome.item, now, condition, etag, retrieve=retrieve)

    def _decided(
        self, item: Item | None, now: float, condition: Condition, etag: str | Absent, *, retrieve: bool
    ) -> ConditionalResult:
        """The result of a call that changed nothing, the condition decided on `item` (as it was checked)."""
        actual = self._live_etag(item, now)
        return self._unchanged(item, now, satisfied=holds(condition, etag, actual), retrieve=retrieve, etag=actual)

    def _unchanged(
        self, item: Item | None, now: float, *, satisfied: bool, retrieve: bool, etag: str | Absent | None = None
    ) -> ConditionalResult:
        """The result of a call that left `item` as it is (or only refreshed its expiry)."""
        actual = self._live_etag(item, now) if etag is None else etag
        if not retrieve:
            return ConditionalResult(satisfied, actual, actual, NOT_RETRIEVED)
        value = None if actual is ABSENT or item is None else self._layout.decode_entry(item).value
        return ConditionalResult(satisfied, actual, actual, value)

    def _live_etag(self, item: Item | None, now: float) -> str | Absent:
        """The ETag of `item` if it is live at `now`, else ABSENT (no item, or expired)."""
        if item is None:
            return ABSENT
        expires_at = self._layout.item_expiry(item)
        return item_etag(item) if expires_at is None or expires_at > now else ABSENT

    def _live_guard(self, now: float) -> Expression:
        """The condition "there is a live item" at `now`."""
        live, values = self._layout.live_condition(now)
        return Expression(f"attribute_exists(#key) AND ({live})", {"#key": KEY, **self._layout.expiry_names}, values)

    def _guard(self, condition: Condition, etag: str | Absent, now: float) -> Expression | None:
        """The condition expression of `holds(condition, etag, current ETag)`; None for ANY (no condition)."""
        if condition is Condition.ANY:
            return None
        live, values = self._layout.live_condition(now)
        if etag is ABSENT:
            if condition is Condition.CHANGED:
                return self._live_guard(now)
            names = {"#key": KEY, **self._layout.expiry_names}
            return Expression(f"attribute_not_exists(#key) OR NOT ({live})", names, values)
        names = {"#etag": ETAG, **self._layout.expiry_names}
        values = {**values, ":etag": {"S": etag}}
        if condition is Condition.SAME:
            return Expression(f"#etag = :etag AND ({live})", names, values)
        return Expression(f"attribute_not_exists(#etag) OR #etag <> :etag OR NOT ({live})", names, values)

    def _pin(self, item: Item | None) -> Expression:
        """The condition "the item is still the one read" (its `etag`, else its value; None: still missing)."""
        if item is None:
            return _MISSING
        if ETAG in item:
            return Expression("#etag = :etag", {"#etag": ETAG}, {":etag": item[ETAG]})
        names = {"#etag": ETAG, "#value": VALUE}
        return Expression("attribute_not_exists(#etag) AND #value = :value", names, {":value": item[VALUE]})

    # -- enumeration and destruction ------------------------------------------------------------

    def _live_only(self, expression: str, names: dict[str, str]) -> Projection:
        """`expression` for the items that have not expired by this store's clock."""
        condition, values = self._layout.live_condition(self.clock())
        expiry = self._layout.expiry_names
        return Projection(", ".join((expression, *expiry)), {**names, **expiry}, condition, values)

    async def _keys(self, collection: str, *, limit: int | None) -> list[str]:
        table = await self._table()
        projection = self._live_only("#k, #kn", {"#k": KEY, "#kn": KEY_NAME})
        partition = self._layout.stored_collection(collection)
        keys: list[str] = []
        start: Item | None = None
        while True:
            page = await table.query_page(partition, projection, start, limit=self.page_items)
            keys.extend(self._layout.raw_key(item) for item in page.items)
            if page.next_start is None or (limit is not None and len(keys) >= limit):
                return keys if limit is None else keys[:limit]
            start = page.next_start

    async def _collections(self, *, limit: int | None) -> list[str]:
        table = await self._table()
        projection = self._live_only("#c, #cn", {"#c": COLLECTION, "#cn": COLLECTION_NAME})
        names: dict[str, str] = {}  # stored name -> raw name, in the order found
        start: Item | None = None
        while True:
            page = await table.scan_page(projection, start, limit=self.page_items)
            for item in page.items:
                names.setdefault(item[COLLECTION]["S"], self._layout.raw_collection(item))
            if page.next_start is None or (limit is not None and len(names) >= limit):
                found = list(names.values())
                return found if limit is None else found[:limit]
            start = page.next_start

    async def _destroy(self) -> bool:
        table = await self._table()
        items: list[Item] = []
        start: Item | None = None
        while True:  # every key first, then the deletes: a scan is not disturbed by its own deletions
            page = await table.scan_page(_KEYS_ONLY, start, limit=self.page_items)
            items.extend(page.items)
            if page.next_start is None:
                break
            start = page.next_start
        await self._delete_items(items)
        return bool(items)

    async def _destroy_collection(self, collection: str) -> bool:
        table = await self._table()
        partition = self._layout.stored_collection(collection)
        items: list[Item] = []
        start: Item | None = None
        while True:
            page = await table.query_page(partition, _KEYS_ONLY, start, limit=self.page_items)
            items.extend(page.items)
            if page.next_start is None:
                break
            start = page.next_start
        await self._delete_items(items)
        return bool(items)

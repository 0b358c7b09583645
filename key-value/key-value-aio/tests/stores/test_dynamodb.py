"""DynamoDBStore against moto in server mode: the contract, the table and item layout, batching and clients.

A plain boto3 client looks behind the store's back in both twins; request counts come from botocore's
event hooks on a client the test gives the store.
"""

from __future__ import annotations

import json
import math
import secrets
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aioboto3
import pytest

from key_value.aio.conditional import ABSENT, ANY, CHANGED, DELETE_CURRENT, KEEP_CURRENT, Atomicity
from key_value.aio.stores._aws import MAX_CONCURRENCY
from key_value.aio.stores.dynamodb import DynamoDBStore
from key_value.shared.capabilities import Capability
from key_value.shared.errors import (
    InvalidArgumentError,
    StoreConnectionError,
    StoreSetupError,
    ValueTooLargeError,
)
from key_value.shared.layouts.dynamodb import Item, NativeDynamoDBLayout
from testing.servers._process import free_port
from testing.servers.moto_server import MotoServer

from ..support.aws_helpers import RequestCounter, aws_client, raw_client
from ..support.contract import ContractTests
from ..support.server_checks import check_unanswered_request_times_out, check_used_from_two_event_loops

TABLE = "kv-test-table"


def store_options(moto_server: MotoServer) -> dict[str, Any]:
    """The constructor keywords of the store under test, as JSON (for the cross-process race)."""
    return {"table_name": TABLE, "endpoint_url": moto_server.endpoint_url, **moto_server.credentials}


def make_store(moto_server: MotoServer, **options: Any) -> DynamoDBStore:
    return DynamoDBStore(**store_options(moto_server), **options)


@pytest.fixture
def raw(moto_server: MotoServer) -> Iterator[Any]:
    """A plain boto3 client, to look at the table behind the store's back."""
    client = raw_client(moto_server, "dynamodb")
    yield client
    client.close()


def all_items(raw: Any) -> list[dict[str, Any]]:
    pages = raw.get_paginator("scan").paginate(TableName=TABLE, ConsistentRead=True)
    return [item for page in pages for item in page["Items"]]


def frozen_clock(store: DynamoDBStore) -> list[float]:
    """Make `store` read the time from the returned one-element list."""
    now = [time.time()]
    store.clock = lambda: now[0]
    return now


class TestDynamoDBStore(ContractTests):
    race_increments = 10  # moto answers a request in ~3-5 ms, one at a time here: 8 x 10 contended transforms
    race_tasks, race_rounds = 8, 4  # 8 tasks x 4 within one process: moto answers one request at a time
    #: moto answers one request at a time, ~3-5 ms each: three listing pages of 100 objects, 20 tasks at once.
    enumeration_count = 250
    concurrent_workers = 20

    @pytest.fixture
    async def store(self, moto_server: MotoServer) -> AsyncIterator[DynamoDBStore]:
        moto_server.reset()
        store = make_store(moto_server)
        store.page_items = 100
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, moto_server: MotoServer, serial_moto_server: MotoServer) -> dict[str, Any]:
        return store_options(moto_server) | {"endpoint_url": serial_moto_server.endpoint_url}

    @pytest.fixture
    async def race_store(self, store_options: dict[str, Any]) -> AsyncIterator[DynamoDBStore]:
        """The races run on the serial moto (moto's threaded server checks conditions without a lock)."""
        async with DynamoDBStore(**store_options) as serial:
            await serial.delete_many(["counter", "lock", "across"], collection="race")
            yield serial


class MarkedDynamoDBLayout(NativeDynamoDBLayout):
    """The native layout with every partition key marked, to prove the store goes through its layout."""

    def stored_collection(self, collection: str) -> str:
        return "@" + super().stored_collection(collection)

    def raw_collection(self, item: Item) -> str:
        return super().raw_collection(item).removeprefix("@")


class TestDynamoDBStoreWithLayout(ContractTests):
    race_tasks, race_rounds = 8, 4  # 8 tasks x 4 within one process: moto answers one request at a time
    #: moto answers one request at a time, ~3-5 ms each: three listing pages of 100 objects, 20 tasks at once.
    enumeration_count = 250
    concurrent_workers = 20

    @pytest.fixture
    async def race_store(self, moto_server: MotoServer, serial_moto_server: MotoServer) -> AsyncIterator[DynamoDBStore]:
        """The races run on the moto that answers one request at a time (moto's threaded server checks
        conditions without a lock)."""
        options: dict[str, Any] = store_options(moto_server) | {"endpoint_url": serial_moto_server.endpoint_url}
        async with DynamoDBStore(**options, layout=MarkedDynamoDBLayout()) as serial:
            await serial.delete_many(["counter", "lock", "across"], collection="race")
            yield serial

    @pytest.fixture
    async def store(self, moto_server: MotoServer) -> AsyncIterator[DynamoDBStore]:
        moto_server.reset()
        store = make_store(moto_server, layout=MarkedDynamoDBLayout())
        store.page_items = 100
        yield store
        await store.close()

    async def test_items_follow_the_layout(self, store: DynamoDBStore, raw: Any) -> None:
        await store.put("k", {"v": 1}, collection="c")
        await store.put_many(["m"], [{"v": 2}], collection="c")
        assert sorted((item["collection"]["S"], item["key"]["S"]) for item in all_items(raw)) == [
            ("@c", "k"),
            ("@c", "m"),
        ]


class TestDynamoDBBehaviour:
    @pytest.fixture
    async def store(self, moto_server: MotoServer) -> AsyncIterator[DynamoDBStore]:
        moto_server.reset()
        store = make_store(moto_server)
        yield store
        await store.close()

    async def test_capabilities(self, store: DynamoDBStore) -> None:
        expected = Capability.KEYS | Capability.COLLECTIONS | Capability.DESTROY | Capability.DESTROY_COLLECTION
        assert store.capabilities == expected | Capability.CONDITIONAL
        assert store.atomicity is Atomicity.ACROSS_PROCESSES

    async def test_table_made_with_ttl(self, store: DynamoDBStore, raw: Any) -> None:
        await store.setup()
        table = raw.describe_table(TableName=TABLE)["Table"]
        assert {(key["AttributeName"], key["KeyType"]) for key in table["KeySchema"]} == {
            ("collection", "HASH"),
            ("key", "RANGE"),
        }
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        ttl = raw.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}

    async def test_item_layout(self, store: DynamoDBStore, raw: Any) -> None:
        now = frozen_clock(store)
        value = {"big": 2**70, "float": 1.0, "n": [1, 2.5]}
        await store.put("k", value, collection="c", ttl=10.25)
        await store.put("forever", {"v": 1}, collection="c")
        items = {item["key"]["S"]: item for item in all_items(raw)}
        etag = items["forever"].pop("etag")["S"]
        assert len(etag) == 16
        assert int(etag, 16) >= 0
        assert items["forever"] == {"collection": {"S": "c"}, "key": {"S": "forever"}, "value": {"S": '{"v":1}'}}
        expiring = items["k"]
        assert json.loads(expiring["value"]["S"]) == value
        assert float(expiring["expires_at"]["N"]) == now[0] + 10.25
        assert int(expiring["ttl"]["N"]) == math.ceil(now[0] + 10.25)
        now[0] += 0.25
        stored, remaining = await store.ttl("k", collection="c")
        assert stored is not None
        assert stored == value
        assert isinstance(stored["float"], float)
        assert remaining == 10.0

    async def test_long_and_marked_names_are_hashed(self, store: DynamoDBStore, raw: Any) -> None:
        names = ["é" * 600, "#tag", "k" * 1024]
        for name in names:
            await store.put(name, {"name": name}, collection="c" * 3000)
        items = all_items(raw)
        assert all(item["collection"]["S"].startswith("#") for item in items)
        stored = sorted(item["key"]["S"] for item in items)
        assert stored[2] == "k" * 1024  # fits the sort key as it is
        assert all(name.startswith("#") and len(name) == 65 for name in stored[:2])
        assert sorted(await store.keys("c" * 3000)) == sorted(names)
        assert await store.collections() == ["c" * 3000]
        assert await store.get_many(names, collection="c" * 3000) == [{"name": name} for name in names]

    async def test_large_values_are_compressed(self, store: DynamoDBStore, raw: Any) -> None:
        large = {"text": "word " * 200_000}
        await store.put("large", large)
        (item,) = all_items(raw)
        assert json.loads(zlib.decompress(item["value"]["B"])) == large
        assert await store.get("large") == large

    async def test_too_large_value_writes_nothing(self, store: DynamoDBStore, raw: Any) -> None:
        noise = {"noise": secrets.token_hex(300_000)}  # 600 KB of hex: about 300 KB compressed
        await store.put("fits", noise)
        unfit = {"noise": secrets.token_hex(500_000)}
        with pytest.raises(ValueTooLargeError):
            await store.put("big", unfit)
        with pytest.raises(ValueTooLargeError):
            await store.put_many(["a", "big"], [{"v": 1}, unfit])
        assert [item["key"]["S"] for item in all_items(raw)] == ["fits"]

    async def test_expired_items_are_hidden_until_reclaimed(self, store: DynamoDBStore, raw: Any) -> None:
        now = frozen_clock(store)
        await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}], ttl=10, collection="c")
        await store.put("old", {"v": 3}, ttl=10, collection="gone")
        now[0] += 10.001
        assert await store.get_many(["a", "b"], collection="c") == [None, None]
        assert await store.keys("c") == []
        assert await store.collections() == []
        assert len(all_items(raw)) == 3  # still there, for DynamoDB's TTL to reclaim
        assert await store.delete("a", collection="c") is False
        assert await store.delete_many(["b", "missing"], collection="c") == 0
        assert len(all_items(raw)) == 1

    async def test_listings_ask_for_pages_of_page_items(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        keys = [f"k{i:02d}" for i in range(50)]
        async with aws_client(moto_server, "dynamodb") as client:
            counter = RequestCounter(client)
            store = DynamoDBStore(table_name=TABLE, client=client)
            store.page_items = 20
            await store.put_many(keys, [{"v": 1}] * 50)
            counter.reset()
            assert sorted(await store.keys()) == keys
            assert counter.sent == {"Query": 3}
            await store.close()

    async def test_bulk_calls_batch(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        keys = [f"key-{i}" for i in range(100)]
        async with aws_client(moto_server, "dynamodb") as client:
            counter = RequestCounter(client)
            store = DynamoDBStore(table_name=TABLE, client=client)
            await store.setup()
            counter.reset()
            await store.put_many(keys, [{"i": i} for i in range(100)], ttl=60)
            assert counter.sent == {"BatchWriteItem": 4}
            assert 1 < counter.peak <= MAX_CONCURRENCY
            counter.reset()
            assert await store.get_many([*keys, "missing"]) == [*({"i": i} for i in range(100)), None]
            assert counter.sent == {"BatchGetItem": 2}
            counter.reset()
            assert await store.get_many(keys[:100]) == [{"i": i} for i in range(100)]
            assert counter.sent == {"BatchGetItem": 1}
            counter.reset()
            assert [value for value, _ in await store.ttl_many(keys)] == [{"i": i} for i in range(100)]
            assert counter.sent == {"BatchGetItem": 1}
            counter.reset()
            assert await store.delete_many([*keys[:90], "missing"]) == 90
            assert counter.sent == {"BatchGetItem": 1, "BatchWriteItem": 4}
            counter.reset()
            assert len(await store.keys()) == 10
            assert counter.sent == {"Query": 1}
            counter.reset()
            assert await store.destroy() is True
            assert counter.sent == {"Scan": 1, "BatchWriteItem": 1}
            await store.close()

    # aiohttp hints that request bodies over 1 MB (25 items of 300 KB here) could be streamed instead.
    @pytest.mark.filterwarnings("ignore:Sending a large body directly:ResourceWarning")
    async def test_unprocessed_keys_are_fetched_again(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        values = [{"noise": secrets.token_hex(150_000)} for _ in range(60)]  # 300 KB each: 18 MB in all
        keys = [f"key-{i}" for i in range(60)]
        async with aws_client(moto_server, "dynamodb") as client:
            counter = RequestCounter(client)
            store = DynamoDBStore(table_name=TABLE, client=client)
            await store.put_many(keys, values)
            counter.reset()
            assert await store.get_many(keys) == values  # a reply holds at most 16 MB: the rest comes back
            assert counter.sent["BatchGetItem"] >= 2
            await store.close()

    async def test_destroy_keeps_the_table(self, moto_server: MotoServer, store: DynamoDBStore, raw: Any) -> None:
        other = DynamoDBStore(
            table_name="other-table", endpoint_url=moto_server.endpoint_url, **moto_server.credentials
        )
        await other.put("a", {"v": 0}, collection="one")
        await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}], collection="one")
        await store.put("c", {"v": 3}, collection="two")
        assert await store.destroy_collection("one") is True
        assert [item["key"]["S"] for item in all_items(raw)] == ["c"]
        assert await store.destroy() is True
        assert all_items(raw) == []
        assert raw.describe_table(TableName=TABLE)["Table"]["TableStatus"] == "ACTIVE"
        assert await store.destroy() is False
        assert await other.get("a", collection="one") == {"v": 0}
        await other.close()

    async def test_table_config_and_existing_table(self, moto_server: MotoServer, raw: Any) -> None:
        moto_server.reset()
        throughput = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        config = {"BillingMode": "PROVISIONED", "ProvisionedThroughput": throughput}
        async with make_store(moto_server, table_config=config) as store:
            await store.put("key", {"v": 1})
        table = raw.describe_table(TableName=TABLE)["Table"]
        assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
        raw.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"Enabled": False, "AttributeName": "ttl"})
        async with make_store(moto_server, auto_create=False) as store:
            assert await store.get("key") == {"v": 1}
        assert raw.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"

    async def test_missing_table_without_auto_create(self, moto_server: MotoServer, raw: Any) -> None:
        moto_server.reset()
        store = make_store(moto_server, auto_create=False)
        with pytest.raises(StoreSetupError):
            await store.get("key")
        await store.close()
        assert raw.list_tables()["TableNames"] == []

    async def test_given_client_is_not_closed(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        async with aws_client(moto_server, "dynamodb") as client:
            async with DynamoDBStore(table_name=TABLE, client=client) as store:
                await store.put("key", {"v": 1})
            assert (await client.describe_table(TableName=TABLE))["Table"]["ItemCount"] == 1

    async def test_given_session(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        session = aioboto3.Session(**moto_server.credentials)
        async with DynamoDBStore(table_name=TABLE, session=session, endpoint_url=moto_server.endpoint_url) as store:
            await store.put("key", {"v": 1})
            assert await store.get("key") == {"v": 1}

    def test_bad_settings(self, moto_server: MotoServer) -> None:
        with pytest.raises(InvalidArgumentError):
            make_store(moto_server, table_config={"KeySchema": []})
        with pytest.raises(InvalidArgumentError):
            DynamoDBStore(table_name="")
        client = raw_client(moto_server, "dynamodb")
        with pytest.raises(InvalidArgumentError):
            DynamoDBStore(table_name=TABLE, client=client, region_name="us-east-1")
        client.close()

    async def test_refused_connection(self, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        endpoint = f"http://127.0.0.1:{free_port()}"
        store = DynamoDBStore(table_name=TABLE, endpoint_url=endpoint, **moto_server.credentials)
        with pytest.raises(StoreConnectionError):
            await store.get("key")
        await store.close()

    async def test_unanswered_request_times_out(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        async with aws_client(moto_server, "dynamodb", read_timeout=0.5, retries={"max_attempts": 1}) as client:
            store = DynamoDBStore(table_name=TABLE, client=client)
            await check_unanswered_request_times_out(store, moto_server.process, bulk=True)
            await store.close()

    def test_used_from_two_event_loops(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        check_used_from_two_event_loops(make_store(moto_server))


class TestDynamoDBConditional:
    """What the contract cannot see: one request per call, the loser's reply, items without an `etag`."""

    async def test_one_request_per_call(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        async with aws_client(moto_server, "dynamodb") as client:
            counter = RequestCounter(client)
            store = DynamoDBStore(table_name=TABLE, client=client)
            await store.setup()
            counter.reset()
            first = await store.put_if("k", {"v": 1}, etag=ABSENT)
            assert first.satisfied
            assert isinstance(first.resulting_etag, str)
            assert counter.sent == {"PutItem": 1}
            counter.reset()
            lost = await store.put_if("k", {"v": 2}, etag=ABSENT)  # the loser gets the winner's entry
            assert (lost.satisfied, lost.actual_etag, lost.value) == (False, first.resulting_etag, {"v": 1})
            assert counter.sent == {"PutItem": 1}
            counter.reset()
            changed = await store.put_if("k", {"v": 3}, etag="other", condition=CHANGED)
            assert changed.actual_etag == first.resulting_etag
            assert counter.sent == {"PutItem": 1}
            counter.reset()
            refreshed = await store.put_if("k", KEEP_CURRENT, etag=changed.resulting_etag, ttl=60)
            assert (refreshed.satisfied, refreshed.resulting_etag, refreshed.value) == (
                True,
                changed.resulting_etag,
                {"v": 3},
            )
            assert counter.sent == {"UpdateItem": 1}
            counter.reset()
            assert (await store.put_if("k", KEEP_CURRENT, etag=ABSENT, condition=ANY)).satisfied
            assert counter.sent == {"GetItem": 1}
            counter.reset()
            deleted = await store.delete_if("k", etag=first.resulting_etag, condition=CHANGED)
            assert (deleted.satisfied, deleted.actual_etag) == (True, changed.resulting_etag)
            assert counter.sent == {"DeleteItem": 1}
            await store.close()

    async def test_expiry_is_decided_with_the_write(self, moto_server: MotoServer, raw: Any) -> None:
        moto_server.reset()
        async with make_store(moto_server) as store:
            now = frozen_clock(store)
            await store.put("k", {"v": 1}, ttl=10)
            entry = await store.get_entry("k")
            assert entry is not None
            assert entry.written_at is None  # the native items do not record it
            now[0] += 10  # expired by the store's clock: the item is still in the table
            assert not (await store.put_if("k", {"v": 2}, etag=entry.etag)).satisfied
            assert not (await store.put_if("k", KEEP_CURRENT, etag=entry.etag, ttl=100)).satisfied
            inserted = await store.put_if("k", {"v": 3}, etag=ABSENT)
            assert (inserted.satisfied, inserted.actual_etag) == (True, ABSENT)
            (item,) = all_items(raw)
            assert item["value"] == {"S": '{"v":3}'}
            assert "expires_at" not in item

    async def test_items_without_etag(self, moto_server: MotoServer, raw: Any) -> None:
        """Items written before the `etag` attribute: an ETag from their content, conditional writes still safe."""
        moto_server.reset()
        async with make_store(moto_server) as store:
            await store.setup()
            raw.put_item(TableName=TABLE, Item={"collection": {"S": "c"}, "key": {"S": "k"}, "value": {"S": '{"v":1}'}})
            entry = await store.get_entry("k", collection="c")
            assert entry is not None
            assert entry.etag.startswith("~")
            again = await store.get_entry("k", collection="c")
            assert again is not None
            assert again.etag == entry.etag
            raw.put_item(TableName=TABLE, Item={"collection": {"S": "c"}, "key": {"S": "k"}, "value": {"S": '{"v":2}'}})
            stale = await store.put_if("k", {"v": 3}, etag=entry.etag, collection="c")
            assert not stale.satisfied
            assert stale.value == {"v": 2}
            assert isinstance(stale.actual_etag, str)
            assert not (await store.delete_if("k", etag=entry.etag, collection="c")).satisfied
            assert (await store.put_if("k", KEEP_CURRENT, etag=stale.actual_etag, ttl=60, collection="c")).satisfied
            current = await store.get_entry("k", collection="c")
            assert current is not None
            assert current.ttl is not None
            written = await store.put_if("k", {"v": 4}, etag=current.etag, collection="c")
            assert written.satisfied
            assert written.actual_etag == current.etag
            (item,) = all_items(raw)
            assert item["etag"]["S"] == written.resulting_etag
            raw.delete_item(TableName=TABLE, Key={"collection": {"S": "c"}, "key": {"S": "k"}})
            gone = await store.put_if("k", DELETE_CURRENT, etag=current.etag, condition=CHANGED, collection="c")
            assert (gone.satisfied, gone.actual_etag, gone.resulting_etag) == (True, ABSENT, ABSENT)

"""S3Store against moto in server mode: the contract, the object layout, expiry, batching and client handling.

A plain boto3 client looks behind the store's back in both twins; request counts come from botocore's
event hooks on a client the test gives the store.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aioboto3
import pytest

from key_value.aio.stores._aws import MAX_CONCURRENCY
from key_value.aio.stores.s3 import S3Store
from key_value.aio.stores.s3.bucket import S3Bucket
from key_value.shared.capabilities import Capability
from key_value.shared.errors import InvalidArgumentError, StoreConnectionError, StoreSetupError
from key_value.shared.layouts.s3 import NativeS3Layout
from testing.servers._process import free_port
from testing.servers.moto_server import MotoServer

from ..support.aws_helpers import RequestCounter, aws_client, raw_client
from ..support.contract import ContractTests
from ..support.server_checks import check_unanswered_request_times_out, check_used_from_two_event_loops

BUCKET = "kv-test-bucket"


def make_store(moto_server: MotoServer, **options: Any) -> S3Store:
    return S3Store(bucket_name=BUCKET, endpoint_url=moto_server.endpoint_url, **moto_server.credentials, **options)


@pytest.fixture
def raw(moto_server: MotoServer) -> Iterator[Any]:
    """A plain boto3 client, to look at the bucket behind the store's back."""
    client = raw_client(moto_server, "s3")
    yield client
    client.close()


def object_keys(raw: Any, prefix: str = "") -> list[str]:
    paginator = raw.get_paginator("list_objects_v2")
    return sorted(
        item["Key"] for page in paginator.paginate(Bucket=BUCKET, Prefix=prefix) for item in page.get("Contents", [])
    )


def frozen_clock(store: S3Store) -> list[float]:
    """Make `store` read the time from the returned one-element list."""
    now = [time.time()]
    store.clock = lambda: now[0]
    return now


class ShelvedCollections(NativeS3Layout):
    """A layout that files each collection under `shelf-` + its native component (no test name starts so)."""

    def collection_prefix(self, prefix: str, collection: str) -> str:
        return super().collection_prefix(prefix + "shelf-", collection)

    def decode_component(self, component: str) -> str | None:
        return super().decode_component(component.removeprefix("shelf-"))


class TestS3Store(ContractTests):
    etag_from_content = True  # the S3 ETag: the body's MD5
    race_increments = 10  # each transform is three requests on moto, which answers them one at a time here
    race_tasks, race_rounds = 8, 4  # 8 tasks x 4 within one process: moto answers one request at a time
    #: moto answers one request at a time, ~3-5 ms each: three listing pages of 100 objects, 20 tasks at once.
    enumeration_count = 250
    concurrent_workers = 20

    @pytest.fixture
    async def store(self, moto_server: MotoServer) -> AsyncIterator[S3Store]:
        moto_server.reset()
        store = make_store(moto_server)
        store.listing_page_keys = 100
        yield store
        await store.close()

    @pytest.fixture
    def store_options(self, serial_moto_server: MotoServer) -> dict[str, Any]:
        """The race's processes use the moto that answers one request at a time (`serial_moto_server`)."""
        return {
            "bucket_name": BUCKET,
            "endpoint_url": serial_moto_server.endpoint_url,
            **serial_moto_server.credentials,
        }

    @pytest.fixture
    async def race_store(self, store_options: dict[str, Any]) -> AsyncIterator[S3Store]:
        """The races run on the serial moto (moto's threaded server checks preconditions without a lock)."""
        async with S3Store(**store_options) as serial:
            await serial.delete_many(["counter", "lock", "across"], collection="race")
            yield serial


class TestS3Behaviour:
    @pytest.fixture
    async def store(self, moto_server: MotoServer) -> AsyncIterator[S3Store]:
        moto_server.reset()
        store = make_store(moto_server)
        yield store
        await store.close()

    async def test_capabilities(self, store: S3Store) -> None:
        everything = (
            Capability.KEYS
            | Capability.COLLECTIONS
            | Capability.DESTROY
            | Capability.DESTROY_COLLECTION
            | Capability.CULL
            | Capability.CONDITIONAL
        )
        assert store.capabilities == everything

    async def test_object_layout(self, store: S3Store, raw: Any) -> None:
        await store.put("a/b", {"v": 1}, collection="Users")
        await store.put("plain", {"v": 2}, collection="users", ttl=60)
        assert object_keys(raw) == ["%55sers/a%2Fb", "users/plain"]
        forever = raw.get_object(Bucket=BUCKET, Key="%55sers/a%2Fb")
        body = forever["Body"].read()
        assert json.loads(body) == {"collection": "Users", "key": "a/b", "expires_at": None, "value": {"v": 1}}
        assert len(body) % 2 == 0
        assert forever["Metadata"] == {}
        assert forever["ContentType"] == "application/json"
        expiring = raw.get_object(Bucket=BUCKET, Key="users/plain")
        body = expiring["Body"].read()
        assert len(body) % 2 == 1
        expires_at = float(expiring["Metadata"]["expires-at"])
        assert json.loads(body)["expires_at"] == expires_at
        assert 59 < expires_at - time.time() <= 60

    async def test_injected_layouts_name_the_objects(self, moto_server: MotoServer, raw: Any) -> None:
        moto_server.reset()
        native, shelved = (
            make_store(moto_server, layout=NativeS3Layout()),
            make_store(moto_server, layout=ShelvedCollections()),
        )
        await native.put("plain", {"v": 1}, collection="users")
        await shelved.put_many(["a", "b"], [{"v": 2}, {"v": 3}], collection="users", ttl=60)
        assert object_keys(raw) == ["shelf-users/a", "shelf-users/b", "users/plain"]
        assert await shelved.get("a", collection="users") == {"v": 2}
        assert await shelved.keys("users") == ["a", "b"]
        assert await native.keys("users") == ["plain"]
        assert await native.get("a", collection="users") is None
        assert await shelved.delete("b", collection="users") is True
        assert object_keys(raw) == ["shelf-users/a", "users/plain"]
        for store in (native, shelved):
            await store.close()

    async def test_long_names_are_hashed_within_the_key_limit(self, moto_server: MotoServer, raw: Any) -> None:
        moto_server.reset()
        prefix = "p" * 255  # the longest prefix: 256 bytes with its "/"
        store = make_store(moto_server, prefix=prefix)
        collection, key = "ü" * 700, "🙂" * 600
        await store.put(key, {"v": 1}, collection=collection)
        await store.put("short", {"v": 2}, collection=collection)
        (long_name, short_name) = sorted(object_keys(raw), key=len, reverse=True)
        assert len(long_name.encode()) <= 1024
        assert short_name.endswith("/short")
        assert await store.get(key, collection=collection) == {"v": 1}
        assert sorted(await store.keys(collection)) == sorted([key, "short"])
        assert await store.collections() == [collection]
        with pytest.raises(InvalidArgumentError):
            make_store(moto_server, prefix="p" * 256)
        await store.close()

    async def test_prefix_keeps_stores_apart(self, moto_server: MotoServer, raw: Any) -> None:
        foreign = ["apps/readme.txt", "apps/UPPER/x", "apps/c/x/y/z", "other/c/k", "apps/c.d/k", "appsc/k.json"]
        moto_server.reset()
        raw.create_bucket(Bucket=BUCKET)
        for name in foreign:
            raw.put_object(Bucket=BUCKET, Key=name, Body=b"theirs")
        outer, inner, bare = (
            make_store(moto_server, prefix="apps"),
            make_store(moto_server, prefix="apps/c/"),
            make_store(moto_server),
        )
        await outer.put("k", {"who": "outer"}, collection="c")
        await inner.put("k", {"who": "inner"}, collection="c")
        await bare.put("k", {"who": "bare"}, collection="c")
        for store, who in ((outer, "outer"), (inner, "inner"), (bare, "bare")):
            assert await store.get("k", collection="c") == {"who": who}
            assert await store.keys("c") == ["k"]
            assert await store.collections() == ["c"]
        assert await outer.destroy() is True
        assert await outer.collections() == []
        assert await inner.get("k", collection="c") == {"who": "inner"}
        assert await bare.destroy_collection("c") is True
        assert sorted([*foreign, "apps/c/c/k"]) == object_keys(raw)
        await inner.cull()
        assert await inner.destroy() is True
        assert object_keys(raw) == sorted(foreign)
        for store in (outer, inner, bare):
            await store.close()

    async def test_expired_object_is_deleted_when_read(self, store: S3Store, raw: Any) -> None:
        now = frozen_clock(store)
        await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}], ttl=10)
        await store.put("c", {"v": 3}, ttl=10)
        now[0] += 10.001
        assert await store.get("a") is None
        assert await store.ttl_many(["b", "c"]) == [(None, None), (None, None)]
        assert object_keys(raw) == []

    async def test_delete_of_expired_object_is_false(self, store: S3Store, raw: Any) -> None:
        now = frozen_clock(store)
        await store.put_many(["a", "b", "c"], [{"v": 1}] * 3, ttl=10)
        await store.put("d", {"v": 4})
        now[0] += 11
        assert await store.delete("a") is False
        assert await store.delete_many(["b", "c", "d", "missing"]) == 1
        assert object_keys(raw) == []

    async def test_cull_removes_only_expired_objects(self, store: S3Store, raw: Any) -> None:
        now = frozen_clock(store)
        await store.put_many([f"old-{i}" for i in range(5)], [{"v": 1}] * 5, ttl=10, collection="one")
        await store.put("young", {"v": 2}, ttl=100, collection="one")
        await store.put("forever", {"v": 3}, collection="two")
        raw.put_object(Bucket=BUCKET, Key="foreign", Body=b"theirs")
        now[0] += 50
        await store.cull()
        assert object_keys(raw) == ["foreign", "one/young", "two/forever"]
        assert await store.keys("one") == ["young"]

    async def test_expired_delete_spares_a_rewritten_object(self, moto_server: MotoServer, store: S3Store) -> None:
        await store.put("key", {"v": 1})
        async with aws_client(moto_server, "s3") as client:
            bucket = S3Bucket(client, BUCKET)
            stored = await bucket.get("default_collection/key")
            assert stored is not None
            await store.put("key", {"v": 2})  # rewritten after it was read
            assert not await bucket.delete_if("default_collection/key", stored.etag)
            assert await store.get("key") == {"v": 2}
            fresh = await bucket.get("default_collection/key")
            assert fresh is not None
            assert await bucket.delete_if("default_collection/key", fresh.etag)
        assert await store.get("key") is None

    async def test_listings_ask_for_pages_of_listing_page_keys(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        async with aws_client(moto_server, "s3") as client:
            counter = RequestCounter(client)
            store = S3Store(bucket_name=BUCKET, client=client)
            store.listing_page_keys = 20
            await store.put_many([f"k{i:02d}" for i in range(50)], [{"v": 1}] * 50)
            counter.reset()
            assert await store.keys() == [f"k{i:02d}" for i in range(50)]
            assert counter.sent == {"ListObjectsV2": 3}
            await store.close()

    async def test_keys_checks_only_objects_that_can_expire(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        async with aws_client(moto_server, "s3") as client:
            counter = RequestCounter(client)
            store = S3Store(bucket_name=BUCKET, client=client)
            now = frozen_clock(store)
            await store.put_many([f"plain-{i}" for i in range(40)], [{"v": 1}] * 40)
            await store.put_many([f"ttl-{i}" for i in range(10)], [{"v": 2}] * 10, ttl=10)
            await store.put("k" * 600, {"v": 3})  # a hashed name: read from the body
            counter.reset()
            assert len(await store.keys()) == 51
            assert counter.sent == {"ListObjectsV2": 1, "HeadObject": 10, "GetObject": 1}
            now[0] += 11
            counter.reset()
            assert len(await store.keys()) == 41
            assert counter.sent == {"ListObjectsV2": 1, "HeadObject": 10, "GetObject": 1}
            await store.close()

    async def test_bulk_calls_batch_and_overlap(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        keys = [f"key-{i}" for i in range(100)]
        async with aws_client(moto_server, "s3") as client:
            counter = RequestCounter(client)
            store = S3Store(bucket_name=BUCKET, client=client)
            await store.setup()
            counter.reset()
            await store.put_many(keys, [{"i": i} for i in range(100)], ttl=60)
            assert counter.sent == {"PutObject": 100}
            assert 1 < counter.peak <= MAX_CONCURRENCY
            counter.reset()
            assert await store.get_many(keys) == [{"i": i} for i in range(100)]
            assert counter.sent == {"GetObject": 100}
            assert 1 < counter.peak <= MAX_CONCURRENCY
            counter.reset()
            assert [value for value, _ in await store.ttl_many(keys)] == [{"i": i} for i in range(100)]
            assert counter.sent == {"GetObject": 100}
            counter.reset()
            # A listing shows which objects exist; all of these have an expiry, so each gets a HEAD too.
            assert await store.delete_many([*keys, "missing"]) == 100
            assert counter.sent == {"ListObjectsV2": 1, "HeadObject": 100, "DeleteObjects": 1}
            assert 1 < counter.peak <= MAX_CONCURRENCY
            counter.reset()
            assert await store.delete_many(keys) == 0
            assert counter.sent == {"ListObjectsV2": 1}
            counter.reset()
            assert await store.delete_many(keys[:9]) == 0  # too few keys for a listing
            assert counter.sent == {"HeadObject": 9}
            await store.close()

    async def test_delete_many_lists_instead_of_heads(self, moto_server: MotoServer, raw: Any) -> None:
        moto_server.reset()
        async with aws_client(moto_server, "s3") as client:
            counter = RequestCounter(client)
            store = S3Store(bucket_name=BUCKET, client=client)
            now = frozen_clock(store)
            plain = [f"plain-{i:02d}" for i in range(30)]
            await store.put_many(plain, [{"v": 1}] * 30)
            await store.put_many([f"ttl-{i}" for i in range(5)], [{"v": 2}] * 5, ttl=10)
            await store.put_many(["short-lived"], [{"v": 3}], ttl=100)
            await store.put("neighbour", {"v": 4}, collection="default_collection2")
            now[0] += 11  # the ttl-* entries have expired; short-lived has not
            doomed = [*plain[:20], *(f"ttl-{i}" for i in range(5)), "short-lived", *(f"missing-{i}" for i in range(5))]
            counter.reset()
            assert await store.delete_many(doomed) == 21
            assert counter.sent == {"ListObjectsV2": 1, "HeadObject": 6, "DeleteObjects": 1}
            assert object_keys(raw) == sorted(
                [*(f"default_collection/plain-{i:02d}" for i in range(20, 30)), "default_collection2/neighbour"]
            )
            await store.close()

    async def test_delete_many_listing_is_bounded(self, moto_server: MotoServer, raw: Any) -> None:
        """A listing that would take more than a page per 10 keys stops; the keys it did not reach get HEADs."""
        moto_server.reset()
        async with aws_client(moto_server, "s3") as client:
            counter = RequestCounter(client)
            store = S3Store(bucket_name=BUCKET, client=client)
            store.listing_page_keys = 4
            await store.put_many([f"k{i:02d}" for i in range(40)], [{"v": 1}] * 40)
            counter.reset()
            assert await store.delete_many([f"k{i:02d}" for i in range(0, 40, 2)]) == 20
            # Two pages of 4 reach k07: they answer for k00, k02, k04 and k06; the other 16 keys get a HEAD.
            assert counter.sent == {"ListObjectsV2": 2, "HeadObject": 16, "DeleteObjects": 1}
            assert object_keys(raw) == [f"default_collection/k{i:02d}" for i in range(1, 40, 2)]
            await store.close()

    async def test_deletes_send_a_thousand_keys_per_request(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        async with aws_client(moto_server, "s3") as client:
            counter = RequestCounter(client)
            store = S3Store(bucket_name=BUCKET, client=client)
            await store.put_many(["a", "b"], [{"v": 1}, {"v": 2}])
            bucket = S3Bucket(client, BUCKET)
            counter.reset()
            await bucket.delete_all([f"default_collection/k{i}" for i in range(2500)] + ["default_collection/a"])
            assert counter.sent == {"DeleteObjects": 3}
            assert await store.get_many(["a", "b"]) == [None, {"v": 2}]
            await store.close()

    async def test_given_client_is_not_closed(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        async with aws_client(moto_server, "s3") as client:
            async with S3Store(bucket_name=BUCKET, client=client) as store:
                await store.put("key", {"v": 1})
            assert (await client.list_objects_v2(Bucket=BUCKET))["KeyCount"] == 1

    async def test_given_session(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        session = aioboto3.Session(**moto_server.credentials)
        async with S3Store(bucket_name=BUCKET, session=session, endpoint_url=moto_server.endpoint_url) as store:
            await store.put("key", {"v": 1})
            assert await store.get("key") == {"v": 1}

    async def test_bucket_made_in_its_region(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        credentials = moto_server.credentials
        credentials["region_name"] = "eu-west-1"
        async with S3Store(bucket_name=BUCKET, endpoint_url=moto_server.endpoint_url, **credentials) as store:
            await store.put("key", {"v": 1})
        client = raw_client(moto_server, "s3", region_name="eu-west-1")
        assert client.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == "eu-west-1"
        client.close()

    def test_bad_settings(self, moto_server: MotoServer) -> None:
        client = raw_client(moto_server, "s3")
        with pytest.raises(InvalidArgumentError):
            S3Store(bucket_name=BUCKET, client=client, endpoint_url=moto_server.endpoint_url)
        with pytest.raises(InvalidArgumentError):
            S3Store(bucket_name=BUCKET, session=aioboto3.Session(), region_name="us-east-1")
        with pytest.raises(InvalidArgumentError):
            S3Store(bucket_name="")
        with pytest.raises(InvalidArgumentError):
            S3Store(bucket_name=BUCKET, prefix="\ud800")
        client.close()

    async def test_invalid_bucket_is_a_setup_error(self, moto_server: MotoServer) -> None:
        store = S3Store(bucket_name="Not A Bucket!", endpoint_url=moto_server.endpoint_url, **moto_server.credentials)
        with pytest.raises(StoreSetupError):
            await store.get("key")
        await store.close()

    async def test_refused_connection(self, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        store = S3Store(bucket_name=BUCKET, endpoint_url=f"http://127.0.0.1:{free_port()}", **moto_server.credentials)
        with pytest.raises(StoreConnectionError):
            await store.get("key")
        await store.close()

    async def test_unanswered_request_times_out(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        async with aws_client(moto_server, "s3", read_timeout=0.5, retries={"max_attempts": 1}) as client:
            store = S3Store(bucket_name=BUCKET, client=client)
            await check_unanswered_request_times_out(store, moto_server.process)
            await store.close()

    def test_used_from_two_event_loops(self, moto_server: MotoServer) -> None:
        moto_server.reset()
        check_used_from_two_event_loops(make_store(moto_server))

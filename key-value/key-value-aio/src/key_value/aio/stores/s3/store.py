"""`S3Store`: one S3 object per entry, in a bucket made on first use; works with S3-compatible services.

The object layout is an `S3Layout` (`key_value.shared.layouts.s3`), native by default. Requests:
`get`/`put` are one GetObject/PutObject; `get_many` and `put_many` send one request per key, up to
`MAX_CONCURRENCY` at once. `delete` and `delete_many` first find out which keys hold live entries (S3
does not say whether a deleted object existed, and an expired one does not count): a `delete_many` of 10
keys or more lists the collection from its first key to its last (a page per 10 keys at most, then a
HEAD for each key the pages did not reach), and HEADs only listed objects that can have expired; fewer
keys get a HEAD each. Then it removes the ones found with DeleteObject, or DeleteObjects (1,000 keys per
request). `keys()`, `collections()`, `destroy()`, `destroy_collection()` and `cull()` page through
ListObjectsV2 to the end.

Expiry is decided by this store's clock against the epoch seconds stored with the entry. A read that
meets an expired object deletes it, on condition that it still has the ETag that was read, so a value
written meanwhile survives; `cull()` removes all expired objects the same way in batches (DeleteObjects
conditions are honoured by AWS, not by every S3-compatible service). Enumeration sends a HEAD only
for the listed objects that can have expired (those with an odd size) and a GET only for hashed names;
`collections()` lists the collection prefixes, then checks each the same way for a live entry of ours
(one more listing per collection).

Conditional calls: the ETag is the object's S3 ETag (the body's MD5: equal bodies, equal ETags), or the
one a conditional TTL refresh kept in the metadata (see `key_value.shared.layouts.s3`). A call reads the
object (GetObject), decides with this store's clock, and writes with S3's own precondition: PutObject
with `If-None-Match: *` where there was no object, else `If-Match` with the S3 ETag read (also over an
expired object: only that object is replaced), DeleteObject with `If-Match`. A refused precondition
(412, 404, 409) means another client wrote in between: the call reads and decides again. So each decision
is one atomic step on S3 (AWS honours these preconditions; S3-compatible services may not). An insert
(`etag=ABSENT`, SAME) tries the create first: one request when there is no object. `written_at` is the
object's LastModified (whole seconds on AWS).
"""

from __future__ import annotations

from typing import Any

import aioboto3
from botocore.client import BaseClient

from key_value.aio.stores._aws import MAX_CONCURRENCY, AwsSettings, Connection, aws_clients, run_bounded
from key_value.aio.stores.base import (
    BaseConditionalStore,
    BaseContextManagerStore,
    BaseCullStore,
    BaseDestroyCollectionStore,
    BaseDestroyStore,
    BaseEnumerateCollectionsStore,
    BaseEnumerateKeysStore,
    Entry,
)
from key_value.aio.stores.s3.bucket import Listed, S3Bucket, StoredObject
from key_value.shared.codec import decode_value, encode_value
from key_value.shared.compat.layouts.s3 import PyKeyValueS3Layout
from key_value.shared.compat.sanitization import SanitizationStrategy
from key_value.shared.compat.strategies import S3CollectionSanitizationStrategy, S3KeySanitizationStrategy
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
from key_value.shared.layouts.s3 import ETAG_METADATA, NativeS3Layout, S3Layout, normalize_prefix

#: `delete_many` lists the collection around its keys instead of sending a HEAD per key when it has at
#: least this many keys, and then spends at most one listing page per this many keys.
_NAMES_PER_LISTING = 10


class S3Store(
    BaseEnumerateKeysStore,
    BaseEnumerateCollectionsStore,
    BaseDestroyStore,
    BaseDestroyCollectionStore,
    BaseCullStore,
    BaseContextManagerStore,
    BaseConditionalStore,
):
    """A store in an S3 bucket, optionally under a key `prefix`; the bucket is created if missing.

    Pass `client=` (an open S3 client, which the store never closes), or `session=`, or
    `region_name=`, `endpoint_url=` (for S3-compatible services) and `aws_*` credentials, which default
    to botocore's usual chain. Objects outside `prefix` are never read, listed or deleted. `layout`
    names and fills the objects (see `key_value.shared.layouts.s3`): "native" (the default), "py-key-value"
    (see `key_value.shared.compat.layouts.s3`) or a layout object.
    """

    #: S3's PutObject/DeleteObject preconditions make each check-and-write one step for every client.
    atomicity = Atomicity.ACROSS_PROCESSES

    #: Objects asked for per ListObjectsV2 request (`MaxKeys`): S3's maximum. Lower it for a service
    #: with smaller pages, or to see several pages from a few hundred objects (the tests do).
    listing_page_keys: int = 1000

    def __init__(
        self,
        *,
        bucket_name: str,
        prefix: str = "",
        client: BaseClient | None = None,
        session: aioboto3.Session | None = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        default_collection: str | None = None,
        collection_sanitization_strategy: SanitizationStrategy | None = None,
        key_sanitization_strategy: SanitizationStrategy | None = None,
        layout: LayoutName | S3Layout = "native",
    ) -> None:
        """The strategies are py-key-value's: its S3 ones, which only fit names to S3's length limits, are
        accepted; our layout (which always fits them, without collisions) ignores them, and
        `layout="py-key-value"` (py-key-value-aio 0.4.x's objects, at the top of the bucket, no `prefix`)
        shortens names with them as py-key-value does. Other strategies are refused."""
        for strategy in (collection_sanitization_strategy, key_sanitization_strategy):
            if strategy is not None and not isinstance(strategy, S3KeySanitizationStrategy):
                raise InvalidArgumentError(
                    "S3Store keeps its own object names; of py-key-value's strategies it accepts only its S3 ones",
                    extra_info={"strategy": type(strategy).__name__},
                )
        if not isinstance(bucket_name, str) or not bucket_name:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidArgumentError("bucket_name must be a non-empty str")
        self.bucket_name = bucket_name
        self.prefix = normalize_prefix(prefix)
        self._layout: S3Layout = choose_layout(
            layout,
            native=NativeS3Layout,
            py_key_value=lambda: PyKeyValueS3Layout(
                collection_max_bytes=_max_bytes(collection_sanitization_strategy),
                key_max_bytes=_max_bytes(key_sanitization_strategy),
            ),
            store="S3Store",
        )
        if self.prefix and isinstance(self._layout, PyKeyValueS3Layout):
            raise InvalidArgumentError("layout='py-key-value' keeps objects at the top of the bucket: pass no prefix")
        settings = AwsSettings(
            session=session,
            region_name=region_name,
            endpoint_url=endpoint_url,
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
        )
        self._clients = aws_clients("s3", self._make_bucket, client=client, settings=settings)
        super().__init__(default_collection=default_collection)

    def _make_bucket(self, client: object) -> S3Bucket:
        return S3Bucket(client, self.bucket_name)

    async def _bucket(self) -> S3Bucket:
        connection: Connection[S3Bucket] = await self._clients.get()
        return connection.api

    async def _setup(self) -> None:
        try:
            await (await self._bucket()).ensure_exists()
        except StoreConnectionError:
            raise
        except KeyValueStoreError as exc:
            raise StoreSetupError(f"cannot use bucket {self.bucket_name!r}: {exc}") from exc

    async def _close(self) -> None:
        await self._clients.close()

    # -- entries --------------------------------------------------------------------------------

    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        return await self._read(await self._bucket(), self._layout.object_key(self.prefix, collection, key))

    async def _get_entries(self, collection: str, keys: list[str]) -> list[Entry | None]:
        bucket = await self._bucket()
        names = [self._layout.object_key(self.prefix, collection, key) for key in keys]

        async def read(name: str) -> Entry | None:
            return await self._read(bucket, name)

        return await run_bounded(read, names)

    async def _read(self, bucket: S3Bucket, name: str) -> Entry | None:
        """The entry in object `name`; an expired object is deleted (if unchanged since read) and not returned."""
        stored = await bucket.get(name)
        if stored is None:
            return None
        record = self._layout.decode_body(stored.body)
        expires_at: float | None = record["expires_at"]
        if expires_at is not None and expires_at <= self.clock():
            await bucket.delete_if(name, stored.etag)
            return None
        return Entry(record["value"], expires_at)

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        await self._put_entries(collection, [key], [value_json], ttl=ttl, expires_at=expires_at)

    async def _put_entries(
        self, collection: str, keys: list[str], values_json: list[str], *, ttl: float | None, expires_at: float | None
    ) -> None:
        bucket, layout = await self._bucket(), self._layout
        metadata = layout.expiry_metadata(expires_at)
        objects = [
            (
                layout.object_key(self.prefix, collection, key),
                layout.encode_body(value, expires_at, collection=collection, key=key),
            )
            for key, value in zip(keys, values_json, strict=True)
        ]

        async def write(item: tuple[str, bytes]) -> None:
            await bucket.put(item[0], item[1], metadata)

        await run_bounded(write, objects)

    async def _delete_entry(self, collection: str, key: str) -> bool:
        return await self._delete_entries(collection, [key]) == 1

    async def _delete_entries(self, collection: str, keys: list[str]) -> int:
        bucket, layout = await self._bucket(), self._layout
        names = [layout.object_key(self.prefix, collection, key) for key in keys]
        listed, covered = await self._list_around(bucket, layout.collection_prefix(self.prefix, collection), names)

        async def live(name: str) -> bool | None:
            """None if the object is missing, else whether it holds a live entry."""
            if name in covered:
                size = listed.get(name)
                if size is None:
                    return None
                if not layout.may_expire(size):
                    return True
            head = await bucket.head(name)
            if head is None:
                return None
            expires_at = self._layout.metadata_expiry(head.metadata)
            return expires_at is None or expires_at > self.clock()

        states = await run_bounded(live, names)
        found = [name for name, state in zip(names, states, strict=True) if state is not None]
        if len(found) == 1:
            await bucket.delete(found[0])
        elif found:
            await bucket.delete_all(found)
        return sum(1 for state in states if state)

    async def _list_around(self, bucket: S3Bucket, prefix: str, names: list[str]) -> tuple[dict[str, int], set[str]]:
        """Sizes of the objects among `names` that exist, from a listing, and which names it covered.

        A listing from the first name to the last answers for up to 1,000 objects a request where a
        HEAD answers for one, when the names lie close together or the collection is small. It stops
        after one page per `_NAMES_PER_LISTING` names, so it never costs much more than the HEADs it
        saves; the names it did not reach get a HEAD each. A listed object of even size has no expiry:
        it is live. Fewer than `_NAMES_PER_LISTING` names always get HEADs.
        """
        if len(names) < _NAMES_PER_LISTING:
            return {}, set()
        ordered = sorted(names)
        wanted = set(names)
        sizes: dict[str, int] = {}
        token: str | None = None
        reached = ordered[0][:-1]
        for _ in range(len(names) // _NAMES_PER_LISTING):
            page = await bucket.list_page(
                prefix, token=token, start_after=ordered[0][:-1], max_keys=self.listing_page_keys
            )
            sizes.update((item.name, item.size) for item in page.objects if item.name in wanted)
            if page.next_token is None or (page.objects and page.objects[-1].name >= ordered[-1]):
                return sizes, wanted
            token = page.next_token
            reached = page.objects[-1].name if page.objects else reached
        return sizes, {name for name in ordered if name <= reached}

    # -- conditional ------------------------------------------------------------------------------

    async def _get_versioned(self, collection: str, key: str) -> VersionedEntry | None:
        bucket = await self._bucket()
        name = self._layout.object_key(self.prefix, collection, key)
        stored = await bucket.get(name)
        if stored is None:
            return None
        current = self._current(stored)
        if current is None:
            await bucket.delete_if(name, stored.etag)  # expired, as `get` does
            return None
        value, expires_at, etag = current
        return VersionedEntry(
            value, etag, None if expires_at is None else expires_at - self.clock(), stored.last_modified
        )

    def _current(self, stored: StoredObject) -> tuple[dict[str, Any], float | None, str] | None:
        """(value, expiry, ETag) of the live entry an object holds; None if it has expired."""
        record = self._layout.decode_body(stored.body)
        expires_at: float | None = record["expires_at"]
        if expires_at is not None and expires_at <= self.clock():
            return None
        return record["value"], expires_at, stored.metadata.get(ETAG_METADATA) or stored.etag

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
        bucket, layout = await self._bucket(), self._layout
        name = layout.object_key(self.prefix, collection, key)
        if etag is ABSENT and condition is Condition.SAME and isinstance(value, str):
            # An insert: try the create first; only an existing object (live or expired) needs the read below.
            body = layout.encode_body(value, expires_at, collection=collection, key=key)
            created = await bucket.put_if(name, body, layout.expiry_metadata(expires_at), replacing=None)
            if created is not None:
                return _result(ABSENT, created, value, satisfied=True, retrieve=retrieve)
        while True:  # each pass is one decision; a pass whose write found the object changed decides again
            stored = await bucket.get(name)
            current = None if stored is None else self._current(stored)
            actual: str | Absent = ABSENT if current is None else current[2]
            if not holds(condition, etag, actual):
                return _result(actual, actual, current and current[0], satisfied=False, retrieve=retrieve)
            if value is Joker.DELETE_CURRENT:
                if stored is not None:
                    if current is None:  # expired, so absent already: remove it unless rewritten meanwhile
                        await bucket.delete_if(name, stored.etag)
                    elif not await bucket.delete_if(name, stored.etag):
                        continue
                return _result(actual, ABSENT, None, satisfied=True, retrieve=retrieve)
            metadata = layout.expiry_metadata(expires_at)
            if value is Joker.KEEP_CURRENT:
                if current is None or expires_at is None:
                    return _result(actual, actual, current and current[0], satisfied=True, retrieve=retrieve)
                # A new expiry is a new body, so a new S3 ETag: the metadata keeps the entry's.
                value_json, metadata[ETAG_METADATA] = encode_value(current[0]), current[2]
            else:
                value_json = value
            body = layout.encode_body(value_json, expires_at, collection=collection, key=key)
            written = await bucket.put_if(name, body, metadata, replacing=None if stored is None else stored.etag)
            if written is not None:
                return _result(
                    actual, metadata.get(ETAG_METADATA, written), value_json, satisfied=True, retrieve=retrieve
                )

    # -- listing ----------------------------------------------------------------------------------

    async def _listing(self, bucket: S3Bucket, prefix: str) -> list[Listed]:
        """Every object under `prefix` whose key has our layout, all pages."""
        objects: list[Listed] = []
        token: str | None = None
        while True:
            page = await bucket.list_page(prefix, token=token, max_keys=self.listing_page_keys)
            objects.extend(
                item for item in page.objects if self._layout.split_object_key(self.prefix, item.name) is not None
            )
            if page.next_token is None:
                return objects
            token = page.next_token

    async def _keys(self, collection: str, *, limit: int | None) -> list[str]:
        bucket = await self._bucket()
        prefix = self._layout.collection_prefix(self.prefix, collection)
        keys: list[str] = []
        token: str | None = None
        while True:
            page = await bucket.list_page(
                prefix, token=token, delimiter=self._layout.key_delimiter, max_keys=self.listing_page_keys
            )
            wanted = None if limit is None else limit - len(keys)
            keys.extend(key for _, key in await self._live_objects(bucket, page.objects, wanted=wanted))
            if page.next_token is None or (limit is not None and len(keys) >= limit):
                return keys if limit is None else keys[:limit]
            token = page.next_token

    async def _collections(self, *, limit: int | None) -> list[str]:
        bucket = await self._bucket()
        names: list[str] = []
        token: str | None = None
        while True:
            page = await bucket.list_page(self.prefix, token=token, delimiter="/", max_keys=self.listing_page_keys)
            for prefix in page.prefixes:
                name = await self._collection_name(bucket, prefix)
                if name is not None:
                    names.append(name)
                    if len(names) == limit:
                        return names
            if page.next_token is None:
                return names
            token = page.next_token

    async def _collection_name(self, bucket: S3Bucket, prefix: str) -> str | None:
        """The raw name of the collection under `prefix` if it holds a live entry of ours, else None."""
        component = prefix[len(self.prefix) : -1]
        if not self._layout.is_component(component):
            return None
        token: str | None = None
        while True:
            page = await bucket.list_page(
                prefix, token=token, delimiter=self._layout.key_delimiter, max_keys=self.listing_page_keys
            )
            live = await self._live_objects(bucket, page.objects, wanted=1)
            if live:
                plain = self._layout.decode_component(component)
                if plain is not None:
                    return plain
                stored = await bucket.get(live[0][0])  # a hashed name: read it from an object
                # (py-key-value's documents lack the name: its shortened form, which names the same objects)
                return None if stored is None else str(self._layout.decode_body(stored.body)["collection"] or component)
            if page.next_token is None:
                return None
            token = page.next_token

    async def _live_objects(
        self, bucket: S3Bucket, objects: list[Listed], *, wanted: int | None = None
    ) -> list[tuple[str, str]]:
        """(object key, raw key) of listed objects of ours that hold live entries: all, or at least `wanted`.

        Only objects that can have expired (odd size) get a HEAD, and only hashed names a GET; with
        `wanted`, those requests go out `MAX_CONCURRENCY` at a time until enough entries are found.
        """
        live: list[tuple[str, str]] = []
        unsure: list[str] = []
        for item in objects:
            parts = self._layout.split_object_key(self.prefix, item.name)
            if parts is None:
                continue
            plain = self._layout.decode_component(parts[1])
            if plain is None or self._layout.may_expire(item.size):
                unsure.append(item.name)
            else:
                live.append((item.name, plain))

        async def check(name: str) -> tuple[str, str] | None:
            key = await self._live_key(bucket, name)
            return None if key is None else (name, key)

        step = max(1, len(unsure)) if wanted is None else MAX_CONCURRENCY
        for start in range(0, len(unsure), step):
            if wanted is not None and len(live) >= wanted:
                break
            live.extend(found for found in await run_bounded(check, unsure[start : start + step]) if found is not None)
        return live

    async def _live_key(self, bucket: S3Bucket, name: str) -> str | None:
        """The raw key in object `name` if it holds a live entry: HEAD for a plain name, GET for a hashed one."""
        parts = self._layout.split_object_key(self.prefix, name)
        plain = None if parts is None else self._layout.decode_component(parts[1])
        if plain is not None:
            head = await bucket.head(name)
            if head is None:
                return None
            expires_at = self._layout.metadata_expiry(head.metadata)
            return plain if expires_at is None or expires_at > self.clock() else None
        stored = await bucket.get(name)
        if stored is None:
            return None
        record = self._layout.decode_body(stored.body)
        expires_at = record["expires_at"]
        if expires_at is not None and expires_at <= self.clock():
            return None
        # py-key-value's documents lack the name: its shortened form then, which names the same object.
        return str(record["key"] or (parts[1] if parts else name))

    # -- destroy and cull ---------------------------------------------------------------------------

    async def _destroy(self) -> bool:
        return await self._delete_under(self.prefix)

    async def _destroy_collection(self, collection: str) -> bool:
        return await self._delete_under(self._layout.collection_prefix(self.prefix, collection))

    async def _delete_under(self, prefix: str) -> bool:
        """Delete our objects under `prefix` (listed in full first, so paging never skips any)."""
        bucket = await self._bucket()
        names = [item.name for item in await self._listing(bucket, prefix)]
        await bucket.delete_all(names)
        return bool(names)

    async def _cull(self) -> None:
        bucket = await self._bucket()
        candidates = [
            item.name for item in await self._listing(bucket, self.prefix) if self._layout.may_expire(item.size)
        ]
        heads = await run_bounded(bucket.head, candidates)
        now = self.clock()
        expired = [
            (name, head.etag)
            for name, head in zip(candidates, heads, strict=True)
            if head is not None
            and (expires_at := self._layout.metadata_expiry(head.metadata)) is not None
            and expires_at <= now
        ]
        if expired:
            await bucket.delete_all([name for name, _ in expired], [etag for _, etag in expired])


def _result(
    actual: str | Absent,
    resulting: str | Absent,
    value: dict[str, Any] | str | None,
    *,
    satisfied: bool,
    retrieve: bool,
) -> ConditionalResult:
    """The result; `value` is the entry's after the call (JSON text, a decoded value, or None: absent)."""
    if not retrieve:
        return ConditionalResult(satisfied, actual, resulting, NOT_RETRIEVED)
    return ConditionalResult(satisfied, actual, resulting, decode_value(value) if isinstance(value, str) else value)


def _max_bytes(strategy: SanitizationStrategy | None) -> int | None:
    """The byte limit of one of py-key-value's S3 strategies (None without one)."""
    return strategy.max_bytes if isinstance(strategy, S3KeySanitizationStrategy) else None


__all__ = ["S3CollectionSanitizationStrategy", "S3KeySanitizationStrategy", "S3Store"]

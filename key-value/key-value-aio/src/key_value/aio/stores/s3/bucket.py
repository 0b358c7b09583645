"""`S3Bucket`: the few S3 calls `S3Store` makes, typed, on one bucket; botocore's errors come out as ours.

botocore clients are generated at run time and untyped, so this is the one place that touches one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from key_value.aio.stores._aws import AWS_ERRORS, aws_error, error_code, run_bounded, translated
from key_value.shared.errors import KeyValueStoreError

#: Keys per DeleteObjects request, and per ListObjectsV2 page: S3's maximum for both.
BATCH = 1000

_SERVICE = "S3"
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_NO_BUCKET = frozenset({"NoSuchBucket", "404", "NotFound"})
_FORBIDDEN = frozenset({"403", "AccessDenied", "Forbidden"})
_ALREADY_OWNED = frozenset({"BucketAlreadyOwnedByYou"})
#: A conditional delete that found a different object (or none): nothing to remove.
_CONDITION_FAILED = frozenset({"PreconditionFailed", "412", "NoSuchKey", "404"})
#: A conditional write or delete that found the object changed (412), gone (404, for If-Match), or racing
#: another conditional request (409 ConditionalRequestConflict: AWS asks to read again and retry).
_CHANGED = frozenset({*_CONDITION_FAILED, "ConditionalRequestConflict", "409"})


@dataclass(frozen=True)
class StoredObject:
    """An object's body, ETag, user metadata and last write (epoch seconds), from GetObject."""

    body: bytes
    etag: str
    metadata: dict[str, str]
    last_modified: float | None


@dataclass(frozen=True)
class ObjectHead:
    """An object's user metadata and ETag, from HeadObject."""

    metadata: dict[str, str]
    etag: str


@dataclass(frozen=True)
class Listed:
    """One object of a listing."""

    name: str
    size: int


@dataclass(frozen=True)
class ListPage:
    """One ListObjectsV2 page: objects, common prefixes (with a delimiter), and the token of the next page."""

    objects: list[Listed]
    prefixes: list[str]
    next_token: str | None


class S3Bucket:
    """Typed calls on one bucket through a botocore S3 client (aiobotocore's in the async twin)."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    async def ensure_exists(self) -> None:
        """Create the bucket unless it exists (or exists and we may not look at it, which later calls will tell)."""
        try:
            await self._client.head_bucket(Bucket=self.bucket)
        except AWS_ERRORS as exc:
            code = error_code(exc)
            if code in _FORBIDDEN:
                return
            if code not in _NO_BUCKET:
                raise aws_error(exc, _SERVICE, "HeadBucket") from exc
        else:
            return
        options: dict[str, Any] = {"Bucket": self.bucket}
        region = self._client.meta.region_name
        if region not in (None, "us-east-1"):  # us-east-1 refuses a location constraint naming itself
            options["CreateBucketConfiguration"] = {"LocationConstraint": region}
        with translated(_SERVICE, "CreateBucket", ignore=_ALREADY_OWNED):  # made meanwhile by another process
            await self._client.create_bucket(**options)

    async def get(self, name: str) -> StoredObject | None:
        """The object's body and ETag, or None if it does not exist."""
        with translated(_SERVICE, "GetObject", ignore=_MISSING):
            response = await self._client.get_object(Bucket=self.bucket, Key=name)
            async with response["Body"] as stream:
                body: bytes = await stream.read()
            modified = response.get("LastModified")
            return StoredObject(
                body, response["ETag"], response.get("Metadata", {}), None if modified is None else modified.timestamp()
            )
        return None

    async def head(self, name: str) -> ObjectHead | None:
        """The object's user metadata and ETag, or None if it does not exist."""
        with translated(_SERVICE, "HeadObject", ignore=_MISSING):
            response = await self._client.head_object(Bucket=self.bucket, Key=name)
            return ObjectHead(dict(response.get("Metadata", {})), response["ETag"])
        return None

    async def put(self, name: str, body: bytes, metadata: dict[str, str]) -> None:
        """Create or replace the object."""
        with translated(_SERVICE, "PutObject"):
            await self._client.put_object(
                Bucket=self.bucket, Key=name, Body=body, Metadata=metadata, ContentType="application/json"
            )

    async def put_if(self, name: str, body: bytes, metadata: dict[str, str], *, replacing: str | None) -> str | None:
        """Create the object only if there is none (`replacing` None), or replace it only if it still has
        the ETag `replacing`, in one request: the new object's ETag, or None if it had changed (nothing written)."""
        condition = {"IfNoneMatch": "*"} if replacing is None else {"IfMatch": replacing}
        with translated(_SERVICE, "PutObject", ignore=_CHANGED):
            response = await self._client.put_object(
                Bucket=self.bucket, Key=name, Body=body, Metadata=metadata, ContentType="application/json", **condition
            )
            return str(response["ETag"])
        return None

    async def delete_if(self, name: str, etag: str) -> bool:
        """Delete the object only if it still has `etag`, so a value written meanwhile survives; False if it
        had changed or was gone. Services without conditional deletes ignore the condition and delete."""
        with translated(_SERVICE, "DeleteObject", ignore=_CHANGED):
            await self._client.delete_object(Bucket=self.bucket, Key=name, IfMatch=etag)
            return True
        return False

    async def delete(self, name: str) -> None:
        """Delete the object (nothing happens if it does not exist)."""
        with translated(_SERVICE, "DeleteObject"):
            await self._client.delete_object(Bucket=self.bucket, Key=name)

    async def delete_all(self, names: list[str], etags: list[str] | None = None) -> None:
        """Delete the objects with DeleteObjects, `BATCH` per request, some requests at once; with `etags`,
        each only if unchanged (where the service honours it)."""
        batches = [
            (names[start : start + BATCH], None if etags is None else etags[start : start + BATCH])
            for start in range(0, len(names), BATCH)
        ]

        async def delete(batch: tuple[list[str], list[str] | None]) -> None:
            await self._delete_batch(*batch)

        await run_bounded(delete, batches)

    async def _delete_batch(self, names: list[str], etags: list[str] | None) -> None:
        objects: list[dict[str, str]] = (
            [{"Key": name} for name in names]
            if etags is None
            else [{"Key": name, "ETag": etag} for name, etag in zip(names, etags, strict=True)]
        )
        with translated(_SERVICE, "DeleteObjects"):
            response = await self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})
        errors: list[dict[str, str]] = [
            error for error in response.get("Errors", []) if error.get("Code") not in _CONDITION_FAILED
        ]
        if errors:
            first = errors[0]
            raise KeyValueStoreError(
                f"S3 DeleteObjects failed for {len(errors)} object(s): {first.get('Code')}: {first.get('Message')}",
                extra_info={"key": first.get("Key")},
            )

    async def list_page(
        self,
        prefix: str,
        *,
        token: str | None = None,
        delimiter: str | None = None,
        max_keys: int = BATCH,
        start_after: str | None = None,
    ) -> ListPage:
        """One page of the objects (or, with `delimiter`, also the common prefixes) under `prefix`.

        `start_after` begins the first page after that key (S3 ignores it once there is a `token`).
        """
        options: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": max_keys}
        if token is not None:
            options["ContinuationToken"] = token
        elif start_after is not None:
            options["StartAfter"] = start_after
        if delimiter is not None:
            options["Delimiter"] = delimiter
        with translated(_SERVICE, "ListObjectsV2"):
            response = await self._client.list_objects_v2(**options)
        objects = [Listed(item["Key"], int(item["Size"])) for item in response.get("Contents", [])]
        prefixes: list[str] = [item["Prefix"] for item in response.get("CommonPrefixes", [])]
        next_token: str | None = response.get("NextContinuationToken") if response.get("IsTruncated") else None
        return ListPage(objects, prefixes, next_token)

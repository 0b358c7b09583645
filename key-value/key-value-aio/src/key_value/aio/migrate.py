"""Copy every entry of one store into another, with the time each has left: how data changes layout or backend.

The one-off move from py-key-value's layout to ours (docs/migrating.md):

    source = PostgreSQLStore(url=..., layout="py-key-value")
    target = PostgreSQLStore(url=...)
    await copy_entries(source, target, delete=True)

The source must list its keys (and its collections, unless `collections=` names them). Entries are
read in batches with their remaining TTL and written with it, so an entry expires at the same time
in the target, give or take the copy's duration; an entry that expires or is deleted while the copy
runs is skipped. With `delete=True` each batch is deleted from the source once the target holds it,
so an interrupted copy can be run again and resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from key_value.aio.protocols.key_value import (
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValue,
)
from key_value.shared.errors import InvalidArgumentError


@dataclass
class CopyReport:
    """What `copy_entries` did: entries copied, and entries gone from the source before they were read."""

    copied: int = 0
    vanished: int = 0


async def copy_entries(
    source: AsyncKeyValue,
    target: AsyncKeyValue,
    *,
    collections: Iterable[str] | None = None,
    delete: bool = False,
    batch: int = 500,
) -> CopyReport:
    """Copy all entries of `collections` (default: every collection of `source`) into `target`.

    `InvalidArgumentError` when `source` cannot list its keys, or its collections and none are given.
    """
    if not isinstance(source, AsyncEnumerateKeysProtocol):
        raise InvalidArgumentError("copy_entries needs a source store that lists its keys")
    if batch < 1:
        raise InvalidArgumentError("batch must be at least 1", extra_info={"batch": batch})
    if collections is None:
        if not isinstance(source, AsyncEnumerateCollectionsProtocol):
            raise InvalidArgumentError("this source cannot list its collections: pass collections=")
        names = await source.collections()
    else:
        names = list(collections)
    report = CopyReport()
    for collection in names:
        keys = await source.keys(collection)
        for start in range(0, len(keys), batch):
            chunk = keys[start : start + batch]
            await _copy_batch(source, target, collection, chunk, report)
            if delete:
                await source.delete_many(chunk, collection=collection)
    return report


async def _copy_batch(
    source: AsyncKeyValue, target: AsyncKeyValue, collection: str, keys: list[str], report: CopyReport
) -> None:
    """Copy `keys` of `collection`: entries without a TTL in one `put_many`, the others one by one with theirs."""
    lasting: dict[str, dict[str, Any]] = {}
    for key, (value, ttl) in zip(keys, await source.ttl_many(keys, collection=collection), strict=True):
        if value is None:
            report.vanished += 1
        elif ttl is None:
            lasting[key] = value
        else:
            await target.put(key, value, collection=collection, ttl=ttl)
            report.copied += 1
    if lasting:
        await target.put_many(list(lasting), list(lasting.values()), collection=collection)
        report.copied += len(lasting)


__all__ = ["CopyReport", "copy_entries"]

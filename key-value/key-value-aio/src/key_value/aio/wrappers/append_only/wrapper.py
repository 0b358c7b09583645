"""`AppendOnlyWrapper`: new keys can be written once; overwriting a live key or deleting raises `ImmutableEntryError`.

For logs, ledgers and content-addressed data, where a changed entry is a bug to report rather than a
write to make. An expired entry counts as absent, so its key can be written again. A refused call
changes nothing.

Where the wrapped store has the conditional segment, a `put` is one insert-if-absent (`put_if` with
`ABSENT`), so of concurrent writers of one new key exactly one wins (as far as the store's `atomicity`
goes) and the others raise. `put_many` first reads every key (one `get_many`) and refuses the whole
call if one is live or repeated, then inserts key by key; if a concurrent writer takes one of its keys
in between, the inserts it already made are deleted again on their own ETags (`delete_if`) before it
raises, so even a lost race leaves nothing half-written (a reader may briefly have seen them).

Without the conditional segment, a write reads first and puts when nothing is live: two writers racing
on a new key may both succeed, the last one staying, and `put_many` can overwrite a key written between
its read and its put. Deletes raise, and so do conditional calls other than an insert (see
`InsertOnlyWrapper`); `destroy` and `destroy_collection` are not offered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat, cast

from key_value.aio.protocols.key_value import AsyncConditionalProtocol
from key_value.aio.wrappers._insert_only import InsertOnlyWrapper, check_write, check_writes
from key_value.shared.conditional import ABSENT
from key_value.shared.errors import ImmutableEntryError


class AppendOnlyWrapper(InsertOnlyWrapper):
    """Inserts only: writing a live key again, or deleting one, raises `ImmutableEntryError`."""

    def _taken(self, operation: str, collection: str | None, key: str) -> ImmutableEntryError:
        return self._refused(operation, collection, key, "the key already holds a live entry, and is append-only")

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        if self._atomic:  # put_if checks the input itself, before it writes or refuses anything
            conditional = cast("AsyncConditionalProtocol", self.key_value)
            result = await conditional.put_if(key, value, etag=ABSENT, collection=collection, ttl=ttl, retrieve=False)
            if not result.satisfied:
                raise self._taken("put", collection, key)
            return
        checked = check_write(key, value, collection, ttl)
        if await self.key_value.get(checked, collection=collection) is not None:
            raise self._taken("put", collection, checked)
        await self.key_value.put(checked, value, collection=collection, ttl=ttl)

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        checked = check_writes(keys, values, collection, ttl)
        seen: set[str] = set()
        for key in checked:
            if key in seen:
                raise self._refused("put_many", collection, key, "the call writes the key twice, and it is append-only")
            seen.add(key)
        if not checked:
            return
        for key, found in zip(checked, await self.key_value.get_many(checked, collection=collection), strict=True):
            if found is not None:
                raise self._taken("put_many", collection, key)
        if not self._atomic:
            await self.key_value.put_many(checked, values, collection=collection, ttl=ttl)
            return
        conditional = cast("AsyncConditionalProtocol", self.key_value)
        inserted: list[tuple[str, str]] = []
        for key, value in zip(checked, values, strict=True):
            result = await conditional.put_if(key, value, etag=ABSENT, collection=collection, ttl=ttl, retrieve=False)
            if not result.satisfied:
                for done, etag in inserted:  # undo only our own writes: each on the ETag it was given
                    await conditional.delete_if(done, etag=etag, collection=collection, retrieve=False)
                raise self._taken("put_many", collection, key)
            inserted.append((key, cast("str", result.resulting_etag)))

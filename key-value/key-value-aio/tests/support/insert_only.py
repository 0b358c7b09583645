"""The contract, less the tests that overwrite or delete a live entry: what write-once and append-only stores keep.

Every test left out needs a change those wrappers exist to refuse: a second `put` of a key, a `delete`,
or a conditional write or `transform` of a present entry. Their own test modules check what happens
instead (ignored or refused, and nothing changed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from .contract import ContractTests

#: Contract tests that overwrite, delete, or conditionally change a live entry.
CHANGES_ENTRIES = (
    "test_awkward_names",  # deletes
    "test_concurrent_use_loses_nothing",  # deletes, and rewrites shared keys
    "test_condition_grid",  # conditional overwrites and deletes
    "test_conditional_write_seen_by_plain_reads",
    "test_delete",
    "test_delete_many",
    "test_deleted_collection_not_listed",
    "test_entry_expiring_between_read_and_write",
    "test_etag_changes_with_every_write",
    "test_keep_current_refreshes_ttl",  # a TTL refresh changes the entry
    "test_overwrite",
    "test_put_if_ttl",
    "test_put_many_duplicates_last_wins",
    "test_put_without_ttl_clears_ttl",
    "test_reads_never_create_collections",  # deletes
    "test_retrieve_false",
    "test_short_ttl_expires",  # deletes
    "test_transform",
    "test_transform_gives_up_on_constant_conflict",
    "test_transform_race_within_process",
)


class InsertOnlyContractTests(ContractTests):
    """`ContractTests` without `CHANGES_ENTRIES` (an attribute set to None is not collected by pytest)."""


for _name in CHANGES_ENTRIES:
    assert hasattr(ContractTests, _name), _name
    setattr(InsertOnlyContractTests, _name, None)


async def race(calls: Sequence[Callable[[], Any]]) -> list[object]:
    """Run `calls` at once (tasks in the async twin, threads in the sync one): each one's result or exception."""
    if True:  # ASYNC
        return list(await asyncio.gather(*(call() for call in calls), return_exceptions=True))
    else:
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            futures = [pool.submit(call) for call in calls]
            return [future.exception() or future.result() for future in futures]

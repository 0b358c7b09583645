"""`BaseDiskStore`: what DiskStore and MultiDiskStore share — where diskcache runs, set-up and error mapping.

The everyday calls (get, put, delete, one key or many, of records under diskcache's file threshold)
go through a `DirectCache` (`direct.py`) on the calling thread, with no hop and no wait: it gives up
(`NeedsWorker`) before it would wait for a lock, and on anything diskcache keeps in a file. Everything
else, and what it gives up, is diskcache work through `_run`: in the async twin on the store's own
single worker thread, so SQLite and file I/O never block the event loop; the sync twin calls
diskcache directly. `close()` closes the worker thread's connection per cache and the direct ones.
"""

from __future__ import annotations

import asyncio
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

from diskcache import Timeout

from key_value.aio.stores._inline import share_loop
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
from key_value.aio.stores.disk.cache import CacheAPI
from key_value.aio.stores.disk.direct import DirectCache, NeedsWorker
from key_value.shared.conditional import Atomicity
from key_value.shared.errors import InvalidArgumentError, KeyValueStoreError, StoreConnectionError
from key_value.shared.layouts.disk import NATIVE_DISK_LAYOUT, DiskLayout

T = TypeVar("T")


class BaseDiskStore(
    BaseContextManagerStore,
    BaseEnumerateKeysStore,
    BaseEnumerateCollectionsStore,
    BaseDestroyStore,
    BaseDestroyCollectionStore,
    BaseCullStore,
    BaseConditionalStore,
    ABC,
):
    """A store on diskcache: implement `_release` (and `_open` if needed); call diskcache only through `_run`."""

    #: Each conditional call reads, compares and writes inside one `transact()` (SQLite's BEGIN IMMEDIATE),
    #: which every process opening the same cache waits for: one winner per ETag across processes.
    atomicity = Atomicity.ACROSS_PROCESSES

    #: Names and records in diskcache (`key_value.shared.layouts.disk`); the native one unless `layout=`.
    _layout: DiskLayout = NATIVE_DISK_LAYOUT

    def _entry(self, stored: object) -> Entry | None:
        """The entry of a stored record (None stays None)."""
        return None if stored is None else self._layout.decode(stored)

    async def _setup(self) -> None:
        if True:  # ASYNC
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=type(self).__name__)
            try:
                await self._run(self._open)
            except BaseException:
                self._executor.shutdown(wait=False)
                raise
        else:
            self._run(self._open)

    async def _close(self) -> None:
        if True:  # ASYNC
            try:
                await self._run(self._release)
            finally:
                self._executor.shutdown(wait=False)
        else:
            self._run(self._release)

    def _open(self) -> None:
        """Hook, run through `_run`: open what the store needs before its first operation."""

    def _direct_for(self, cache: CacheAPI) -> DirectCache | None:
        """The direct path to `cache`, or None if it needs diskcache for everything (`DirectCache.of`).

        In the async twin the worker thread checkpoints the cache's write-ahead log for it.
        """
        if True:  # ASYNC
            executor = self._executor

            def checkpoint(done: Callable[[], None]) -> None:  # on the worker thread, without waiting for anyone
                try:
                    cast("Any", cache)._sql("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    pass  # busy or closed: the next one, or the worker's own commits, will do it
                finally:
                    done()

            return DirectCache.of(cache, checkpoint=lambda done: executor.submit(checkpoint, done))
        else:
            return DirectCache.of(cache, checkpoint=None)

    @abstractmethod
    def _release(self) -> None:
        """Hook, run through `_run`: close the caches (connections) this store opened."""

    async def _direct_else_run(
        self, direct: DirectCache | None, call: Callable[[DirectCache], T], fallback: Callable[[], T]
    ) -> T:
        """`call(direct)` on this thread if there is a direct path and it need not wait, else `fallback` via `_run`."""
        if direct is not None:
            await share_loop()
            try:
                return call(direct)
            except NeedsWorker:
                pass
        return await self._run(fallback)

    async def _run(self, call: Callable[[], T]) -> T:
        """Run `call` (diskcache work) — on the worker thread in the async twin — raising our errors for diskcache's."""
        try:
            if True:  # ASYNC
                return await asyncio.get_running_loop().run_in_executor(self._executor, call)
            else:
                return call()
        except Timeout as exc:
            raise StoreConnectionError("the disk cache stayed locked by another writer past its timeout") from exc
        except (sqlite3.Error, OSError) as exc:
            raise KeyValueStoreError(f"the disk cache failed: {exc}") from exc


def check_max_size(max_size: object) -> int | None:
    """Return `max_size` if it is None or an int >= 1 (bytes), else raise `InvalidArgumentError`."""
    if max_size is not None and (type(max_size) is not int or max_size < 1):  # bool is refused too
        raise InvalidArgumentError("max_size must be None (unbounded) or an int >= 1 (bytes)")
    return max_size

"""`FileTreeStore`: one JSON file per entry under one directory per collection, readable with plain tools.

Layout and file handling live in `FileTree` (blocking); this module adapts it to the store hooks. The
async twin runs each hook's file work in one worker-thread hop, so the event loop never waits for a
lock, a write or an fsync; reads of a few keys, which take neither, run on the loop's own thread.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

from key_value.aio.stores._inline import share_loop
from key_value.aio.stores.base import (
    BaseConditionalStore,
    BaseCullStore,
    BaseDestroyCollectionStore,
    BaseDestroyStore,
    BaseEnumerateCollectionsStore,
    BaseEnumerateKeysStore,
    Entry,
)
from key_value.aio.stores.filetree.files import LOCKS_ACROSS_PROCESSES
from key_value.aio.stores.filetree.py_key_value import (
    PyKeyValueTree,
    TransparentTree,
    layout_for,
    py_key_value_collections,
)
from key_value.aio.stores.filetree.tree import FileTree
from key_value.shared.compat.sanitization import SanitizationStrategy
from key_value.shared.compat.serialization import SerializationAdapter
from key_value.shared.compat.strategies import (
    FileTreeV1CollectionSanitizationStrategy,
    FileTreeV1KeySanitizationStrategy,
    get_max_file_name_length,
    get_max_path_length,
)
from key_value.shared.conditional import Absent, Atomicity, Condition, ConditionalResult, Joker, VersionedEntry
from key_value.shared.errors import InvalidArgumentError
from key_value.shared.layouts import LayoutName, choose_layout
from key_value.shared.layouts.filetree import FileTreeLayout, NativeFileTreeLayout

P = ParamSpec("P")
T = TypeVar("T")

#: Reads of up to this many keys may run on the event loop's own thread (no file lock, no write);
#: larger ones, and any that meet an expired file, go to a worker thread.
_INLINE_READS = 16

if True:  # ASYNC

    async def _run(function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run blocking file work in a worker thread, off the event loop."""
        return await asyncio.to_thread(function, *args, **kwargs)

else:

    def _run(function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run file work in the caller's thread: the sync twin blocks by design."""
        return function(*args, **kwargs)


class FileTreeStore(
    BaseEnumerateKeysStore,
    BaseEnumerateCollectionsStore,
    BaseDestroyStore,
    BaseDestroyCollectionStore,
    BaseCullStore,
    BaseConditionalStore,
):
    """Entries as files: `<data_directory>/<collection>/<key>.json`, names percent-encoded (hashed when too long).

    Any key or collection name works and no path leaves `data_directory`. A write is atomic and durable
    when it returns: temp file, fsync, rename, then one fsync of the directory per call (a crash leaves
    the old value or the new one); deletes and destroys fsync the directory too, removals of expired
    files do not. Expired files are removed when read and by `cull()`, which also clears temp files
    left by a crash. Several stores or processes may share a directory; of two plain writes the last
    rename wins. Raw collection names are kept in a small file inside each collection directory.

    Conditional calls (`put_if`, `delete_if`, `transform`...) are atomic across processes on a local
    POSIX file system: each holds an `flock` on the collection directory across its read, check and
    rename, and plain writes, deletes, removals of expired files and destroys take the same lock for
    their renames and removals (reads take none), so none slips in between. ETags are random tokens
    kept in our records (in py-key-value's documents, which have no room for one, a hash of their
    creation time and value); `written_at` is the recorded write time. Not atomic on NFS or other
    network file systems (flock there is emulated with byte-range locks or local to one client), on
    Windows (no flock: atomic within one process), nor against py-key-value-aio processes, which take
    no lock.

    A directory py-key-value-aio 0.4.x's FileTreeStore wrote is read transparently (`py_key_value.py`):
    setup looks for its `<collection>-info.json` files in `metadata_directory` (default:
    `data_directory`), and where it finds them its entries are read with their TTLs, listed, and
    replaced by ours on the next write or delete. `layout="py-key-value"` writes py-key-value's own
    files instead, for old and new processes sharing one directory.
    """

    atomicity = Atomicity.ACROSS_PROCESSES if LOCKS_ACROSS_PROCESSES else Atomicity.WITHIN_PROCESS

    def __init__(
        self,
        *,
        data_directory: Path | str,
        metadata_directory: Path | str | None = None,
        default_collection: str | None = None,
        serialization_adapter: SerializationAdapter | None = None,
        key_sanitization_strategy: SanitizationStrategy | None = None,
        collection_sanitization_strategy: SanitizationStrategy | None = None,
        auto_create: bool = True,
        layout: LayoutName | FileTreeLayout = "native",
    ) -> None:
        """The sanitization strategies and serialization adapter are py-key-value's (see `py_key_value.py`):
        given any of them, names and files are laid out as py-key-value lays them out with the same options
        (documents also keep the raw names, for listings). `layout="py-key-value"` writes exactly what
        py-key-value writes with the same options (by default: names as they are, which must then be
        single file names). A layout object lays files out by another `FileTreeLayout`, and excludes
        py-key-value's options. `metadata_directory` is where py-key-value keeps its collection files.
        """
        root = os.path.abspath(data_directory)
        super().__init__(
            default_collection=default_collection,
            serialization_adapter=serialization_adapter,
            key_sanitization_strategy=key_sanitization_strategy,
            collection_sanitization_strategy=collection_sanitization_strategy,
        )
        self.data_directory = Path(root)
        self.auto_create = auto_create
        self._metadata_root = root if metadata_directory is None else os.path.abspath(metadata_directory)
        compat_options = (serialization_adapter, key_sanitization_strategy, collection_sanitization_strategy)
        self._reads_py_key_value = False
        if not isinstance(layout, str):
            if any(option is not None for option in compat_options):
                raise InvalidArgumentError("pass either a layout object or py-key-value's strategies and adapter")
            self._tree = FileTree(root, layout)
            return
        exact = bool(choose_layout(layout, native=lambda: False, py_key_value=lambda: True, store="FileTreeStore"))
        compat = layout_for(
            key_strategy=key_sanitization_strategy,
            collection_strategy=collection_sanitization_strategy,
            adapter=serialization_adapter,
            exact=exact,
        )
        if compat is None:
            self._tree = FileTree(root, NativeFileTreeLayout())
            self._reads_py_key_value = True
        else:
            self._tree = PyKeyValueTree(root, compat, self._metadata_root)

    async def _setup(self) -> None:
        self._tree = await _run(self._prepared_tree)

    def _prepared_tree(self) -> FileTree:
        """The tree, its root made ready; the transparent one if py-key-value's default store wrote here."""
        self._tree.prepare(create=self.auto_create)
        if self._reads_py_key_value and (legacy := py_key_value_collections(self._metadata_root)):
            return TransparentTree(self._tree.root, os.path.realpath(self._metadata_root), legacy)
        return self._tree  # no py-key-value data: the native tree, with no extra work

    # -- entries ------------------------------------------------------------------------------------

    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        return (await self._get_entries(collection, [key]))[0]

    async def _get_entries(self, collection: str, keys: list[str]) -> list[Entry | None]:
        if True:  # ASYNC
            # A few files are read on the loop's thread: a read from the page cache costs less than the hop.
            if len(keys) <= _INLINE_READS and type(self._tree) is not TransparentTree:
                await share_loop()
                entries = self._tree.live_entries(collection, keys, now=self.clock())
                if entries is not None:
                    return entries
        return await _run(self._tree.get_entries, collection, keys, now=self.clock())

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        await self._put_entries(collection, [key], [value_json], ttl=ttl, expires_at=expires_at)

    async def _put_entries(
        self, collection: str, keys: list[str], values_json: list[str], *, ttl: float | None, expires_at: float | None
    ) -> None:
        await _run(self._tree.put_entries, collection, keys, values_json, expires_at=expires_at)

    async def _delete_entry(self, collection: str, key: str) -> bool:
        return await self._delete_entries(collection, [key]) == 1

    async def _delete_entries(self, collection: str, keys: list[str]) -> int:
        return await _run(self._tree.delete_entries, collection, keys, now=self.clock())

    # -- the conditional segment (one worker-thread hop per call) ------------------------------------

    async def _get_versioned(self, collection: str, key: str) -> VersionedEntry | None:
        return await _run(self._tree.get_versioned, collection, key, now=self.clock())

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
        return await _run(
            self._tree.put_if,
            collection,
            key,
            value,
            etag=etag,
            condition=condition,
            ttl=ttl,
            expires_at=expires_at,
            retrieve=retrieve,
            clock=self.clock,
        )

    # -- optional segments --------------------------------------------------------------------------

    async def _keys(self, collection: str, *, limit: int | None) -> list[str]:
        return await _run(self._tree.keys, collection, limit=limit, now=self.clock())

    async def _collections(self, *, limit: int | None) -> list[str]:
        return await _run(self._tree.collections, limit=limit, now=self.clock())

    async def _destroy(self) -> bool:
        return await _run(self._tree.destroy)

    async def _destroy_collection(self, collection: str) -> bool:
        return await _run(self._tree.destroy_collection, collection)

    async def _cull(self) -> None:
        await _run(self._tree.cull, now=self.clock())


__all__ = [
    "FileTreeStore",
    "FileTreeV1CollectionSanitizationStrategy",
    "FileTreeV1KeySanitizationStrategy",
    "get_max_file_name_length",
    "get_max_path_length",
]

"""`FileTree`: the on-disk layout of `FileTreeStore` and every blocking operation on it.

    <root>/<layout.collection_component(collection)>/.collection.json     {"collection": raw name}
    <root>/<layout.collection_component(collection)>/<layout.key_component(key)>.json    layout.encode(...)

The layout object (names -> path components, value -> record bytes) is injected: `NativeFileTreeLayout`
(`key_value.shared.layouts.filetree`) by default, py-key-value's in `py_key_value.py`. Names the tree
makes for itself (the metadata file, temp files, trash directories) start with a dot, which no
layout may produce, so they can never be mistaken for a collection or an entry.
Each operation takes a whole batch of keys, so the async store needs one worker-thread hop per call.

Every change to a collection directory (renames of written files, deletes, removals of expired
files, the rename of a destroy) is made holding the directory's lock (`files.locked`, an `flock`), and
a conditional write holds it across its read, its check and its rename: so the check and the write are
one step for every process using this library on the directory. Reads take no lock (a rename is atomic).
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any

from key_value.aio.stores.base import Entry
from key_value.aio.stores.filetree.files import (
    TEMP_PREFIX,
    fsync_directory,
    locked,
    read_file,
    read_file_stamped,
    remove,
    write_atomic,
    write_temp,
)
from key_value.shared.codec import decode_value, encode_value
from key_value.shared.conditional import (
    ABSENT,
    DELETE_CURRENT,
    NOT_RETRIEVED,
    Absent,
    Condition,
    ConditionalResult,
    Joker,
    VersionedEntry,
    holds,
)
from key_value.shared.errors import DeserializationError, InvalidKeyError, PathSecurityError, StoreSetupError
from key_value.shared.layouts.filetree import FileTreeLayout, Versioned, raw_name

#: Holds the raw collection name; entry files never start with a dot, so it cannot clash with one.
METADATA_NAME = ".collection.json"
ENTRY_SUFFIX = ".json"
#: A destroyed collection directory is renamed to this prefix first, so it vanishes in one step.
TRASH_PREFIX = ".trash-"

#: Batches at least this large write their temp files from a few threads: concurrent fsyncs share
#: journal commits, which made 1,000-entry batches 2-3x faster on ext4 here.
PARALLEL_BATCH = 32
WRITER_THREADS = 8
#: cull() removes temp files and trash older than this; live operations hold them for milliseconds.
STALE_SECONDS = 3600.0
#: A conditional call retries this often when its collection is destroyed under it, then gives up.
DESTROYED_RETRIES = 8


def _result(
    *, satisfied: bool, actual: str | Absent, resulting: str | Absent, value: dict[str, Any] | None, retrieve: bool
) -> ConditionalResult:
    return ConditionalResult(satisfied, actual, resulting, value if retrieve else NOT_RETRIEVED)


def _no_entry(condition: Condition, etag: str | Absent, *, retrieve: bool) -> ConditionalResult:
    """The result of a call that found no entry and changed nothing (jokers on absent entries, failed inserts)."""
    return _result(
        satisfied=holds(condition, etag, ABSENT), actual=ABSENT, resulting=ABSENT, value=None, retrieve=retrieve
    )


class Found:
    """The file holding an entry's current version: its path, bytes, modification time and decoded record."""

    __slots__ = ("data", "mtime_ns", "path", "versioned")

    def __init__(self, path: str, data: bytes, mtime_ns: int, versioned: Versioned) -> None:
        self.path = path
        self.data = data
        self.mtime_ns = mtime_ns
        self.versioned = versioned

    def expired(self, now: float) -> bool:
        return _expired(self.versioned.record, now)

    def written_at(self) -> float:
        """The write time the document records, else the file's modification time (our records)."""
        recorded = self.versioned.written_at
        return self.mtime_ns / 1e9 if recorded is None else recorded

    def written_at_ns(self) -> int:
        recorded = self.versioned.written_at
        return self.mtime_ns if recorded is None else round(recorded * 1e9)


def _is_entry_name(name: str) -> bool:
    return name.endswith(ENTRY_SUFFIX) and not name.startswith(".")


def _expired(record: dict[str, Any], now: float) -> bool:
    expires_at = record["expires_at"]
    return expires_at is not None and expires_at <= now


def _entry_paths(directory: str) -> list[str]:
    """The entry files of a collection directory (no metadata, temp files or foreign names)."""
    try:
        with os.scandir(directory) as entries:
            return [entry.path for entry in entries if _is_entry_name(entry.name)]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _leftovers(directory: str, prefix: str, before: float) -> list[str]:
    """Paths in `directory` starting with `prefix` and last modified before `before` (epoch seconds).

    The age test spares the temp files and trash of operations still running in other threads or processes.
    """
    try:
        with os.scandir(directory) as entries:
            return [
                entry.path
                for entry in entries
                if entry.name.startswith(prefix) and entry.stat(follow_symlinks=False).st_mtime < before
            ]
    except FileNotFoundError:
        return []


def _component(component: str, what: str, name: str) -> str:
    """A layout's path component, refused when it would be hidden or empty (dot names are the tree's own)."""
    if not component or component.startswith("."):
        raise InvalidKeyError(
            f"the {what} maps to a file name that cannot be used: {component!r}", extra_info={what: name}
        )
    return component


class FileTree:
    """One directory per collection, one JSON record per entry; every method blocks on the disk."""

    def __init__(self, root: str, layout: FileTreeLayout) -> None:
        self.root = root
        self.layout = layout

    def prepare(self, *, create: bool) -> None:
        """Create the root if asked to, then pin it to its real path; `StoreSetupError` if it is missing."""
        try:
            if create:
                os.makedirs(self.root, exist_ok=True)
            real = os.path.realpath(self.root)
            exists = os.path.isdir(real)
        except OSError as exc:
            raise StoreSetupError(f"cannot create the data directory: {exc}", extra_info={"path": self.root}) from exc
        if not exists:
            raise StoreSetupError(
                "the data directory is missing (or not a directory); create it or pass auto_create=True",
                extra_info={"path": self.root},
            )
        self.root = real

    # -- paths ------------------------------------------------------------------------------------

    def _directory(self, collection: str) -> str:
        """The collection's directory; `PathSecurityError` unless it is a real directory right below the root."""
        path = os.path.join(
            self.root, _component(self.layout.collection_component(collection), "collection", collection)
        )
        if os.path.dirname(path) != self.root or os.path.basename(path) in ("", ".", "..") or os.path.islink(path):
            raise PathSecurityError("collection path leaves the data directory", extra_info={"collection": collection})
        return path

    def _entry_path(self, directory: str, key: str) -> str:
        path = os.path.join(directory, _component(self.layout.key_component(key), "key", key) + ENTRY_SUFFIX)
        if os.path.dirname(path) != directory:
            raise PathSecurityError("entry path leaves its collection directory", extra_info={"key": key})
        return path

    def _collection_dirs(self) -> list[str]:
        """Directories below the root that may be collections (symlinks and dot-names are never ours)."""
        with os.scandir(self.root) as entries:
            return [
                entry.path
                for entry in entries
                if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False)
            ]

    # -- entries ----------------------------------------------------------------------------------

    def get_entries(self, collection: str, keys: list[str], *, now: float) -> list[Entry | None]:
        """One live entry (or None) per key; expired files met on the way are removed."""
        directory = self._directory(collection)
        entries: list[Entry | None] = []
        for key in keys:
            record = self._live_record(self._entry_path(directory, key), now)
            entries.append(None if record is None else Entry(record["value"], record["expires_at"]))
        return entries

    def live_entries(self, collection: str, keys: list[str], *, now: float) -> list[Entry | None] | None:
        """`get_entries`, or None if it met an expired file (whose removal takes the collection's lock).

        It only reads (no lock, no write), so the async twin runs it on the event loop's thread.
        """
        directory = self._directory(collection)
        entries: list[Entry | None] = []
        for key in keys:
            data = read_file(self._entry_path(directory, key))
            if data is None:
                entries.append(None)
                continue
            record = self.layout.decode(data)
            if _expired(record, now):
                return None
            entries.append(Entry(record["value"], record["expires_at"]))
        return entries

    def put_entries(
        self, collection: str, keys: list[str], values_json: list[str], *, expires_at: float | None
    ) -> None:
        """Write each entry atomically and durably: temp file, fsync, rename, then one fsync of the directory."""
        payloads = [
            self.layout.encode(value_json, expires_at, collection=collection, key=key)
            for key, value_json in zip(keys, values_json, strict=True)
        ]
        planned = self._directory(collection)
        for key in keys:
            self._entry_path(planned, key)  # refuse a bad name before anything is created
        directory = self._make_collection(collection)
        try:
            self._write(directory, keys, payloads)
        except FileNotFoundError:  # the directory was destroyed meanwhile: make it again, once
            directory = self._make_collection(collection)
            self._write(directory, keys, payloads)

    def delete_entries(self, collection: str, keys: list[str], *, now: float) -> int:
        """Remove the keys' files; count those that held a live entry."""
        directory = self._directory(collection)
        paths = [self._entry_path(directory, key) for key in keys]
        removed: list[bytes] = []
        try:
            with locked(directory) as lock:
                for path in paths:
                    data = read_file(path)
                    if data is not None and remove(path):
                        removed.append(data)
                lock.changed = bool(removed)  # fsynced when the lock is let go
        except FileNotFoundError:  # no such collection (any more)
            return 0
        return sum(self._held_live(data, now) for data in removed)

    # -- the conditional segment ----------------------------------------------------------------

    def get_versioned(self, collection: str, key: str, *, now: float) -> VersionedEntry | None:
        """The live entry with its ETag, seconds left and write time; None if missing or expired."""
        found = self._current(*self._slot(collection, key))
        if found is None:
            return None
        if found.expired(now):
            self._remove_expired(found.path, now)
            return None
        record = found.versioned.record
        expires_at = record["expires_at"]
        ttl = None if expires_at is None else expires_at - now
        return VersionedEntry(record["value"], found.versioned.etag, ttl, found.written_at())

    def put_if(
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
        clock: Callable[[], float],
    ) -> ConditionalResult:
        """Apply `value` (JSON text or a joker) if `condition` holds, deciding under the directory's lock.

        A value's file is written (and fsynced) before the lock is taken, so the lock is held only for
        a read, the check and a rename; a call whose check fails removes it again. The clock is read
        under the lock: expiry is decided in the same step as the check.
        """
        ours, theirs = self._slot(collection, key)
        directory = os.path.dirname(ours)
        write = None
        if not isinstance(value, Joker):
            write = self.layout.encode_versioned(value, expires_at, collection=collection, key=key)
        names = (collection, key)
        attempts = 0
        while True:
            temp = None
            try:
                if write is not None:
                    if theirs is None and not os.path.isdir(directory) and not holds(condition, etag, ABSENT):
                        return _no_entry(condition, etag, retrieve=retrieve)  # no collection, so no entry: not created
                    self._make_collection(collection)
                    temp = write_temp(directory, write[0])
                with self._locked_slot(directory, theirs, required=write is not None):
                    result, changed = self._put_if_locked(
                        names,
                        ours,
                        theirs,
                        value,
                        temp=temp,
                        write=write,
                        etag=etag,
                        condition=condition,
                        ttl=ttl,
                        expires_at=expires_at,
                        retrieve=retrieve,
                        now=clock(),
                    )
                break
            except FileNotFoundError:
                if write is None and not os.path.isdir(directory):
                    return _no_entry(condition, etag, retrieve=retrieve)  # a joker on a collection that does not exist
                attempts += 1  # the collection was destroyed under this call: again, on the new one
                if attempts >= DESTROYED_RETRIES:
                    raise
            finally:
                if temp is not None:
                    remove(temp)  # a no-op once it was renamed into place
        for changed_directory in changed:
            fsync_directory(changed_directory)
        return result

    def _put_if_locked(
        self,
        names: tuple[str, str],
        ours: str,
        theirs: str | None,
        value: str | Joker,
        *,
        temp: str | None,
        write: tuple[bytes, str] | None,
        etag: str | Absent,
        condition: Condition,
        ttl: float | None,
        expires_at: float | None,
        retrieve: bool,
        now: float,
    ) -> tuple[ConditionalResult, set[str]]:
        """`put_if` with the locks held: (the result, the directories whose entries changed)."""
        found = self._current(ours, theirs)
        changed: set[str] = set()
        if found is not None and found.expired(now):
            if remove(found.path):  # expired is absent; its file goes now, under the lock
                changed.add(os.path.dirname(found.path))
            found = None
        actual: str | Absent = ABSENT if found is None else found.versioned.etag
        current = None if found is None else found.versioned.record["value"]
        if not holds(condition, etag, actual):
            return _result(satisfied=False, actual=actual, resulting=actual, value=current, retrieve=retrieve), changed
        if value is DELETE_CURRENT:
            if found is not None and remove(found.path):
                changed.add(os.path.dirname(found.path))
            changed |= self._drop_their_copy(theirs)
            return _result(satisfied=True, actual=actual, resulting=ABSENT, value=None, retrieve=retrieve), changed
        if write is None:  # KEEP_CURRENT: a live entry with a TTL gets the new expiry, with its ETag
            if found is not None and ttl is not None:
                collection, key = names
                refreshed = self.layout.with_expiry(found.data, expires_at, collection=collection, key=key)
                if found.path != ours:
                    self._make_collection(collection)  # only py-key-value's copy existed so far
                # The write time stays (the file's mtime, for our records): a refresh is not a write.
                refreshed_temp = write_temp(os.path.dirname(ours), refreshed, mtime_ns=found.written_at_ns())
                try:
                    os.replace(refreshed_temp, ours)
                finally:
                    remove(refreshed_temp)
                changed.add(os.path.dirname(ours))
                if found.path != ours:
                    changed |= self._drop_their_copy(theirs)
            return _result(satisfied=True, actual=actual, resulting=actual, value=current, retrieve=retrieve), changed
        assert temp is not None
        os.replace(temp, ours)
        changed.add(os.path.dirname(ours))
        changed |= self._drop_their_copy(theirs)
        written = decode_value(value) if retrieve and isinstance(value, str) else None
        return _result(satisfied=True, actual=actual, resulting=write[1], value=written, retrieve=retrieve), changed

    def _slot(self, collection: str, key: str) -> tuple[str, str | None]:
        """(our path of the entry, another file that may hold its current version): no other here."""
        return self._entry_path(self._directory(collection), key), None

    def _current(self, ours: str, theirs: str | None) -> Found | None:
        """The file holding the entry's current version (expired or not), None if there is none."""
        stamped = read_file_stamped(ours)
        if stamped is None:
            return None
        data, mtime_ns = stamped
        return Found(ours, data, mtime_ns, self.layout.decode_versioned(data))

    def _drop_their_copy(self, theirs: str | None) -> set[str]:
        """Hook for trees that read another layout's copy: remove it; the directories changed."""
        return set()

    @contextmanager
    def _locked_slot(self, directory: str, theirs: str | None, *, required: bool = True) -> Generator[None, None, None]:
        """Lock our `directory` and, when the entry may have another copy, its directory too (in path
        order, so two calls never wait on each other crosswise). A missing directory is skipped, except
        ours when `required`; FileNotFoundError when there is nothing to lock."""
        directories = {directory} if theirs is None else {directory, os.path.dirname(theirs)}
        with ExitStack() as stack:
            held = 0
            for path in sorted(directories):
                try:
                    stack.enter_context(locked(path))
                except FileNotFoundError:  # noqa: PERF203  (once or twice per call)
                    if required and path == directory:
                        raise
                else:
                    held += 1
            if not held:
                raise FileNotFoundError(directory)
            yield

    def _held_live(self, data: bytes, now: float) -> bool:
        try:
            return not _expired(self.layout.decode(data), now)
        except DeserializationError:
            return True  # a damaged entry still counts as deleted, so it can be cleaned up

    def _live_record(self, path: str, now: float) -> dict[str, Any] | None:
        """The record in `path` if it is live; an expired one is removed (after a re-check under the lock)."""
        data = read_file(path)
        if data is None:
            return None
        record = self.layout.decode(data)
        if not _expired(record, now):
            return record
        self._remove_expired(path, now)
        return None

    def _remove_expired(self, path: str, now: float) -> None:
        """Remove the file at `path` if it still holds an expired entry (a write may have replaced it since)."""
        try:
            with locked(os.path.dirname(path)):
                data = read_file(path)
                if data is not None and _expired(self.layout.decode(data), now):
                    remove(path)
        except FileNotFoundError:  # the collection is gone already
            pass

    def _make_collection(self, collection: str) -> str:
        """The collection's directory, created with its metadata file if either is missing."""
        directory = self._directory(collection)
        try:
            os.mkdir(directory)
        except FileExistsError:
            pass
        else:
            fsync_directory(self.root)
        self._write_metadata(collection, directory)
        return directory

    def _write_metadata(self, collection: str, directory: str) -> None:
        """Keep the raw collection name in the directory's metadata file, unless it is there already."""
        metadata = os.path.join(directory, METADATA_NAME)
        if not os.path.exists(metadata):
            # Durable with the entries: the fsync of the directory after their renames covers this one.
            write_atomic(metadata, encode_value({"collection": collection}).encode())

    def _write(self, directory: str, keys: list[str], payloads: list[bytes]) -> None:
        targets = [self._entry_path(directory, key) for key in keys]
        temps = self._write_temps(directory, payloads)
        done = 0
        try:
            with locked(directory) as lock:
                lock.changed = True  # fsynced when the lock is let go
                for temp, target in zip(temps, targets, strict=True):
                    os.replace(temp, target)
                    done += 1
        finally:
            for temp in temps[done:]:
                remove(temp)

    @staticmethod
    def _write_temps(directory: str, payloads: list[bytes]) -> list[str]:
        """One fsynced temp file per payload, in order; on any error none is left behind."""
        if len(payloads) < PARALLEL_BATCH:
            temps: list[str] = []
            try:
                for payload in payloads:
                    temp = write_temp(directory, payload)
                    temps.append(temp)
            except BaseException:
                for temp in temps:
                    remove(temp)
                raise
            return temps
        with ThreadPoolExecutor(max_workers=WRITER_THREADS) as pool:
            futures = [pool.submit(write_temp, directory, payload) for payload in payloads]
        failures = [error for error in (future.exception() for future in futures) if error is not None]
        if failures:
            for future in futures:
                if future.exception() is None:
                    remove(future.result())
            raise failures[0]
        return [future.result() for future in futures]

    # -- enumeration --------------------------------------------------------------------------------

    def keys(self, collection: str, *, limit: int | None, now: float) -> list[str]:
        """The raw keys of the collection's live entries, read from their records; at most `limit`."""
        keys: list[str] = []
        for path in _entry_paths(self._directory(collection)):
            record = self._live_record(path, now)
            if record is None:
                continue
            keys.append(self.layout.raw_key(record, path))
            if len(keys) == limit:
                break
        return keys

    def collections(self, *, limit: int | None, now: float) -> list[str]:
        """The raw names of collections holding at least one live entry; at most `limit`."""
        names: list[str] = []
        for name, directory in self._named_collections():
            if name not in names and self._holds_live_entry(name, directory, now):
                names.append(name)
                if len(names) == limit:
                    break
        return names

    def _named_collections(self) -> list[tuple[str, str]]:
        """(raw name, directory) of this store's collections: the directories with a metadata file."""
        named: list[tuple[str, str]] = []
        for directory in self._collection_dirs():
            data = read_file(os.path.join(directory, METADATA_NAME))
            if data is not None:  # else not (yet) one of ours
                named.append((raw_name(decode_value(data), "collection", directory), directory))
        return named

    def _holds_live_entry(self, collection: str, directory: str, now: float) -> bool:
        return any(self._live_record(path, now) is not None for path in _entry_paths(directory))

    # -- destroy and cull ---------------------------------------------------------------------------

    def destroy_collection(self, collection: str) -> bool:
        """Delete the collection's directory; True if it held any entry."""
        return self._discard([self._directory(collection)])

    def destroy(self) -> bool:
        """Delete every collection directory of this store (those with a metadata file); foreign files stay."""
        return self._discard([directory for _, directory in self._named_collections()])

    def _discard(self, directories: list[str]) -> bool:
        """Rename each directory to a trash name (so it vanishes at once and racing writes recreate a fresh
        one), make the renames durable, then delete the trash; True if any held an entry."""
        trash: list[str] = []
        for directory in directories:
            target = os.path.join(self.root, TRASH_PREFIX + secrets.token_hex(8))
            try:
                with locked(directory):  # waits for the conditional calls and writes in flight there
                    os.rename(directory, target)
            except FileNotFoundError:
                continue
            trash.append(target)
        if not trash:
            return False
        fsync_directory(self.root)
        held = any(_entry_paths(path) for path in trash)
        for path in trash:
            shutil.rmtree(path, ignore_errors=True)  # already gone from the store's view; cull() sweeps leftovers
        return held

    def cull(self, *, now: float) -> None:
        """Remove expired entries, and the temp files and trash that a crash in the middle of a write or a
        destroy left behind."""
        stale_before = time.time() - STALE_SECONDS
        for directory in self._collection_dirs():
            for path in _entry_paths(directory):
                self._live_record(path, now)
            for path in _leftovers(directory, TEMP_PREFIX, stale_before):
                remove(path)
        for path in _leftovers(self.root, TRASH_PREFIX, stale_before):
            shutil.rmtree(path, ignore_errors=True)

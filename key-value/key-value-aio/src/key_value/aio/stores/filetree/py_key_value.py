"""FileTreeStore's compatibility with py-key-value-aio 0.4.x: its layout, and reading what it left behind.

py-key-value keeps `<data_directory>/<collection>/<key>.json`, both names through its sanitization
strategies (by default none: names as they are), each file one `BasicSerializationAdapter` document
(`{"created_at", "expires_at"?, "value", "version": 1}`, ISO 8601 times), and, for each collection,
`<metadata_directory>/<collection>-info.json` (`{"collection", "created_at", "directory", "version"}`).

- `PyKeyValueLayout` names files and encodes documents that way. With `exact=True`
  (`layout="py-key-value"`) the files are exactly py-key-value's; without (FastMCP's call: its V1
  strategies with the default layout) the documents also carry the raw key and collection, which
  py-key-value ignores, so that listings can name sanitized entries.
- `PyKeyValueTree` keeps py-key-value's `-info.json` files instead of our `.collection.json`.
- `TransparentTree` is the native tree over a directory where py-key-value's default store wrote: the
  store switches to it at setup when it finds `-info.json` files, so a directory without them costs
  nothing. In those collections a key missing at our path is looked up at py-key-value's, our write
  or delete removes py-key-value's file, listings and destroys cover both.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from typing import Any, TypeGuard, cast

from key_value.aio.stores.base import Entry
from key_value.aio.stores.filetree.files import (
    fsync_directory,
    locked,
    read_file,
    read_file_stamped,
    remove,
    write_atomic,
)
from key_value.aio.stores.filetree.tree import ENTRY_SUFFIX, FileTree, Found, _entry_paths  # pyright: ignore[reportPrivateUsage]
from key_value.shared.codec import decode_value
from key_value.shared.compat.managed_entry import ManagedEntry, dump_to_json
from key_value.shared.compat.records import AdapterRecords
from key_value.shared.compat.sanitization import SanitizationStrategy
from key_value.shared.compat.serialization import BasicSerializationAdapter, SerializationAdapter
from key_value.shared.compat.strategies import MAX_FILE_NAME_LENGTH, sanitized
from key_value.shared.errors import DeserializationError, InvalidKeyError, StoreSetupError
from key_value.shared.layouts.filetree import NativeFileTreeLayout, Versioned, content_etag
from key_value.shared.records import decode_record

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)

#: py-key-value's collection metadata file: `<metadata_directory>/<collection component>-info.json`.
INFO_SUFFIX = "-info.json"


def as_is(name: str, what: str, suffix: str) -> str:
    """`name` as py-key-value's default (pass-through) strategy leaves it, if it is one file name here.

    `InvalidKeyError` for names py-key-value would nest in directories or send out of its own (`/`,
    `.`, `..`), hide (a leading dot, which this store keeps for its own files), or that do not fit.
    """
    if (
        not name
        or name.startswith(".")
        or "/" in name
        or "\x00" in name
        or os.sep in name
        or len((name + suffix).encode("utf-8", "surrogatepass")) > MAX_FILE_NAME_LENGTH
    ):
        raise InvalidKeyError(
            f"py-key-value's layout cannot keep this {what} as one file name here", extra_info={what: name}
        )
    return name


class PyKeyValueLayout(NativeFileTreeLayout):
    """Names through the given strategies, documents through an adapter (py-key-value's basic one by default).

    Names without a strategy pass through unchanged when `exact`, else are ours.
    """

    def __init__(
        self,
        *,
        key_strategy: SanitizationStrategy | None = None,
        collection_strategy: SanitizationStrategy | None = None,
        adapter: SerializationAdapter | None = None,
        exact: bool = False,
    ) -> None:
        self.key_strategy = key_strategy
        self.collection_strategy = collection_strategy
        self.exact = exact
        self.records = AdapterRecords(adapter or BasicSerializationAdapter(), raw_names=not exact)

    def collection_component(self, collection: str) -> str:
        if self.collection_strategy is not None:
            return sanitized(self.collection_strategy, collection)
        if self.exact:
            return as_is(collection, "collection", INFO_SUFFIX)
        return super().collection_component(collection)

    def key_component(self, key: str) -> str:
        if self.key_strategy is not None:
            return sanitized(self.key_strategy, key)
        if self.exact:
            return as_is(key, "key", ENTRY_SUFFIX)
        return super().key_component(key)

    def encode(self, value_json: str, expires_at: float | None, *, collection: str, key: str) -> bytes:
        return self.records.encode(value_json, expires_at, collection=collection, key=key).encode()

    def decode(self, data: bytes) -> dict[str, Any]:
        return self.records.decode(data)

    # py-key-value's documents have no room for a version: their ETag is a hash of the write time
    # (`created_at`, microseconds) and the value, and a TTL refresh keeps both, so it keeps the ETag.

    def encode_versioned(
        self, value_json: str, expires_at: float | None, *, collection: str, key: str
    ) -> tuple[bytes, str]:
        data = self.encode(value_json, expires_at, collection=collection, key=key)
        return data, self.decode_versioned(data).etag

    def decode_versioned(self, data: bytes) -> Versioned:
        record = self.records.decode(data)
        created = self._entry(data).created_at
        value = json.dumps(record["value"], sort_keys=True, separators=(",", ":"))
        if created is None:
            return Versioned(record, content_etag("", value), None)
        if created.tzinfo is None:
            return Versioned(record, content_etag(created.isoformat(), value), None)
        instant = (created - _EPOCH) // _MICROSECOND
        return Versioned(record, content_etag(str(instant), value), created.timestamp())

    def with_expiry(self, data: bytes, expires_at: float | None, *, collection: str, key: str) -> bytes:
        entry = self._entry(data)
        entry = ManagedEntry(
            value=entry.value,
            created_at=entry.created_at,
            expires_at=None if expires_at is None else datetime.fromtimestamp(expires_at, tz=timezone.utc),
        )
        adapter = self.records.adapter
        if self.records.raw_names:
            return adapter.dump_json(entry, key=key, collection=collection).encode()
        return adapter.dump_json(entry).encode()

    def _entry(self, data: bytes) -> ManagedEntry:
        return self.records.adapter.load_dict(dict(decode_value(data)))

    def raw_key(self, record: dict[str, Any], path: str) -> str:
        key = record.get("key")
        if isinstance(key, str):
            return key
        stem = os.path.basename(path).removesuffix(ENTRY_SUFFIX)
        if self._kept(stem):
            return stem  # a name the layout keeps as it is: the raw key
        raise DeserializationError(
            "this entry file holds no raw key and its name was sanitized: rewrite it to list it",
            extra_info={"path": path},
        )

    def _kept(self, name: str) -> bool:
        try:
            return self.key_component(name) == name
        except InvalidKeyError:  # a reserved name (`S_...`): only ever a sanitized one
            return False


def layout_for(
    *,
    key_strategy: SanitizationStrategy | None,
    collection_strategy: SanitizationStrategy | None,
    adapter: SerializationAdapter | None,
    exact: bool,
) -> PyKeyValueLayout | None:
    """py-key-value's layout when asked for (`exact`) or when any of its options is given, else None (native)."""
    if not exact and key_strategy is None and collection_strategy is None and adapter is None:
        return None
    return PyKeyValueLayout(
        key_strategy=key_strategy, collection_strategy=collection_strategy, adapter=adapter, exact=exact
    )


def _info_document(path: str) -> dict[str, Any] | None:
    """The collection info in a py-key-value `-info.json` file; None if the file is gone or not one."""
    data = read_file(path)
    if data is None:
        return None
    try:
        info: Any = json.loads(data)
    except ValueError:
        return None
    if not isinstance(info, dict):
        return None
    document = cast("dict[str, Any]", info)
    return document if isinstance(document.get("collection"), str) and "directory" in document else None


def info_files(metadata_root: str) -> list[tuple[str, str]]:
    """(path, raw collection name) of each py-key-value `-info.json` file in `metadata_root`."""
    found: list[tuple[str, str]] = []
    try:
        with os.scandir(metadata_root) as entries:
            paths = [entry.path for entry in entries if entry.name.endswith(INFO_SUFFIX) and entry.is_file()]
    except FileNotFoundError:
        return found
    for path in paths:
        info = _info_document(path)
        if info is not None:
            found.append((path, info["collection"]))
    return found


class PyKeyValueTree(FileTree):
    """A tree whose collections are named by py-key-value's `-info.json` files, in `metadata_root`.

    Collection directories that an earlier version of this store named with `.collection.json` are
    still listed and destroyed; none is written.
    """

    def __init__(self, root: str, layout: PyKeyValueLayout, metadata_root: str) -> None:
        super().__init__(root, layout)
        self.metadata_root = metadata_root

    def prepare(self, *, create: bool) -> None:
        super().prepare(create=create)
        try:
            if create:
                os.makedirs(self.metadata_root, exist_ok=True)
            real = os.path.realpath(self.metadata_root)
            exists = os.path.isdir(real)
        except OSError as exc:
            raise StoreSetupError(
                f"cannot create the metadata directory: {exc}", extra_info={"path": self.metadata_root}
            ) from exc
        if not exists:
            raise StoreSetupError("the metadata directory is missing", extra_info={"path": self.metadata_root})
        self.metadata_root = real

    def _info_path(self, collection: str) -> str:
        return os.path.join(self.metadata_root, self.layout.collection_component(collection) + INFO_SUFFIX)

    def _write_metadata(self, collection: str, directory: str) -> None:
        path = self._info_path(collection)
        if not os.path.exists(path):
            info = {
                "collection": collection,
                "created_at": datetime.now(tz=timezone.utc).isoformat(),
                "directory": directory,
                "version": 1,
            }
            write_atomic(path, dump_to_json(info).encode())
            fsync_directory(self.metadata_root)

    def _named_collections(self) -> list[tuple[str, str]]:
        named = {directory: name for name, directory in super()._named_collections()}
        for _, collection in info_files(self.metadata_root):
            directory = self._addressable(collection)
            if directory is not None:  # else a name this layout cannot address (py-key-value refuses it too)
                named.setdefault(directory, collection)
        return [(name, directory) for directory, name in named.items()]

    def _addressable(self, collection: str) -> str | None:
        try:
            return self._directory(collection)
        except InvalidKeyError:
            return None

    def destroy_collection(self, collection: str) -> bool:
        held = super().destroy_collection(collection)
        remove(self._info_path(collection))
        return held

    def destroy(self) -> bool:
        return destroy_with_info_files(self, self.metadata_root)


class TransparentLayout(NativeFileTreeLayout):
    """Our records, and py-key-value's default documents where it left them (records without a `key`)."""

    legacy = PyKeyValueLayout(exact=True)

    def decode(self, data: bytes) -> dict[str, Any]:
        try:
            record = decode_record(data)
        except DeserializationError:
            return self.legacy.decode(data)  # py-key-value's document, or its own error
        return record if "key" in record or "version" not in record else self.legacy.decode(data)

    def decode_versioned(self, data: bytes) -> Versioned:
        try:
            record = decode_record(data)
        except DeserializationError:
            return self.legacy.decode_versioned(data)
        if "key" in record or "version" not in record:
            return super().decode_versioned(data)
        return self.legacy.decode_versioned(data)


def _is_ours(record: dict[str, Any] | None) -> TypeGuard[dict[str, Any]]:
    """True for our records (they always carry the raw key), False for py-key-value's documents and None."""
    return record is not None and "key" in record


class TransparentTree(FileTree):
    """The native tree over a directory that also holds py-key-value's default layout (`legacy` collections).

    Paths coincide for names our encoding keeps as they are (lower-case letters, digits, `-`, `_`);
    there the file holds either document. Elsewhere py-key-value's file is read when ours is missing,
    and removed when ours is written or deleted, so it never comes back once ours expires.
    """

    def __init__(self, root: str, metadata_root: str, legacy: set[str]) -> None:
        super().__init__(root, TransparentLayout())
        self.metadata_root = metadata_root
        self.legacy = legacy

    def _legacy_path(self, collection: str, key: str) -> str | None:
        """py-key-value's file for the entry, if the names can be one (else it cannot have written it)."""
        try:
            directory = os.path.join(self.root, as_is(collection, "collection", INFO_SUFFIX))
            return os.path.join(directory, as_is(key, "key", ENTRY_SUFFIX) + ENTRY_SUFFIX)
        except InvalidKeyError:
            return None

    def _paths(self, collection: str, keys: list[str]) -> list[tuple[str, str | None]]:
        """(our path, py-key-value's path if it is another) per key."""
        directory = self._directory(collection)
        pairs: list[tuple[str, str | None]] = []
        for key in keys:
            ours, theirs = self._entry_path(directory, key), self._legacy_path(collection, key)
            pairs.append((ours, None if theirs == ours else theirs))
        return pairs

    def get_entries(self, collection: str, keys: list[str], *, now: float) -> list[Entry | None]:
        if collection not in self.legacy:
            return super().get_entries(collection, keys, now=now)
        entries: list[Entry | None] = []
        for ours, theirs in self._paths(collection, keys):
            record = self._live_record(ours, now)
            if theirs is not None and not _is_ours(record):  # missing, or py-key-value's file of another collection
                record = self._live_record(theirs, now)
                record = None if _is_ours(record) else record
            entries.append(None if record is None else Entry(record["value"], record["expires_at"]))
        return entries

    def put_entries(
        self, collection: str, keys: list[str], values_json: list[str], *, expires_at: float | None
    ) -> None:
        super().put_entries(collection, keys, values_json, expires_at=expires_at)
        if collection in self.legacy:
            theirs = [path for _, path in self._paths(collection, keys) if path is not None]
            self._remove_theirs(theirs, [])

    def delete_entries(self, collection: str, keys: list[str], *, now: float) -> int:
        if collection not in self.legacy:
            return super().delete_entries(collection, keys, now=now)
        live = 0
        for ours, theirs in self._paths(collection, keys):
            removed: list[bytes] = []
            changed: set[str] = set()
            with self._locked_slot(os.path.dirname(ours), theirs, required=False):  # both copies go in one step
                data = read_file(ours)
                if data is not None and (theirs is None or _is_ours(self._decoded(data))) and remove(ours):
                    removed.append(data)
                    changed.add(os.path.dirname(ours))
                if theirs is not None and self._remove_their_file(theirs, removed):
                    changed.add(os.path.dirname(theirs))
            for directory in changed:
                fsync_directory(directory)
            live += any(self._held_live(data, now) for data in removed)
        return live

    # -- the conditional segment: py-key-value's copy is the current version while ours is missing --

    def _slot(self, collection: str, key: str) -> tuple[str, str | None]:
        if collection not in self.legacy:
            return super()._slot(collection, key)
        [(ours, theirs)] = self._paths(collection, [key])
        return ours, theirs

    def _current(self, ours: str, theirs: str | None) -> Found | None:
        found = super()._current(ours, theirs)
        if theirs is None or (found is not None and _is_ours(found.versioned.record)):
            return found
        stamped = read_file_stamped(theirs)  # ours is missing, or is py-key-value's file of another collection
        if stamped is None:
            return None
        data, mtime_ns = stamped
        versioned = self.layout.decode_versioned(data)
        return None if _is_ours(versioned.record) else Found(theirs, data, mtime_ns, versioned)

    def _drop_their_copy(self, theirs: str | None) -> set[str]:
        if theirs is not None and self._remove_their_file(theirs, []):
            return {os.path.dirname(theirs)}
        return set()

    def _decoded(self, data: bytes) -> dict[str, Any] | None:
        try:
            return self.layout.decode(data)
        except DeserializationError:
            return None

    def _remove_theirs(self, paths: list[str], removed: list[bytes]) -> None:
        """Remove py-key-value's files at `paths` (ours found there stay), adding their bytes to `removed`."""
        directories: set[str] = set()
        for path in paths:
            try:
                with locked(os.path.dirname(path)):
                    if self._remove_their_file(path, removed):
                        directories.add(os.path.dirname(path))
            except FileNotFoundError:  # noqa: PERF203  (no such directory: nothing to remove)
                pass
        for directory in directories:
            fsync_directory(directory)

    def _remove_their_file(self, path: str, removed: list[bytes]) -> bool:
        """Remove py-key-value's file at `path` (ours found there stays), adding its bytes to `removed`.

        The caller holds the lock of the file's directory.
        """
        data = read_file(path)
        if data is not None and not _is_ours(self._decoded(data)) and remove(path):
            removed.append(data)
            return True
        return False

    def keys(self, collection: str, *, limit: int | None, now: float) -> list[str]:
        if collection not in self.legacy:
            return super().keys(collection, limit=limit, now=now)
        directory = self._directory(collection)
        theirs = self._legacy_directory(collection)
        found: dict[str, None] = {}
        for path in _entry_paths(directory):
            record = self._live_record(path, now)
            if _is_ours(record):
                found[self.layout.raw_key(record, path)] = None
            elif record is not None and theirs == directory:
                found[os.path.basename(path).removesuffix(ENTRY_SUFFIX)] = None
        if theirs is not None and theirs != directory:
            for path in _entry_paths(theirs):
                record = self._live_record(path, now)
                if record is not None and not _is_ours(record):
                    found[os.path.basename(path).removesuffix(ENTRY_SUFFIX)] = None
        names = list(found)
        return names if limit is None else names[:limit]

    def _legacy_directory(self, collection: str) -> str | None:
        try:
            return os.path.join(self.root, as_is(collection, "collection", INFO_SUFFIX))
        except InvalidKeyError:
            return None

    def _named_collections(self) -> list[tuple[str, str]]:
        """Ours, and py-key-value's (a name may come twice, with our directory and with py-key-value's)."""
        named = {directory: name for name, directory in super()._named_collections()}
        for _, collection in info_files(self.metadata_root):
            directory = self._legacy_directory(collection)
            if directory is not None and os.path.isdir(directory) and not os.path.islink(directory):
                named.setdefault(directory, collection)
        return [(name, directory) for directory, name in named.items()]

    def _holds_live_entry(self, collection: str, directory: str, now: float) -> bool:
        if collection in self.legacy:
            return bool(self.keys(collection, limit=1, now=now))
        return super()._holds_live_entry(collection, directory, now)

    def destroy_collection(self, collection: str) -> bool:
        held = super().destroy_collection(collection)
        if collection not in self.legacy:
            return held
        theirs = self._legacy_directory(collection)
        if theirs is not None and os.path.isdir(theirs) and not os.path.islink(theirs):
            held = self._discard([theirs]) or held
        remove(os.path.join(self.metadata_root, collection + INFO_SUFFIX))
        return held

    def destroy(self) -> bool:
        return destroy_with_info_files(self, self.metadata_root)


def destroy_with_info_files(tree: FileTree, metadata_root: str) -> bool:
    """Destroy the tree's collections (`_named_collections`), then the `-info.json` files naming them.

    Info files of collections the tree cannot address stay, as their directories do.
    """
    named = tree._named_collections()  # pyright: ignore[reportPrivateUsage]
    held = tree._discard([directory for _, directory in named])  # pyright: ignore[reportPrivateUsage]
    destroyed = {name for name, _ in named}
    for path, collection in info_files(metadata_root):
        if collection in destroyed:
            remove(path)
    return held


def py_key_value_collections(metadata_root: str) -> set[str]:
    """The collections py-key-value's default FileTreeStore made in `metadata_root` (its `-info.json` files)."""
    return {collection for _, collection in info_files(metadata_root)}


__all__ = [
    "INFO_SUFFIX",
    "PyKeyValueLayout",
    "PyKeyValueTree",
    "TransparentTree",
    "as_is",
    "layout_for",
    "py_key_value_collections",
]

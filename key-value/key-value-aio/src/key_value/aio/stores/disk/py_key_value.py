"""py-key-value-aio 0.4.x's entries in a diskcache: reading, writing, listing and removing them.

The disk stores call these (through `_run`, on their worker thread) for `layout="py-key-value"`, and,
with the native layout, when set-up found py-key-value data to read. Names and documents come from
`key_value.shared.compat.layouts.disk`; py-key-value writes its entries untagged, so an entry with a
tag (ours) is never taken for one of its. Every function here reads the documents it lists, so
listing costs O(entries looked at), as py-key-value's data carries its raw names only there.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any, cast

from key_value.aio.stores.base import Entry
from key_value.aio.stores.disk.cache import CacheAPI
from key_value.shared.compat.compound import uncompound_key
from key_value.shared.compat.layouts.disk import PY_KEY_VALUE_DISK_LAYOUT
from key_value.shared.errors import InvalidArgumentTypeError
from key_value.shared.layouts.disk import DiskLayout, NativeDiskLayout

LAYOUT = PY_KEY_VALUE_DISK_LAYOUT

#: diskcache's database file: a directory holding it is a cache.
DATABASE = "cache.db"

#: Live untagged text keys in [start, stop), in key order; joined so the generated twin keeps short lines.
_UNTAGGED_RANGE = " ".join(
    (
        "SELECT key FROM Cache",
        "WHERE key >= ? AND key < ? AND raw = 1 AND tag IS NULL",
        "AND (expire_time IS NULL OR expire_time > ?)",
        "ORDER BY key",
    )
)
_UNTAGGED = "SELECT key FROM Cache WHERE raw = 1 AND tag IS NULL AND (expire_time IS NULL OR expire_time > ?)"
_FIRST_BELOW = "SELECT 1 FROM Cache WHERE key < ? LIMIT 1"
_FIRST_FROM = "SELECT 1 FROM Cache WHERE key >= ? LIMIT 1"
_NEXT_IN = "SELECT key, tag FROM Cache WHERE key >= ? AND key < ? AND raw = 1 ORDER BY key LIMIT 1"
_OTHER_IN = "SELECT 1 FROM Cache WHERE key >= ? AND key < ? AND (tag IS NULL OR tag != ?) LIMIT 1"
_NATIVE_HEAD = re.compile(r"[1-9][0-9]*:")


def _sql(cache: CacheAPI, statement: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Rows of one SELECT on the cache's own connection (so it joins a running `transact()`)."""
    execute = cast("Any", cache)._sql  # the cache's connection for the calling thread
    return cast("list[tuple[Any, ...]]", execute(statement, parameters).fetchall())


def stored(cache: CacheAPI, name: str) -> tuple[object, float | None, str | None]:
    """(value, diskcache's expire time, tag) of a live key; (None, None, None) when there is none."""
    return cast("tuple[object, float | None, str | None]", cast("Any", cache).get(name, expire_time=True, tag=True))


# -- one cache per store (DiskStore): names `collection::key` ---------------------------------------


def holds_foreign_names(cache: CacheAPI, native: DiskLayout, tag: str) -> bool:
    """True if the cache may hold py-key-value entries: a key outside the native layout's, or untagged in it.

    O(log N) outside the native range (two index probes); inside it, for the native layout, one probe
    per distinct collection-name length, since a py-key-value name there starts with a digit too.
    """
    start, stop = native.every_collection_range()
    if _sql(cache, _FIRST_BELOW, (start,)) or _sql(cache, _FIRST_FROM, (stop,)):
        return True
    if type(native) is not NativeDiskLayout:
        return False
    position = start
    while found := _sql(cache, _NEXT_IN, (position, stop)):
        name, found_tag = found[0]
        head = _NATIVE_HEAD.match(name)
        if found_tag != tag or head is None:
            return True
        prefix = head.group()
        # `123::key` (collection "123") sorts among the native names of 123-character collections.
        if _sql(cache, _OTHER_IN, (prefix + ":", prefix + ";", tag)):
            return True
        position = prefix[:-1] + ";"  # past every name with this length prefix
    return False


def read(cache: CacheAPI, collection: str, key: str) -> Entry | None:
    """py-key-value's entry of (collection, key), or None."""
    value, expire_time, tag = stored(cache, LAYOUT.entry_name(collection, key))
    if tag is not None:
        return None
    return LAYOUT.decode(value, expire_time, collection=collection, key=key)


def write_many(cache: CacheAPI, collection: str, keys: list[str], values_json: list[str], *, ttl: float | None) -> None:
    """Store each value as py-key-value does (untagged document, diskcache `expire`), in one transaction."""
    expires_at = None if ttl is None else time.time() + ttl
    put = cache.set
    with cache.transact():
        for key, value_json in zip(keys, values_json, strict=True):
            document = LAYOUT.encode(value_json, expires_at, collection=collection, key=key)
            put(LAYOUT.entry_name(collection, key), document, ttl)


def delete(cache: CacheAPI, collection: str, key: str) -> bool:
    """Delete py-key-value's entry of (collection, key), if there is one; True if it was live."""
    name = LAYOUT.entry_name(collection, key)
    value, _, tag = stored(cache, name)
    return tag is None and LAYOUT.owns(value, collection=collection, key=key) and cache.delete(name)


def _owner(name: str, stored: object) -> tuple[str, str] | None:
    """The (collection, key) of the py-key-value entry `stored` under `name`, or None if it is none."""
    document = LAYOUT.document(stored)
    if document is None:
        return None
    collection, key = LAYOUT.owner(document)
    if collection is None or key is None:
        try:
            return uncompound_key(name)
        except InvalidArgumentTypeError:
            return None
    return (collection, key) if LAYOUT.entry_name(collection, key) == name else None


def _owned(cache: CacheAPI, names: Iterable[str]) -> Iterator[tuple[str, tuple[str, str]]]:
    get = cache.get
    for name in names:
        owner = _owner(name, get(name))
        if owner is not None:
            yield name, owner


def keys(cache: CacheAPI, collection: str, *, now: float, limit: int | None) -> list[str]:
    """The keys of `collection`'s live py-key-value entries, in name order, at most `limit`."""
    start, stop = LAYOUT.collection_range(collection)
    with cache.transact():
        names = [row[0] for row in _sql(cache, _UNTAGGED_RANGE, (start, stop, now))]
        found = (key for _, (owner, key) in _owned(cache, names) if owner == collection)
        return list(islice(found, limit))


def collections(cache: CacheAPI, *, now: float) -> list[str]:
    """Every collection holding a live py-key-value entry (reads each untagged entry: O(N))."""
    with cache.transact():
        names = [row[0] for row in _sql(cache, _UNTAGGED, (now,)) if isinstance(row[0], str)]
        return sorted({owner for _, (owner, _) in _owned(cache, names)})


def delete_collection(cache: CacheAPI, collection: str, *, now: float) -> int:
    """Delete `collection`'s py-key-value entries; how many were live."""
    start, stop = LAYOUT.collection_range(collection)
    with cache.transact():
        names = [row[0] for row in _sql(cache, _UNTAGGED_RANGE, (start, stop, now))]
        owned = [name for name, (owner, _) in _owned(cache, names) if owner == collection]
        return sum(map(cache.delete, owned))


def delete_all(cache: CacheAPI, *, now: float) -> int:
    """Delete every py-key-value entry in the cache (and nothing else); how many were live."""
    with cache.transact():
        names = [row[0] for row in _sql(cache, _UNTAGGED, (now,)) if isinstance(row[0], str)]
        return sum(map(cache.delete, [name for name, _ in _owned(cache, names)]))


# -- one cache per collection (MultiDiskStore): raw keys -------------------------------------------


def cache_directories(base: Path) -> set[str]:
    """The directories under `base` holding a diskcache directly ("" for `base` itself): py-key-value's caches."""
    try:
        entries = list(base.iterdir())
    except FileNotFoundError:
        return set()
    found = {entry.name for entry in entries if (entry / DATABASE).is_file()}
    return found | {""} if (base / DATABASE).is_file() else found


def read_raw(cache: CacheAPI, collection: str, key: str) -> Entry | None:
    """py-key-value's entry of `key` in a collection's cache, or None (another colliding collection's too)."""
    value, expire_time, tag = stored(cache, key)
    if tag is not None:
        return None
    return LAYOUT.decode(value, expire_time, collection=collection, key=key)


def write_raw(cache: CacheAPI, collection: str, keys: list[str], values_json: list[str], *, ttl: float | None) -> None:
    """Store each value in a collection's cache as py-key-value does, in one transaction."""
    expires_at = None if ttl is None else time.time() + ttl
    put = cache.set
    with cache.transact():
        for key, value_json in zip(keys, values_json, strict=True):
            put(key, LAYOUT.encode(value_json, expires_at, collection=collection, key=key), ttl)


def delete_raw(cache: CacheAPI, collection: str, key: str) -> bool:
    """Delete py-key-value's entry of `key` in a collection's cache if it is `collection`'s; True if it was live."""
    value, _, tag = stored(cache, key)
    return tag is None and LAYOUT.owns(value, collection=collection, key=key) and cache.delete(key)


def raw_owners(cache: CacheAPI, directory: str, *, now: float) -> Iterator[tuple[str, str]]:
    """(collection, key) of each live py-key-value entry in a collection's cache, in key order.

    A document without its collection is named by the directory, the only name it has.
    """
    get = cache.get
    for (key,) in _sql(cache, _UNTAGGED + " ORDER BY key", (now,)):
        document = LAYOUT.document(get(key)) if isinstance(key, str) else None
        owner = None if document is None else LAYOUT.owner(document)[0] or directory
        if owner:  # not a document, or one without its collection in the base directory itself
            yield owner, key


def raw_keys(cache: CacheAPI, collection: str, directory: str, *, now: float, limit: int | None) -> list[str]:
    """The keys of `collection`'s live py-key-value entries in its cache, at most `limit`."""
    with cache.transact():
        owned = (key for owner, key in raw_owners(cache, directory, now=now) if owner == collection)
        return list(islice(owned, limit))


def raw_collections(cache: CacheAPI, directory: str, *, now: float) -> set[str]:
    """The collections holding a live py-key-value entry in one cache (several when their names collide)."""
    with cache.transact():
        return {owner for owner, _ in raw_owners(cache, directory, now=now)}


def delete_raw_collection(cache: CacheAPI, collection: str, directory: str, *, now: float) -> int:
    """Delete `collection`'s py-key-value entries from its cache; how many were live."""
    with cache.transact():
        owned = [key for owner, key in raw_owners(cache, directory, now=now) if owner == collection]
        return sum(map(cache.delete, owned))


def delete_raw_all(cache: CacheAPI, directory: str, *, now: float) -> int:
    """Delete every py-key-value entry from a collection's cache (expired ones too); how many were live."""
    with cache.transact():
        owned = [key for _, key in raw_owners(cache, directory, now=now)]
        deleted = sum(map(cache.delete, owned))
        cache.expire(now)
        return deleted

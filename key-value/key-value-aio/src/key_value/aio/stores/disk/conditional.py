"""The conditional segment on diskcache: one entry's check and write, run inside the caller's `transact()`.

A store opens `transact()` (SQLite's BEGIN IMMEDIATE: one writer at a time, in every process using
the cache) around `put_if`, so reading the current ETag, comparing it and writing are one step.
What an entry is in diskcache depends on the layout; a `Slot` hides that:

- `NativeSlot`: our record under one name. Its ETag is the record's version, a random token every
  write (plain or conditional) draws anew; a record without one (written before versions existed,
  or a py-key-value document in a factory's cache) is named by a hash of its stored text.
- `TheirSlot`: py-key-value's document of (collection, key), named by a hash of its text (each of its
  writes stamps `created_at`, so a rewrite of an equal value still changes it).
- `BothSlot`: ours, else py-key-value's; a satisfied change leaves our record alone (or nothing).

Expiry: an entry whose `expires_at` has passed on the store's clock at the time of the check is
absent, as is one diskcache already hides (its own expire time passed).
"""

from __future__ import annotations

import hashlib
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Generator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from key_value.aio.stores.disk import py_key_value
from key_value.aio.stores.disk.cache import CacheAPI
from key_value.shared.codec import decode_value, encode_value
from key_value.shared.conditional import (
    ABSENT,
    NOT_RETRIEVED,
    Absent,
    Condition,
    ConditionalResult,
    Joker,
    VersionedEntry,
    holds,
)
from key_value.shared.errors import DeserializationError
from key_value.shared.layouts.disk import DiskLayout

LAYOUT = py_key_value.LAYOUT


def new_version() -> str:
    """A fresh version token (64 random bits, hex): the ETag of one write."""
    return os.urandom(8).hex()


def new_versions(count: int) -> list[str]:
    """`count` fresh version tokens, drawn with one system call."""
    text = os.urandom(8 * count).hex()
    return [text[start : start + 16] for start in range(0, 16 * count, 16)]


def content_etag(stored: str) -> str:
    """The ETag of a stored text without a version: a hash of it (32 hex digits, never a 16-digit token)."""
    return hashlib.blake2b(stored.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass(slots=True)
class Current:
    """A live entry found by a slot: its ETag, times, the stored text, and its value once decoded."""

    etag: str
    expires_at: float | None
    written_at: float | None
    stored: str
    #: The slot that found it (a `BothSlot` asks which of its two did).
    source: Slot
    #: Decoded value, or None until `Slot.value` decodes it.
    decoded: dict[str, Any] | None = None
    #: True when the record carries a version (a refresh can keep the text and change only the expiry).
    versioned: bool = False


class Slot(ABC):
    """Where one (collection, key) lives in diskcache, and how to read, write, refresh and delete it there."""

    @abstractmethod
    def read(self, now: float) -> Current | None:
        """The live entry, or None if missing or expired at `now` (the store's clock)."""

    def value(self, current: Current) -> dict[str, Any]:
        """The value of an entry this slot found (decoded once)."""
        if current.decoded is None:
            current.decoded = self._decode(current)
        return current.decoded

    @abstractmethod
    def _decode(self, current: Current) -> dict[str, Any]: ...

    @abstractmethod
    def write(self, value_json: str, *, ttl: float | None, expires_at: float | None, now: float) -> str:
        """Store a new value; return its ETag."""

    @abstractmethod
    def refresh(self, current: Current, *, ttl: float, expires_at: float, now: float) -> None:
        """Give the live entry `current` a new expiry, keeping its value and ETag."""

    @abstractmethod
    def delete(self, current: Current) -> None:
        """Delete the live entry `current`."""


class NoSlot(Slot):
    """A collection without a cache (and no write to create one): nothing is there."""

    def read(self, now: float) -> Current | None:
        return None

    def _decode(self, current: Current) -> dict[str, Any]:
        raise AssertionError("nothing to decode")

    def write(self, value_json: str, *, ttl: float | None, expires_at: float | None, now: float) -> str:
        raise AssertionError("a write opens the collection's cache")

    def refresh(self, current: Current, *, ttl: float, expires_at: float, now: float) -> None:
        raise AssertionError("nothing to refresh")

    def delete(self, current: Current) -> None:
        raise AssertionError("nothing to delete")


class NativeSlot(Slot):
    """Our record under `name` in `cache` (`documents`: a factory's cache, which may hold py-key-value's)."""

    def __init__(self, cache: CacheAPI, name: str, layout: DiskLayout, *, tag: str | None, documents: bool) -> None:
        self.cache, self.name, self.layout, self.tag, self.documents = cache, name, layout, tag, documents

    def read(self, now: float) -> Current | None:
        stored = self.cache.get(self.name)
        if stored is None:
            return None
        stamp = self.layout.stamp(stored)
        if stamp is not None:
            if stamp.expires_at is not None and stamp.expires_at <= now:
                return None
            assert isinstance(stored, str)  # stamped
            return Current(stamp.version, stamp.expires_at, stamp.written_at, stored, self, versioned=True)
        value, expires_at, written_at = self._unversioned(stored)
        if expires_at is not None and expires_at <= now:
            return None
        assert isinstance(stored, str)  # decoded
        return Current(content_etag(stored), expires_at, written_at, stored, self, value)

    def _unversioned(self, stored: object) -> tuple[dict[str, Any], float | None, float | None]:
        """(value, expiry, write time) of a record without a version, or of a py-key-value document."""
        try:
            entry = self.layout.decode(stored)
        except DeserializationError:
            document = LAYOUT.document(stored) if self.documents else None
            if document is None:
                raise
            entry = LAYOUT.entry(document, None)
            return entry.value, entry.expires_at, LAYOUT.written_at(document)
        return entry.value, entry.expires_at, None

    def _decode(self, current: Current) -> dict[str, Any]:
        return self.layout.decode(current.stored).value

    def write(self, value_json: str, *, ttl: float | None, expires_at: float | None, now: float) -> str:
        version = new_version()
        self.write_version(value_json, version, ttl=ttl, expires_at=expires_at, now=now)
        return version

    def write_version(
        self, value_json: str, version: str, *, ttl: float | None, expires_at: float | None, now: float
    ) -> None:
        record = self.layout.encode(value_json, expires_at, version=version, written_at=now)
        self.cache.set(self.name, record, ttl, tag=self.tag)

    def refresh(self, current: Current, *, ttl: float, expires_at: float, now: float) -> None:
        if current.versioned:
            self.cache.set(self.name, self.layout.with_expiry(current.stored, expires_at), ttl, tag=self.tag)
        else:  # rewritten as a versioned record whose version is the ETag it had
            value_json = encode_value(current.source.value(current))
            self.write_version(value_json, current.etag, ttl=ttl, expires_at=expires_at, now=now)

    def delete(self, current: Current) -> None:
        self.cache.delete(self.name)


class TheirSlot(Slot):
    """py-key-value's document of (collection, key) under `name` in `cache` (its expiry kept by diskcache)."""

    def __init__(self, cache: CacheAPI, name: str, collection: str, key: str) -> None:
        self.cache, self.name, self.collection, self.key = cache, name, collection, key

    def read(self, now: float) -> Current | None:
        stored, expire_time, tag = py_key_value.stored(self.cache, self.name)
        document = None if tag is not None else LAYOUT.document(stored)
        if document is None:
            return None
        collection, key = LAYOUT.owner(document)
        if collection not in {None, self.collection} or key not in {None, self.key}:
            return None  # a colliding pair's document
        entry = LAYOUT.entry(document, expire_time)
        if entry.expires_at is not None and entry.expires_at <= now:
            return None
        assert isinstance(stored, str)  # a document
        return Current(content_etag(stored), entry.expires_at, LAYOUT.written_at(document), stored, self, entry.value)

    def _decode(self, current: Current) -> dict[str, Any]:
        raise AssertionError("read decodes")

    def write(self, value_json: str, *, ttl: float | None, expires_at: float | None, now: float) -> str:
        # As py-key-value writes it: the expiry on diskcache's clock, which its readers (and ours) go by.
        expiry = None if ttl is None else time.time() + ttl
        document = LAYOUT.encode(value_json, expiry, collection=self.collection, key=self.key)
        self.cache.set(self.name, document, ttl)
        return content_etag(document)

    def refresh(self, current: Current, *, ttl: float, expires_at: float, now: float) -> None:
        self.cache.touch(self.name, ttl)  # diskcache's expire time wins over the document's: the text stays

    def delete(self, current: Current) -> None:
        self.cache.delete(self.name)

    def discard(self) -> None:
        """Delete the document if it is this pair's (live or not), so that it never resurfaces."""
        stored, _, tag = py_key_value.stored(self.cache, self.name)
        if tag is None and LAYOUT.owns(stored, collection=self.collection, key=self.key):
            self.cache.delete(self.name)


class BothSlot(Slot):
    """Our record, else py-key-value's document; a satisfied change leaves ours alone, or nothing.

    `ours` is None for a MultiDiskStore collection without a cache of ours yet, when nothing is written.
    """

    def __init__(self, ours: NativeSlot | None, theirs: TheirSlot) -> None:
        self.ours, self.theirs = ours, theirs

    def read(self, now: float) -> Current | None:
        found = None if self.ours is None else self.ours.read(now)
        return self.theirs.read(now) if found is None else found

    def _decode(self, current: Current) -> dict[str, Any]:
        raise AssertionError("the finding slot decodes")

    def value(self, current: Current) -> dict[str, Any]:
        return current.source.value(current)

    def write(self, value_json: str, *, ttl: float | None, expires_at: float | None, now: float) -> str:
        assert self.ours is not None  # a write opens our cache
        etag = self.ours.write(value_json, ttl=ttl, expires_at=expires_at, now=now)
        self.theirs.discard()
        return etag

    def refresh(self, current: Current, *, ttl: float, expires_at: float, now: float) -> None:
        if self.ours is None:  # no cache of ours to move it to: refresh it where it is
            self.theirs.refresh(current, ttl=ttl, expires_at=expires_at, now=now)
            return
        self.ours.refresh(current, ttl=ttl, expires_at=expires_at, now=now)  # theirs becomes ours, same ETag
        self.theirs.discard()

    def delete(self, current: Current) -> None:
        if self.ours is not None and current.source is self.ours:
            self.ours.delete(current)
        self.theirs.discard()


@contextmanager
def locked(caches: list[CacheAPI]) -> Generator[None]:
    """One `transact()` on each cache, taken in the order given (always ours first: no two writers deadlock)."""
    with ExitStack() as stack:
        for cache in caches:
            stack.enter_context(cache.transact())
        yield


def put_if(
    slot: Slot,
    value: str | Joker,
    *,
    etag: str | Absent,
    condition: Condition,
    ttl: float | None,
    expires_at: float | None,
    retrieve: bool,
    now: float,
) -> ConditionalResult:
    """The conditional write of `BaseConditionalStore._put_if` on one slot; the caller holds the transaction."""
    current = slot.read(now)
    actual: str | Absent = ABSENT if current is None else current.etag
    if not holds(condition, etag, actual):
        return _unchanged(slot, current, satisfied=False, retrieve=retrieve)
    if value is Joker.DELETE_CURRENT:
        if current is not None:
            slot.delete(current)
        return ConditionalResult(
            satisfied=True, actual_etag=actual, resulting_etag=ABSENT, value=None if retrieve else NOT_RETRIEVED
        )
    if value is Joker.KEEP_CURRENT:
        if current is not None and ttl is not None and expires_at is not None:
            slot.refresh(current, ttl=ttl, expires_at=expires_at, now=now)
        return _unchanged(slot, current, satisfied=True, retrieve=retrieve)
    resulting = slot.write(value, ttl=ttl, expires_at=expires_at, now=now)
    return ConditionalResult(
        satisfied=True,
        actual_etag=actual,
        resulting_etag=resulting,
        value=decode_value(value) if retrieve else NOT_RETRIEVED,
    )


def _unchanged(slot: Slot, current: Current | None, *, satisfied: bool, retrieve: bool) -> ConditionalResult:
    """The result of a call that left the entry's value and ETag as they were."""
    actual: str | Absent = ABSENT if current is None else current.etag
    if not retrieve:
        return ConditionalResult(satisfied=satisfied, actual_etag=actual, resulting_etag=actual, value=NOT_RETRIEVED)
    value = None if current is None else slot.value(current)
    return ConditionalResult(satisfied=satisfied, actual_etag=actual, resulting_etag=actual, value=value)


def versioned_entry(slot: Slot, now: float) -> VersionedEntry | None:
    """The live entry of a slot as `get_entry` returns it, or None."""
    current = slot.read(now)
    if current is None:
        return None
    ttl = None if current.expires_at is None else current.expires_at - now
    return VersionedEntry(slot.value(current), current.etag, ttl, current.written_at)

"""`MemcachedStore`: memcached through aiomcache (the sync twin: pymemcache), one item per entry.

Key layout (`key_value.shared.layouts.memcached`; `layout=` to choose another): `kv:<collection>:<key>`,
each name percent-encoded where a memcached key may not hold the byte (space, control characters,
non-ASCII) and at `%` and `:`, so no two entries share an item. A key longer than memcached's 250 bytes
becomes `kv#<sha256 of the layout above>`, and its entry then keeps the raw collection and key, which
reads check. The item is a JSON record of the value and its expiry (`key_value.shared.records`).

Memcached counts expiry in whole seconds on a clock that ticks once a second, so a TTL is sent
rounded up plus one second (an entry never leaves early) and the record's expiry, to the
millisecond, decides what reads see; beyond 30 days memcached reads the number as a Unix time, so
such TTLs are sent as one. Memcached cannot list keys or collections, so this store has no
`keys`, `collections`, `destroy` or `destroy_collection` (clearing a server with flush_all would
delete other users' items). `get_many` is one multi-get, `put_many` pipelined sets. Each item's
client flags hold its expiry in milliseconds modulo 2**32, so a delete can tell live entries from
expired ones without their values: the async twin sends meta gets of flags and TTL and quiet meta
deletes, pipelined in one round trip (memcached 1.6+); the sync twin (pymemcache has no meta commands)
reads the records with a multi-get, then deletes. Hashed keys are sha256: two names sharing an item
do not occur.

py-key-value-aio 0.4.x's default store named items `<collection>::<key>`, a namespace ours never
uses (`key_value.shared.compat.layouts.memcached`). The default layout reads them transparently if
the server held some when the store was set up (one look, `key_value.aio.stores.memcached.py_key_value`): a
key missing under our name is looked up under py-key-value's (one more multi-get, only on a miss);
a write sends, in the same round trip, an unanswered delete of py-key-value's item, and a delete
removes both, so py-key-value's copy never comes back once ours expires or goes. (The async twin
adds quiet meta gets of py-key-value's items to its delete pipeline; the sync twin reads them only
for keys it found no live entry of ours for, then sends all deletes unanswered in one request
ended by a no-op.)

Conditional calls (`put_if`, `delete_if`, `get_entry`) use memcached's CAS uniques: an entry's ETag is
its item's CAS unique, which every write changes and the server never hands out twice (a record whose
TTL was refreshed keeps its ETag in the record; see `key_value.shared.layouts.memcached`). A call reads
the item with a meta get (value, CAS unique, flags; with the default layout, py-key-value's item too,
in the same round trip), decides the condition on it, then writes with a meta set or delete that
succeeds only if the CAS unique is still the one read (or, where there was no item, only if there is
still none). If anything changed in between, nothing was written and the call decides again, so
every decision is one atomic step for all clients of the server. An unsatisfied call is one round
trip and reports the current value and ETag; a satisfied write, delete or TTL refresh is two. A
`SAME` write or delete is one round trip when its ETag alone can decide: an ETag names its item's CAS
unique and the entry's expiry to the millisecond (`<cas>@<ms>`), so while that expiry is ahead the
call writes on the CAS unique without reading (for `ABSENT`, adds), and reads only if the item changed. The
entry's expiry, to the millisecond, is the record's (as for plain reads), so an item the server still
keeps after its expiry is absent, and is overwritten only if its CAS unique did not change.
"""

from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

from typing_extensions import Self

from key_value.aio.stores._lazy_client import LazyClient
from key_value.aio.stores.base import BaseConditionalStore, BaseContextManagerStore, Entry, SeedData
from key_value.aio.stores.memcached.py_key_value import holds_py_key_value_items
from key_value.aio.stores.memcached.wire import MemcachedClient, MemcachedWire, MetaItem, new_wire
from key_value.shared.codec import decode_value, encode_value
from key_value.shared.compat.layouts.memcached import (
    PY_KEY_VALUE_MEMCACHED_LAYOUT,
    PyKeyValueMemcachedLayout,
    legacy_names,
)
from key_value.shared.compat.sanitization import SanitizationStrategy
from key_value.shared.compat.strategies import MemcachedV1KeySanitizationStrategy
from key_value.shared.conditional import (
    ABSENT,
    NOT_RETRIEVED,
    Absent,
    Atomicity,
    Condition,
    ConditionalResult,
    Joker,
    VersionedEntry,
    holds,
)
from key_value.shared.errors import DeserializationError, InvalidArgumentError, ValueTooLargeError
from key_value.shared.layouts import LayoutName, choose_layout
from key_value.shared.layouts.memcached import NATIVE_MEMCACHED_LAYOUT, MemcachedLayout
from key_value.shared.urls import merge_options, parse_store_url, url_seconds_or_none
from key_value.shared.validation import check_optional_timeout

_RELATIVE_LIMIT = 30 * 24 * 3600  # memcached reads a larger expiry as an absolute Unix time
_LATEST_EXPIRY = 2**31 - 1  # memcached's expiry is a 32-bit signed number
_FLAGS_MODULUS = 2**32  # memcached's client flags are 32 bits
_ITEM_OVERHEAD = 64  # memcached's per-item header and line ending, counted against the item size limit


class _Current(NamedTuple):
    """What a conditional call found: our item's CAS unique, the live entry, its ETag, and py-key-value's item."""

    cas: int | None
    """Our item's CAS unique, live or not; None if the server has no item of ours (write only if still none)."""
    entry: Entry | None
    """The live entry (ours, or py-key-value's where the server has no item of ours), or None."""
    etag: str | Absent
    legacy: MetaItem | None
    """py-key-value's item of the key (with the default layout), live or not."""


class MemcachedStore(BaseContextManagerStore, BaseConditionalStore):
    """A store on memcached: pass `host=`/`port=`, or your own `client=` (never closed by us).

    `timeout` bounds each request in the async twin (aiomcache has no timeouts of its own); the sync
    twin gives it to the pymemcache client it builds. None waits forever.
    """

    def __init__(
        self,
        *,
        client: MemcachedClient | None = None,
        host: str = "127.0.0.1",
        port: int = 11211,
        timeout: float | None = 5.0,
        default_collection: str | None = None,
        seed: SeedData | None = None,
        key_sanitization_strategy: SanitizationStrategy | None = None,
        layout: LayoutName | MemcachedLayout = "native",
    ) -> None:
        """`layout="py-key-value"` names and fills items exactly as py-key-value-aio 0.4.x does
        (`key_value.shared.compat.layouts.memcached`), so old and new processes share a server; so does
        `key_sanitization_strategy` (py-key-value's, e.g. `MemcachedV1KeySanitizationStrategy`), which
        py-key-value applies to `collection::key`. The default layout is ours, and also reads the items
        py-key-value's default store wrote (see the module docstring). A layout object chooses another
        layout altogether, without py-key-value's."""
        timeout = check_optional_timeout(timeout)
        if not isinstance(layout, str) and key_sanitization_strategy is not None:
            raise InvalidArgumentError("pass either layout= or key_sanitization_strategy=")
        super().__init__(
            default_collection=default_collection, seed=seed, key_sanitization_strategy=key_sanitization_strategy
        )
        strategy = key_sanitization_strategy
        self._layout: MemcachedLayout = choose_layout(
            layout,
            native=lambda: NATIVE_MEMCACHED_LAYOUT if strategy is None else PyKeyValueMemcachedLayout(strategy),
            py_key_value=lambda: PyKeyValueMemcachedLayout(strategy),
            store="MemcachedStore",
        )
        #: Whether py-key-value's items are read where ours are missing, and removed where ours are written
        #: (until set-up finds the server holds none: `key_value.aio.stores.memcached.py_key_value`).
        self._reads_py_key_value = self._layout is NATIVE_MEMCACHED_LAYOUT and layout == "native"
        #: py-key-value's client refuses items with client flags, so its layout keeps none (nor their expiry).
        self._expiry_in_flags = not isinstance(self._layout, PyKeyValueMemcachedLayout)
        self._item_size_max = 1024 * 1024
        if client is not None:
            self._clients = LazyClient.given(MemcachedWire(client, timeout=timeout))
            return

        async def connect() -> MemcachedWire:
            return new_wire(host, port, timeout=timeout)

        self._clients = LazyClient(connect, _disconnect)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        """A store from `memcached://host[:port]` (port 11211 if none).

        The query options are `timeout` (seconds; `none` waits forever) and `default_collection`; any other
        is refused. `options` are the constructor's other keywords.
        """
        parsed = parse_store_url(url, schemes=("memcached",), shape="memcached://host[:port]")
        own, rest = parsed.take_options({"timeout": url_seconds_or_none, "default_collection": str})
        rest.refuse_other_options()
        if parsed.path or parsed.username is not None or parsed.password is not None:
            raise parsed.error("a memcached URL names only host and port: memcached://host[:port]")
        address = {"host": parsed.host or "127.0.0.1", "port": parsed.port or 11211}
        return cls(**merge_options({**address, **own}, options, parsed))

    async def _setup(self) -> None:
        wire = await self._clients.get()
        self._item_size_max = await wire.item_size_max()
        if self._reads_py_key_value:
            self._reads_py_key_value = await holds_py_key_value_items(wire)

    async def _close(self) -> None:
        await self._clients.close()

    # -- reads ----------------------------------------------------------------------------------

    async def _get_entry(self, collection: str, key: str) -> Entry | None:
        name = self._layout.item_key(collection, key)
        wire = await self._clients.get()
        raw = (await wire.get_many([name])).get(name)
        if raw is not None:
            return self._layout.decode(raw, collection=collection, key=key)
        if self._reads_py_key_value:
            return (await self._py_key_value_entries(wire, collection, [key]))[0]
        return None

    async def _get_entries(self, collection: str, keys: list[str]) -> list[Entry | None]:
        item_key, decode = self._layout.item_key, self._layout.decode
        names = [item_key(collection, key) for key in keys]
        wire = await self._clients.get()
        found = await wire.get_many(list(dict.fromkeys(names)))
        entries = [
            None if (raw := found.get(name)) is None else decode(raw, collection=collection, key=key)
            for name, key in zip(names, keys, strict=True)
        ]
        if self._reads_py_key_value and len(found) < len(names):
            missing = [index for index, name in enumerate(names) if name not in found]
            legacy = await self._py_key_value_entries(wire, collection, [keys[index] for index in missing])
            for index, entry in zip(missing, legacy, strict=True):
                entries[index] = entry
        return entries

    @staticmethod
    async def _py_key_value_entries(wire: MemcachedWire, collection: str, keys: list[str]) -> list[Entry | None]:
        """The entries py-key-value's default store kept for `keys` (one more multi-get, only on misses)."""
        names = legacy_names(collection, keys)
        wanted = list(dict.fromkeys(name for name in names if name is not None))
        found = await wire.get_many(wanted) if wanted else {}
        decode = PY_KEY_VALUE_MEMCACHED_LAYOUT.decode
        return [
            None if name is None or (raw := found.get(name)) is None else decode(raw, collection=collection, key=key)
            for name, key in zip(names, keys, strict=True)
        ]

    # -- writes ---------------------------------------------------------------------------------

    async def _put_entry(
        self, collection: str, key: str, value_json: str, *, ttl: float | None, expires_at: float | None
    ) -> None:
        await self._put_entries(collection, [key], [value_json], ttl=ttl, expires_at=expires_at)

    async def _put_entries(
        self, collection: str, keys: list[str], values_json: list[str], *, ttl: float | None, expires_at: float | None
    ) -> None:
        items = [self._item(collection, key, value, expires_at) for key, value in zip(keys, values_json, strict=True)]
        flags = expiry_flags(expires_at) if self._expiry_in_flags else 0
        wire = await self._clients.get()
        if self._reads_py_key_value:  # py-key-value's copy must not come back when ours expires or goes
            await wire.set_many(items, _exptime(ttl), flags, _legacy_names(collection, keys))
        else:
            await wire.set_many(items, _exptime(ttl), flags)

    def _item(
        self, collection: str, key: str, value_json: str, expires_at: float | None, *, version: str | None = None
    ) -> tuple[bytes, bytes]:
        name = self._layout.item_key(collection, key)
        if version is None:
            data = self._layout.encode(name, value_json, expires_at, collection=collection, key=key)
        else:
            data = self._layout.encode(name, value_json, expires_at, collection=collection, key=key, version=version)
        if len(data) + len(name) + _ITEM_OVERHEAD > self._item_size_max:
            raise ValueTooLargeError(
                len(data),
                self._item_size_max,
                collection,
                key,
                message="the entry is larger than memcached's item size limit",
            )
        return name, data

    async def _delete_entry(self, collection: str, key: str) -> bool:
        return await self._delete_entries(collection, [key]) > 0

    async def _delete_entries(self, collection: str, keys: list[str]) -> int:
        """Delete the keys' items (and, with the default layout, py-key-value's); count the keys that held a
        live entry in either."""
        if isinstance(self._layout, PyKeyValueMemcachedLayout):
            self._layout.check_writable(collection)
        names = {self._layout.item_key(collection, key): key for key in keys}
        legacy = _legacy_names(collection, keys) if self._reads_py_key_value else []
        wire = await self._clients.get()
        if True:  # ASYNC
            if self._expiry_in_flags:
                removed, taken = await wire.remove_many(list(names), legacy)
                now = self.clock()
                expiries = {names[name]: expiry_from_meta(flags, left, now) for name, (flags, left) in removed.items()}
                live = {key for key, expires_at in expiries.items() if expires_at is None or expires_at > now}
            else:  # py-key-value's items keep no expiry in their flags: their documents tell
                _, taken = await wire.remove_many([], list(names))
                live = self._live_keys(taken, names, self._layout, collection)
            if legacy and not taken.keys().isdisjoint(legacy):  # rare: map py-key-value's names back only then
                live |= self._live_keys(taken, _owners(collection, keys), PY_KEY_VALUE_MEMCACHED_LAYOUT, collection)
        else:
            if not legacy:
                return len(self._live_keys(wire.take_many(list(names)), names, self._layout, collection))
            taken = wire.get_many(list(names))
            live = self._live_keys(taken, names, self._layout, collection)
            # py-key-value's copies count only for keys without a live entry of ours: read those, then
            # delete everything in one unanswered batch.
            wanted = {name: key for name, key in _owners(collection, keys).items() if key not in live}
            if wanted:
                live |= self._live_keys(wire.get_many(list(wanted)), wanted, PY_KEY_VALUE_MEMCACHED_LAYOUT, collection)
            wire.delete_quietly([*taken, *legacy])
        return len(live)

    def _live_keys(
        self, taken: dict[bytes, bytes], wanted: dict[bytes, str], layout: MemcachedLayout, collection: str
    ) -> set[str]:
        """The keys of `wanted` (item name -> key) whose deleted item, in `taken`, held a live entry."""
        live: set[str] = set()
        for name, raw in taken.items():
            key = wanted.get(name)
            if key is None:
                continue
            try:
                entry = layout.decode(raw, collection=collection, key=key)
            except DeserializationError:
                live.add(key)  # unreadable, but it was there
                continue
            if self._live(entry) is not None:
                live.add(key)
        return live

    # -- conditional segment: meta gets, then meta sets and deletes on the CAS unique read -------------

    atomicity = Atomicity.ACROSS_PROCESSES

    async def _get_versioned(self, collection: str, key: str) -> VersionedEntry | None:
        name = self._layout.item_key(collection, key)
        wire = await self._clients.get()
        current = await self._current(wire, collection, key, name, self._legacy_name(collection, key))
        entry = current.entry
        if entry is None or current.etag is ABSENT:
            return None
        ttl = None if entry.expires_at is None else entry.expires_at - self.clock()
        return VersionedEntry(entry.value, current.etag, ttl, None)

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
        if isinstance(self._layout, PyKeyValueMemcachedLayout):
            self._layout.check_writable(collection)
        legacy_name = self._legacy_name(collection, key)
        wire = await self._clients.get()
        if condition is Condition.SAME and legacy_name is None:
            done = await self._write_unread(
                wire, collection, key, value, etag=etag, ttl=ttl, expires_at=expires_at, retrieve=retrieve
            )
            if done is not None:
                return done
        return await self._decide_and_write(
            wire,
            collection,
            key,
            value,
            etag=etag,
            condition=condition,
            ttl=ttl,
            expires_at=expires_at,
            retrieve=retrieve,
            legacy_name=legacy_name,
        )

    async def _decide_and_write(
        self,
        wire: MemcachedWire,
        collection: str,
        key: str,
        value: str | Joker,
        *,
        etag: str | Absent,
        condition: Condition,
        ttl: float | None,
        expires_at: float | None,
        retrieve: bool,
        legacy_name: bytes | None,
    ) -> ConditionalResult:
        """Read the item (and py-key-value's), decide, write on the CAS unique read; again if it changed."""
        name = self._layout.item_key(collection, key)
        while True:  # each pass is one decision; a pass whose write found the item changed decides again
            current = await self._current(wire, collection, key, name, legacy_name)
            actual, entry = current.etag, current.entry
            if not holds(condition, etag, actual):
                return _result(actual, actual, entry and entry.value, satisfied=False, retrieve=retrieve)
            # py-key-value's copy goes with any write or delete of ours, so it never comes back
            discard = [] if current.legacy is None or legacy_name is None else [legacy_name]
            if value is Joker.DELETE_CURRENT:
                if entry is None or actual is ABSENT:
                    return _result(actual, ABSENT, None, satisfied=True, retrieve=retrieve)
                if current.cas is not None:
                    deleted = await wire.meta_delete(name, current.cas, discard)
                else:  # the live entry is py-key-value's alone
                    legacy = current.legacy
                    deleted = legacy is not None and bool(discard) and await wire.meta_delete(discard[0], legacy.cas)
                if deleted:
                    return _result(actual, ABSENT, None, satisfied=True, retrieve=retrieve)
                continue
            version: str | None = None
            if value is Joker.KEEP_CURRENT:
                if expires_at is None or entry is None or actual is ABSENT:
                    return _result(actual, actual, entry and entry.value, satisfied=True, retrieve=retrieve)
                # memcached cannot change a record without a new CAS unique: the record keeps the ETag
                value_json, version = encode_value(entry.value), actual
            else:
                value_json = value
            _, data = self._item(collection, key, value_json, expires_at, version=version)
            flags = expiry_flags(expires_at) if self._expiry_in_flags else 0
            stored = await wire.meta_set(
                name, data, flags=flags, exptime=_exptime(ttl), cas=current.cas, discard=discard
            )
            if stored is not None:
                written = decode_value(value_json) if retrieve else None
                return _result(actual, version or _etag(stored, expires_at), written, satisfied=True, retrieve=retrieve)

    async def _write_unread(
        self,
        wire: MemcachedWire,
        collection: str,
        key: str,
        value: str | Joker,
        *,
        etag: str | Absent,
        ttl: float | None,
        expires_at: float | None,
        retrieve: bool,
    ) -> ConditionalResult | None:
        """A SAME write or delete in one round trip, without reading first, where the ETag alone decides:
        a meta set or delete on the CAS unique the ETag names, if the expiry it names has not passed (the
        server never hands a CAS unique out twice, so the item still holding it is the entry the ETag was
        given for, with that expiry); for ABSENT, a meta add. Not where py-key-value's item could hold the
        key (the caller checks): its copy would have to go only if the write succeeds. None when the item
        did not match (or a TTL refresh was asked for) and the call must read."""
        if value is Joker.KEEP_CURRENT or (etag is ABSENT and value is Joker.DELETE_CURRENT):
            return None
        cas: int | None = None
        if etag is not ABSENT:
            named = _named_by(etag)
            if named is None or (named[1] is not None and named[1] <= self.clock()):
                return None
            cas = named[0]
            if value is Joker.DELETE_CURRENT:
                deleted = await wire.meta_delete(self._layout.item_key(collection, key), cas)
                return _result(etag, ABSENT, None, satisfied=True, retrieve=retrieve) if deleted else None
        assert isinstance(value, str)
        name, data = self._item(collection, key, value, expires_at)
        flags = expiry_flags(expires_at) if self._expiry_in_flags else 0
        stored = await wire.meta_set(name, data, flags=flags, exptime=_exptime(ttl), cas=cas)
        if stored is None:
            return None
        written = decode_value(value) if retrieve else None
        return _result(etag, _etag(stored, expires_at), written, satisfied=True, retrieve=retrieve)

    async def _current(
        self, wire: MemcachedWire, collection: str, key: str, name: bytes, legacy_name: bytes | None
    ) -> _Current:
        """Our item of the key and, with the default layout, py-key-value's, in one round trip."""
        ours, legacy = await wire.meta_get(name, legacy_name)
        now = self.clock()
        if ours is not None:
            entry = self._layout.decode(ours.data, collection=collection, key=key)
            if entry is None or (entry.expires_at is not None and entry.expires_at <= now):
                return _Current(ours.cas, None, ABSENT, legacy)
            return _Current(ours.cas, entry, entry.version or _etag(ours.cas, entry.expires_at), legacy)
        if legacy is not None:
            entry = PY_KEY_VALUE_MEMCACHED_LAYOUT.decode(legacy.data, collection=collection, key=key)
            if entry is not None and (entry.expires_at is None or entry.expires_at > now):
                return _Current(None, entry, entry.version or str(legacy.cas), legacy)
        return _Current(None, None, ABSENT, legacy)

    def _legacy_name(self, collection: str, key: str) -> bytes | None:
        """py-key-value's item of the key where the default layout reads it, else None."""
        return legacy_names(collection, [key])[0] if self._reads_py_key_value else None


def _result(
    actual: str | Absent, resulting: str | Absent, value: dict[str, Any] | None, *, satisfied: bool, retrieve: bool
) -> ConditionalResult:
    """The result; `value` is the entry's after the call (None: absent), reported only with `retrieve`."""
    return ConditionalResult(satisfied, actual, resulting, value if retrieve else NOT_RETRIEVED)


def _etag(cas: int, expires_at: float | None) -> str:
    """The ETag of the entry an item with CAS unique `cas` holds: the CAS unique, then `@` and the entry's
    expiry in epoch milliseconds if it has one (what a write needs to decide without reading)."""
    return str(cas) if expires_at is None else f"{cas}@{round(expires_at * 1000)}"


def _named_by(etag: str) -> tuple[int, float | None] | None:
    """The CAS unique and expiry an ETag of `_etag` names; None for any other string."""
    cas, sep, expiry = etag.partition("@")
    if not cas.isdigit() or (sep and not expiry.isdigit()):
        return None
    return int(cas), (int(expiry) / 1000 if sep else None)


def _owners(collection: str, keys: list[str]) -> dict[bytes, str]:
    """py-key-value's item name -> key, for the keys it could have kept."""
    return {name: key for name, key in zip(legacy_names(collection, keys), keys, strict=True) if name is not None}


def _legacy_names(collection: str, keys: list[str]) -> list[bytes]:
    """The items py-key-value's default store would keep the keys in (those it could)."""
    names = legacy_names(collection, keys)
    return [name for name in names if name is not None] if None in names else list(names)  # pyright: ignore[reportReturnType] - no None in it


def expiry_flags(expires_at: float | None) -> int:
    """The item's client flags: its expiry in epoch milliseconds, modulo 2**32 (0 without one)."""
    return 0 if expires_at is None else round(expires_at * 1000) % _FLAGS_MODULUS


def expiry_from_meta(flags: int, seconds_left: int, now: float) -> float | None:
    """The expiry a deleted item had, from its client flags and the server's whole seconds left (-1: none).

    The server's count places the expiry within a few seconds of `now + seconds_left` (it is sent
    rounded up plus one second and ticks once a second); the flags, the expiry's milliseconds
    modulo 2**32 (about 49.7 days), then pick the one exact value in that window.
    """
    if seconds_left < 0:
        return None
    estimate = round((now + seconds_left) * 1000)
    offset = (flags - estimate) % _FLAGS_MODULUS
    if offset >= _FLAGS_MODULUS // 2:
        offset -= _FLAGS_MODULUS
    return (estimate + offset) / 1000


def _exptime(ttl: float | None) -> int:
    """Memcached's expiry for `ttl`: 0 (never), whole seconds rounded up plus one tick, or a Unix time."""
    if ttl is None:
        return 0
    seconds = math.ceil(ttl) + 1
    if seconds <= _RELATIVE_LIMIT:
        return seconds
    return min(math.ceil(time.time()) + seconds, _LATEST_EXPIRY)


async def _disconnect(wire: MemcachedWire) -> None:
    await wire.close()


__all__ = ["MemcachedStore", "MemcachedV1KeySanitizationStrategy"]

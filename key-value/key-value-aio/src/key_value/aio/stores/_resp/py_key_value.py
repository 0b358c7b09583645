"""Entries that py-key-value-aio 0.4.x left on a Redis or Valkey server, read by a store with our native layout.

py-key-value keeps `(collection, key)` under `collection::key` as a JSON document
(`key_value.shared.compat.layouts.resp`). A store with the native layout looks for such entries once,
when it is set up, unless the database carries our marker saying a look found none: it SCANs for
`*::*` names and stops at the first one holding a py-key-value document. When there are none it sets
the marker, so later processes skip the scan, and every operation does exactly what it does without
this module. When there are some, the store reads them too, for as long as it lives:

- a key our layout does not have is looked up under py-key-value's name, with its server TTL (one
  more round trip, only for keys that missed);
- a write or delete of a key also deletes py-key-value's copy of it, in the same round trip (a
  pipelined DEL; a delete names both in one DEL), so an old value never comes back when ours expires
  or is deleted;
- `keys()` / `collections()` list both layouts' entries once each; `destroy()` / `destroy_collection()`
  remove both (only names holding py-key-value documents, so foreign keys survive).

Processes that still run py-key-value and write after the look are not seen: during a rolling
upgrade, open the store with `layout="py-key-value"` instead, and move to the native layout with a
copy once no old process is left (docs/migrating.md).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from key_value.aio.stores._resp.enumeration import ScanEnumeration
from key_value.aio.stores._server_ttl import ValueTTL, value_ttl
from key_value.shared.compat.layouts.resp import PY_KEY_VALUE_RESP_LAYOUT, is_document
from key_value.shared.entry import Entry
from key_value.shared.errors import DeserializationError
from key_value.shared.layouts import LayoutName, choose_layout
from key_value.shared.layouts.resp import NATIVE_RESP_LAYOUT, RespLayout

#: Set once a look found no py-key-value entries in the database (outside every layout's names).
MARKER = "kv:meta:py-key-value-data"
MARKER_NONE = "none"
#: Names whose values are checked per round trip while looking.
_CHECK_BATCH = 500
#: The look stops after this many `a::b` names (and then assumes py-key-value's entries are there).
_LOOK_LIMIT = 5000

_LEGACY = PY_KEY_VALUE_RESP_LAYOUT


def resp_layout(layout: LayoutName | RespLayout, *, store: str) -> RespLayout:
    """The layout `layout=` names for a Redis-protocol store (see `key_value.shared.layouts`)."""
    return choose_layout(layout, native=lambda: NATIVE_RESP_LAYOUT, py_key_value=lambda: _LEGACY, store=store)


class PyKeyValueData(ScanEnumeration):
    """Mixin for RedisStore and ValkeyStore: py-key-value's entries next to ours (see the module docstring).

    `_legacy` is True only while py-key-value's entries were found; the stores' hooks branch on it.
    """

    _legacy: bool = False

    @abstractmethod
    async def _get_with_pttl(self, names: list[str]) -> list[Any]:
        """GET and PTTL of each name, pipelined (one round trip, any hash slots): [value, pttl, value, pttl, ...]."""

    @abstractmethod
    async def _set_name(self, name: str, value: str) -> None:
        """SET one server key (no expiry)."""

    async def _look_for_py_key_value_data(self) -> None:
        """Set `_legacy` by looking once (see the module docstring); for the native layout only."""
        if self._layout is not NATIVE_RESP_LAYOUT:
            return
        (marker, _) = await self._get_with_pttl([MARKER])
        if marker in (MARKER_NONE, MARKER_NONE.encode()):
            return
        candidates: list[Any] = []

        def take(names: list[Any]) -> bool:
            candidates.extend(name for name in names if _LEGACY.split(name) is not None)
            return len(candidates) >= _LOOK_LIMIT

        await self._scan(_LEGACY.all_pattern, take)
        if len(candidates) >= _LOOK_LIMIT:
            # The scan stopped early: assume there are documents rather than risk hiding them.
            self._legacy = True
            return
        for start in range(0, len(candidates), _CHECK_BATCH):
            replies = await self._get_with_pttl(candidates[start : start + _CHECK_BATCH])
            if any(is_document(raw) for raw in replies[::2]):
                self._legacy = True
                return
        await self._set_name(MARKER, MARKER_NONE)

    # -- reads ----------------------------------------------------------------------------------

    async def _legacy_entries(self, collection: str, keys: list[str], found: list[Entry | None]) -> list[Entry | None]:
        """`found` with each miss looked up under py-key-value's name."""
        missing = [index for index, entry in enumerate(found) if entry is None]
        if not missing:
            return found
        pairs = await self._legacy_value_ttl(collection, [keys[index] for index in missing])
        for index, (value, _) in zip(missing, pairs, strict=True):
            if value is not None:
                found[index] = Entry(value, None)
        return found

    async def _legacy_ttl(self, collection: str, keys: list[str], found: list[ValueTTL]) -> list[ValueTTL]:
        """`found` with each miss looked up, with its server TTL, under py-key-value's name."""
        missing = [index for index, (value, _) in enumerate(found) if value is None]
        if not missing:
            return found
        pairs = await self._legacy_value_ttl(collection, [keys[index] for index in missing])
        for index, pair in zip(missing, pairs, strict=True):
            found[index] = pair
        return found

    async def _legacy_value_ttl(self, collection: str, keys: list[str]) -> list[ValueTTL]:
        replies = await self._get_with_pttl(_LEGACY.server_keys(collection, keys))
        pairs: list[ValueTTL] = []
        for raw, pttl in zip(replies[::2], replies[1::2], strict=True):
            try:
                value = None if raw is None else _LEGACY.decode(raw)
            except DeserializationError:
                value = None  # a foreign key that happens to be named `collection::key`
            pairs.append(value_ttl(value, pttl))
        return pairs

    # -- writes ---------------------------------------------------------------------------------

    @staticmethod
    def _legacy_server_keys(collection: str, keys: list[str]) -> list[str]:
        """py-key-value's server keys of `keys`, for the stores' writes and deletes to remove in the same round trip."""
        return _LEGACY.server_keys(collection, keys)

    # -- enumeration and destruction ------------------------------------------------------------

    async def _keys(self, collection: str, *, limit: int | None) -> list[str]:
        if not self._legacy:
            return await super()._keys(collection, limit=limit)
        found = dict.fromkeys(await super()._keys(collection, limit=None))

        def take(names: list[Any]) -> bool:
            for name in names:
                key = _LEGACY.key_in(collection, name)
                if key is not None:
                    found[key] = None
            return False

        await self._scan(_LEGACY.collection_pattern(collection), take)
        keys = list(found)
        return keys if limit is None else keys[:limit]

    async def _collections(self, *, limit: int | None) -> list[str]:
        if not self._legacy:
            return await super()._collections(limit=limit)
        found = dict.fromkeys(await super()._collections(limit=None))
        for name in await self._legacy_names(_LEGACY.all_pattern):
            parts = _LEGACY.split(name)
            if parts is not None:
                found[parts[0]] = None
        names = list(found)
        return names if limit is None else names[:limit]

    async def _destroy(self) -> bool:
        ours = await super()._destroy()
        if self._layout is NATIVE_RESP_LAYOUT:
            await self._delete_names([MARKER])  # everything this store put there goes
        if not self._legacy:
            return ours
        names = await self._legacy_names(_LEGACY.all_pattern)
        return (await self._delete_names(names) > 0 if names else False) or ours

    async def _destroy_collection(self, collection: str) -> bool:
        ours = await super()._destroy_collection(collection)
        if not self._legacy:
            return ours
        names = [
            name
            for name in await self._legacy_names(_LEGACY.collection_pattern(collection))
            if _LEGACY.key_in(collection, name) is not None
        ]
        return (await self._delete_names(names) > 0 if names else False) or ours

    async def _legacy_names(self, pattern: str) -> list[Any]:
        """The names matching `pattern` that hold py-key-value documents."""
        names: list[Any] = []

        def take(batch: list[Any]) -> bool:
            names.extend(name for name in batch if _LEGACY.split(name) is not None)
            return False

        await self._scan(pattern, take)
        held: list[Any] = []
        for start in range(0, len(names), _CHECK_BATCH):
            batch = names[start : start + _CHECK_BATCH]
            replies = await self._get_with_pttl(batch)
            held.extend(name for name, raw in zip(batch, replies[::2], strict=True) if is_document(raw))
        return held


__all__ = ["MARKER", "PyKeyValueData", "resp_layout"]

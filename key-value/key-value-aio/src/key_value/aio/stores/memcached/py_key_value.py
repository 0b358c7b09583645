"""Whether a memcached server holds items of py-key-value-aio 0.4.x's default store, looked at once.

A store with our default layout reads py-key-value's items (`collection::key`, a namespace ours never
uses) where its own are missing, and removes them where it writes or deletes (see the store's
docstring). That costs every miss a second multi-get and every write an unanswered delete, so the
store looks first, when it is set up: unless the server holds our marker saying a look found none,
it lists the server's item names with the LRU crawler (`lru_crawler metadump all`, one request), keeps
those holding `::`, and reads them, 500 per multi-get, until one holds a py-key-value document.

- None found: the store sets the marker (an item without expiry; should memcached evict it, the next
  store looks again) and does only what it does without py-key-value's items.
- One found, or the look could not finish (the crawler is disabled or busy, the dump outlasted the
  timeout, or over 5,000 names hold `::`): the store reads py-key-value's items for as long as it lives.

Items py-key-value writes after the look are not seen: during a rolling upgrade, open the store with
`layout="py-key-value"` instead (docs/migrating.md).
"""

from __future__ import annotations

from key_value.aio.stores.memcached.wire import MemcachedWire
from key_value.shared.compat.layouts.memcached import PY_KEY_VALUE_MEMCACHED_LAYOUT, SEPARATOR
from key_value.shared.errors import DeserializationError, StoreConnectionError

#: Set once a look found no py-key-value items (a name our layout never gives: hashed names are hex).
MARKER = b"kv#py-key-value-data"
MARKER_NONE = b"none"
#: Names read per multi-get while looking.
_CHECK_BATCH = 500
#: The look stops after this many `a::b` names (and then assumes py-key-value's items are there).
_LOOK_LIMIT = 5000
_SEPARATOR = SEPARATOR.encode()


async def holds_py_key_value_items(wire: MemcachedWire) -> bool:
    """Whether the server may hold py-key-value's items (see the module docstring); sets the marker if not."""
    if (await wire.get_many([MARKER])).get(MARKER) == MARKER_NONE:
        return False
    try:
        names = await wire.item_names(lambda name: _SEPARATOR in name, _LOOK_LIMIT)
    except StoreConnectionError:  # the dump outlasted the timeout: assume they are there rather than hide them
        return True
    if names is None or len(names) >= _LOOK_LIMIT:
        return True
    for start in range(0, len(names), _CHECK_BATCH):
        found = await wire.get_many(names[start : start + _CHECK_BATCH])
        if any(_is_document(name, raw) for name, raw in found.items()):
            return True
    await wire.set_many([(MARKER, MARKER_NONE)], 0, 0)
    return False


def _is_document(name: bytes, raw: bytes) -> bool:
    """Whether `raw`, under `name`, is the document py-key-value's default store keeps for that name."""
    collection, _, key = name.decode(errors="replace").partition(SEPARATOR)
    try:
        return PY_KEY_VALUE_MEMCACHED_LAYOUT.decode(raw, collection=collection, key=key) is not None
    except DeserializationError:
        return False


__all__ = ["MARKER", "holds_py_key_value_items"]

"""A tour of the async API on the in-process MemoryStore: no server, no set-up.

Run it with `uv run python examples/roundtrip_async.py`; `roundtrip_sync.py` is the same program on the sync twin.
"""

from __future__ import annotations

import asyncio

from key_value.aio.errors import InvalidTTLError, SerializationError
from key_value.aio.stores.memory import MemoryStore


async def main() -> None:
    store = MemoryStore()

    # Values are JSON objects with str keys. `collection=None` (the default) means the store's default collection.
    await store.put("alice", {"name": "Alice", "langs": ["en", "fr"]})
    await store.put("alice", {"theme": "dark"}, collection="settings")  # same key, another collection
    print("get:", await store.get("alice"), await store.get("alice", collection="settings"))

    # `get` returns a fresh copy: changing it never changes what is stored.
    copy = await store.get("alice") or {}
    copy["name"] = "Mallory"
    print("after editing the copy:", await store.get("alice"))

    # TTL is in seconds; `ttl()` returns the value and the seconds it has left.
    await store.put("session", {"user": "alice"}, ttl=0.5)
    value, remaining = await store.ttl("session")
    print(f"ttl: {value} expires in {remaining:.2f}s" if remaining is not None else "ttl: never expires")
    await asyncio.sleep(0.6)
    print("after 0.6s:", await store.get("session"), await store.ttl("session"))

    # Bulk operations take parallel sequences and keep the order of the keys (None for a miss).
    await store.put_many(["bob", "carol"], [{"name": "Bob"}, {"name": "Carol"}])
    print("get_many:", await store.get_many(["bob", "nobody", "carol"]))

    # Enumeration returns everything; `limit` only limits.
    print("keys:", await store.keys(), "limit=1:", await store.keys(limit=1))
    print("collections:", await store.collections())

    # delete says whether the key existed; delete_many counts.
    print("delete bob:", await store.delete("bob"), "again:", await store.delete("bob"))
    print("delete_many:", await store.delete_many(["carol", "nobody"]))
    print("keys left:", await store.keys())

    # Bad input raises our own error before anything is written.
    try:
        await store.put("bad", {"x": 1}, ttl=0)
    except InvalidTTLError as error:
        print("InvalidTTLError:", error)
    try:
        await store.put("bad", {"point": (1, 2)})  # a tuple would come back as a list, so it is refused
    except SerializationError as error:
        print("SerializationError:", error)
    print("nothing was written:", await store.get("bad"))


if __name__ == "__main__":
    asyncio.run(main())

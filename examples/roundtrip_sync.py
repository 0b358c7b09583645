"""The program of `roundtrip_async.py` on the sync twin: the same code minus `async`/`await`.

`key_value.sync` is generated from `key_value.aio` (`make codegen`), so the two APIs match name for name.
"""

from __future__ import annotations

import time

from key_value.sync.errors import InvalidTTLError, SerializationError
from key_value.sync.stores.memory import MemoryStore


def main() -> None:
    store = MemoryStore()

    # Values are JSON objects with str keys. `collection=None` (the default) means the store's default collection.
    store.put("alice", {"name": "Alice", "langs": ["en", "fr"]})
    store.put("alice", {"theme": "dark"}, collection="settings")  # same key, another collection
    print("get:", store.get("alice"), store.get("alice", collection="settings"))

    # `get` returns a fresh copy: changing it never changes what is stored.
    copy = store.get("alice") or {}
    copy["name"] = "Mallory"
    print("after editing the copy:", store.get("alice"))

    # TTL is in seconds; `ttl()` returns the value and the seconds it has left.
    store.put("session", {"user": "alice"}, ttl=0.5)
    value, remaining = store.ttl("session")
    print(f"ttl: {value} expires in {remaining:.2f}s" if remaining is not None else "ttl: never expires")
    time.sleep(0.6)
    print("after 0.6s:", store.get("session"), store.ttl("session"))

    # Bulk operations take parallel sequences and keep the order of the keys (None for a miss).
    store.put_many(["bob", "carol"], [{"name": "Bob"}, {"name": "Carol"}])
    print("get_many:", store.get_many(["bob", "nobody", "carol"]))

    # Enumeration returns everything; `limit` only limits.
    print("keys:", store.keys(), "limit=1:", store.keys(limit=1))
    print("collections:", store.collections())

    # delete says whether the key existed; delete_many counts.
    print("delete bob:", store.delete("bob"), "again:", store.delete("bob"))
    print("delete_many:", store.delete_many(["carol", "nobody"]))
    print("keys left:", store.keys())

    # Bad input raises our own error before anything is written.
    try:
        store.put("bad", {"x": 1}, ttl=0)
    except InvalidTTLError as error:
        print("InvalidTTLError:", error)
    try:
        store.put("bad", {"point": (1, 2)})  # a tuple would come back as a list, so it is refused
    except SerializationError as error:
        print("SerializationError:", error)
    print("nothing was written:", store.get("bad"))


if __name__ == "__main__":
    main()

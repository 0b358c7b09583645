"""Run by py-key-value-aio's own venv (see `py_key_value.py`): build one of its stores, apply operations, print results.

Reads `{"store", "options", "operations"}` as JSON on stdin and prints one JSON list, a result per
operation. It imports only py-key-value (that venv's `key_value.aio`), never this project's code.

`options` are the store's constructor keywords, plus these, which this script turns into objects:
`"strategies": "filetree-v1"` (FileTreeStore with FastMCP's V1 sanitization strategies for its
directory), `"strategies": "memcached-v1"` (MemcachedStore's hashing key strategy), `"strategies": "s3"`
(S3Store's S3CollectionSanitizationStrategy and S3KeySanitizationStrategy, default limits).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from pathlib import Path
from typing import Any

STORES = {
    "memory": ("key_value.aio.stores.memory", "MemoryStore"),
    "disk": ("key_value.aio.stores.disk", "DiskStore"),
    "multidisk": ("key_value.aio.stores.disk", "MultiDiskStore"),
    "filetree": ("key_value.aio.stores.filetree", "FileTreeStore"),
    "redis": ("key_value.aio.stores.redis", "RedisStore"),
    "valkey": ("key_value.aio.stores.valkey", "ValkeyStore"),
    "memcached": ("key_value.aio.stores.memcached", "MemcachedStore"),
    "postgresql": ("key_value.aio.stores.postgresql", "PostgreSQLStore"),
    "s3": ("key_value.aio.stores.s3", "S3Store"),
    "dynamodb": ("key_value.aio.stores.dynamodb", "DynamoDBStore"),
}


def build(name: str, options: dict[str, Any]) -> Any:
    module_name, class_name = STORES[name]
    module = importlib.import_module(module_name)
    options = dict(options)
    strategies = options.pop("strategies", None)
    if strategies == "filetree-v1":
        options["key_sanitization_strategy"] = module.FileTreeV1KeySanitizationStrategy(options["data_directory"])
        options["collection_sanitization_strategy"] = module.FileTreeV1CollectionSanitizationStrategy(
            options["data_directory"]
        )
    elif strategies == "memcached-v1":
        options["key_sanitization_strategy"] = module.MemcachedV1KeySanitizationStrategy()
    elif strategies == "s3":
        options["collection_sanitization_strategy"] = module.S3CollectionSanitizationStrategy()
        options["key_sanitization_strategy"] = module.S3KeySanitizationStrategy()
    elif strategies is not None:
        raise ValueError(f"unknown strategies {strategies!r}")
    if "base_directory" in options:  # MultiDiskStore resolves it, so it must be a Path
        options["base_directory"] = Path(options["base_directory"])
    return getattr(module, class_name)(**options)


async def apply(store: Any, operation: dict[str, Any]) -> Any:
    op = operation["op"]
    collection = operation.get("collection")
    if op == "put":
        await store.put(operation["key"], operation["value"], collection=collection, ttl=operation.get("ttl"))
        return None
    if op == "put_many":
        await store.put_many(operation["keys"], operation["values"], collection=collection, ttl=operation.get("ttl"))
        return None
    if op == "get":
        return await store.get(operation["key"], collection=collection)
    if op == "get_many":
        return await store.get_many(operation["keys"], collection=collection)
    if op == "ttl":
        value, ttl = await store.ttl(operation["key"], collection=collection)
        return [value, ttl]
    if op == "delete":
        return await store.delete(operation["key"], collection=collection)
    if op == "keys":
        return sorted(await store.keys(collection=collection, limit=operation.get("limit", 10_000)))
    if op == "collections":
        return sorted(await store.collections(limit=operation.get("limit", 10_000)))
    if op == "sleep":
        await asyncio.sleep(operation["seconds"])
        return None
    raise ValueError(f"unknown operation {op!r}")


async def main() -> None:
    spec = json.load(sys.stdin)
    store = build(spec["store"], spec["options"])
    results: list[Any] = []
    managed = hasattr(store, "__aenter__")
    if managed:
        await store.__aenter__()
    try:
        for operation in spec["operations"]:  # in order, each awaited before the next
            results.append(await apply(store, operation))  # noqa: PERF401
    finally:
        if managed:
            await store.__aexit__(None, None, None)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())

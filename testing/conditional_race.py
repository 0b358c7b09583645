"""One writer of the cross-process `transform` race: build a store from a spec and increment one counter.

    python -m testing.conditional_race SPEC_JSON

SPEC_JSON: {"twin": "aio" | "sync", "store": "module:Class" (either twin's; the worker opens `twin`'s),
"options": {...constructor keyword arguments...}, "collection", "key", "increments", "retries"}.
Prints one JSON line: {"increments": n, "attempts": total put_if calls}.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from typing import Any


def _store_class(path: str, twin: str) -> Any:
    module_name, _, class_name = path.partition(":")
    # The spec names either twin's class (the sync copy of the contract names its own): map it to `twin`.
    if twin == "sync":
        module_name = module_name.replace("key_value.aio", "key_value.sync", 1)
        class_name = class_name.removeprefix("Async")
    else:
        module_name = module_name.replace("key_value.sync", "key_value.aio", 1)
    return getattr(importlib.import_module(module_name), class_name)


def _increment(value: dict[str, Any] | None) -> dict[str, Any]:
    return {"n": (0 if value is None else value["n"]) + 1}


def run(spec: dict[str, Any]) -> dict[str, int]:
    store = _store_class(spec["store"], spec["twin"])(**spec["options"])
    key, collection, increments, retries = spec["key"], spec["collection"], spec["increments"], spec["retries"]
    attempts = [0]

    def counted(value: dict[str, Any] | None) -> dict[str, Any]:
        attempts[0] += 1
        return _increment(value)

    if spec["twin"] == "sync":
        for _ in range(increments):
            store.transform(key, counted, collection=collection, retries=retries)
        if hasattr(store, "close"):
            store.close()
    else:

        async def main() -> None:
            for _ in range(increments):
                await store.transform(key, counted, collection=collection, retries=retries)
            if hasattr(store, "close"):
                await store.close()

        asyncio.run(main())
    return {"increments": increments, "attempts": attempts[0]}


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))

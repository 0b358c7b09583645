"""The README's atomicity table says what each store's `atomicity` says, for every conditional store."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from key_value.aio.conditional import Atomicity
from key_value.aio.stores.base import BaseConditionalStore

README = Path(__file__).resolve().parents[3] / "README.md"
MODULES = {
    "MemoryStore": "memory",
    "SimpleStore": "simple",
    "DiskStore": "disk",
    "MultiDiskStore": "disk",
    "FileTreeStore": "filetree",
    "RedisStore": "redis",
    "ValkeyStore": "valkey",
    "MemcachedStore": "memcached",
    "PostgreSQLStore": "postgresql",
    "NATSStore": "nats",
    "S3Store": "s3",
    "DynamoDBStore": "dynamodb",
    "NullStore": "null",
}
CLAIMS = {"within one process": Atomicity.WITHIN_PROCESS, "across processes": Atomicity.ACROSS_PROCESSES}


def atomicity_table() -> dict[str, str]:
    """Store class name -> the README's second column, from the table after the atomicity marker."""
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- atomicity table")
    rows: dict[str, str] = {}
    for line in text[start:].splitlines()[3:]:
        if not line.startswith("|"):
            break
        names, claim = line.split("|")[1:3]
        for name in re.findall(r"`(\w+)`", names):
            rows[name] = claim.strip()
    return rows


def test_every_conditional_store_is_in_the_table_as_it_declares() -> None:
    rows = atomicity_table()
    assert set(rows) == set(MODULES)
    for name, claim in rows.items():
        store = getattr(importlib.import_module(f"key_value.aio.stores.{MODULES[name]}"), name)
        assert issubclass(store, BaseConditionalStore), name
        said = next(atomicity for words, atomicity in CLAIMS.items() if claim.startswith(words))
        if name == "FileTreeStore" and store.atomicity is Atomicity.WITHIN_PROCESS:  # no flock (Windows)
            assert "within one process on Windows" in claim
            continue
        assert store.atomicity is said, f"{name}: README says {claim!r}, the class {store.atomicity.value!r}"


def test_no_other_store_has_the_segment() -> None:
    """A conditional store missing from the table would fail here: every store module's classes are checked."""
    stores = importlib.import_module("key_value.aio.stores")
    folder = Path(str(stores.__file__)).parent
    found: set[str] = set()
    for module in sorted(path.name for path in folder.iterdir() if path.is_dir() and not path.name.startswith("_")):
        loaded = importlib.import_module(f"key_value.aio.stores.{module}")  # `make test` installs every extra
        for name in getattr(loaded, "__all__", []):
            value = getattr(loaded, name)
            if isinstance(value, type) and issubclass(value, BaseConditionalStore):
                found.add(name)
    assert found == set(MODULES)


def test_persistent_dict_example_runs() -> None:
    """The README's persistent-dict example runs as written (its asserts included)."""
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- persistent dict example")
    code = text[start:].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert "d" in namespace


def test_cached_example_runs() -> None:
    """The README's `@cached` example runs as written (its asserts included)."""
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- cached example")
    code = text[start:].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {"__name__": "readme_cached"}
    exec(compile(code, "README.md", "exec"), namespace)
    assert "forecast" in namespace

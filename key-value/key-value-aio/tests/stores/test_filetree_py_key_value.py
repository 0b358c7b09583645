"""FileTreeStore with py-key-value's options: its V1 sanitization strategies (as FastMCP passes them) and
serialization adapters. The whole contract runs on such a store; the paths are pinned to those
py-key-value-aio 0.4.6 creates for the same names (obtained by running it), and files are the documents
its `BasicSerializationAdapter` reads and writes.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from key_value.aio._utils.serialization import BasicSerializationAdapter, SerializationAdapter
from key_value.aio.stores.filetree import (
    FileTreeStore,
    FileTreeV1CollectionSanitizationStrategy,
    FileTreeV1KeySanitizationStrategy,
)
from key_value.shared.errors import DeserializationError, InvalidKeyError

from ..support.contract import ContractTests

#: (collection, key) -> the entry file py-key-value-aio 0.4.6 writes for it with the V1 strategies.
UPSTREAM_PATHS = {
    ("mcp-oauth-proxy-clients", "client-123"): "S_mcp_oauth_proxy_clients-4db71f6a/S_client_123-b44ea687.json",
    ("weird coll/..", "ünï key::x"): "S_weird_coll_-281cd5a4/S__n_key_x-e57e743f.json",
    ("plain", "simple_key"): "plain/simple_key.json",
}


def v1_store(directory: Path, **options: Any) -> FileTreeStore:
    return FileTreeStore(
        data_directory=directory,
        key_sanitization_strategy=FileTreeV1KeySanitizationStrategy(directory),
        collection_sanitization_strategy=FileTreeV1CollectionSanitizationStrategy(directory),
        **options,
    )


class TestFileTreeStoreWithV1Strategies(ContractTests):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> FileTreeStore:
        return v1_store(tmp_path)

    #: Every conditional write fsyncs its file and the directory: 8 racing processes commit 400 to 800
    #: increments a second on a 2-core machine. The same store's native class races 8 x 1000; here, with
    #: py-key-value's layout, 8 x 250 (2.5-5 s).
    race_increments = 250

    @pytest.fixture
    def store_options(self, tmp_path: Path) -> dict[str, Any]:
        """The racing processes cannot be handed strategy objects (their options are JSON): they open the
        directory with py-key-value's exact layout, which keeps the race's plain names as the V1 strategies
        do, so both address the same file (`race/across.json`) and read its ETag the same way."""
        return {"data_directory": str(tmp_path), "layout": "py-key-value"}


def entry_files(directory: Path) -> set[str]:
    """The entry files below `directory` (not its py-key-value `-info.json` files, nor our dot-files)."""
    return {
        str(path.relative_to(directory))
        for path in directory.rglob("*.json")
        if not path.name.startswith(".") and path.parent != directory
    }


def only_entry(directory: Path) -> Path:
    (path,) = [directory / name for name in entry_files(directory)]
    return path


def is_empty(directory: Path) -> bool:
    return not any(directory.iterdir())


async def test_entries_at_py_key_value_paths(tmp_path: Path) -> None:
    store = v1_store(tmp_path)
    for collection, key in UPSTREAM_PATHS:
        await store.put(key, {"v": key}, collection=collection, ttl=100)
    assert entry_files(tmp_path) == set(UPSTREAM_PATHS.values())
    document = json.loads((tmp_path / UPSTREAM_PATHS["plain", "simple_key"]).read_text())
    assert document["value"] == {"v": "simple_key"}
    assert document["version"] == 1
    created = datetime.fromisoformat(document["created_at"])
    expires = datetime.fromisoformat(document["expires_at"])
    assert timedelta(seconds=99) < expires - created <= timedelta(seconds=100)
    assert (document["key"], document["collection"]) == ("simple_key", "plain")


async def test_reads_files_py_key_value_wrote(tmp_path: Path) -> None:
    """A document as py-key-value's BasicSerializationAdapter writes it (no raw names) is read, TTL included."""
    now = datetime.now(tz=timezone.utc)
    path = tmp_path / UPSTREAM_PATHS["mcp-oauth-proxy-clients", "client-123"]
    path.parent.mkdir()
    document = {
        "created_at": now.isoformat(),
        "expires_at": (now + timedelta(seconds=60)).isoformat(),
        "value": {"client_id": "abc"},
        "version": 1,
    }
    path.write_text(json.dumps(document))
    store = v1_store(tmp_path)
    value, ttl = await store.ttl("client-123", collection="mcp-oauth-proxy-clients")
    assert value == {"client_id": "abc"}
    assert ttl is not None
    assert 58 < ttl <= 60
    # Listing needs the raw key, which such a file lacks and its sanitized name does not give back.
    with pytest.raises(DeserializationError):
        await store.keys(collection="mcp-oauth-proxy-clients")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "simple_key.json").write_text(json.dumps({"value": {"a": 1}, "version": 1}))
    assert await store.keys(collection="plain") == ["simple_key"]  # a name the strategy keeps is its own raw key


async def test_reserved_names_refused_before_writing(tmp_path: Path) -> None:
    store = v1_store(tmp_path)
    for key, collection in (("S_abc", "c"), ("H_abc", "c"), ("k", "S_coll")):
        with pytest.raises(InvalidKeyError):
            await store.put(key, {"v": 1}, collection=collection)
    assert is_empty(tmp_path)


class TaggingAdapter(SerializationAdapter):
    """A custom adapter: keeps the value under `payload` and tags every document."""

    def prepare_dump(self, data: dict[str, Any]) -> dict[str, Any]:
        return {**{k: v for k, v in data.items() if k != "value"}, "payload": data["value"], "tag": "mine"}

    def prepare_load(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("tag") != "mine":
            raise DeserializationError("not written by TaggingAdapter")
        return {**{k: v for k, v in data.items() if k != "payload"}, "value": data["payload"]}


async def test_a_custom_serialization_adapter_is_honoured(tmp_path: Path) -> None:
    store = FileTreeStore(data_directory=tmp_path, serialization_adapter=TaggingAdapter())
    await store.put("k", {"a": [1, 2]}, collection="c", ttl=30)
    path = only_entry(tmp_path)
    document = json.loads(path.read_text())
    assert document["payload"] == {"a": [1, 2]}
    assert document["tag"] == "mine"
    assert "value" not in document
    assert await store.get("k", collection="c") == {"a": [1, 2]}
    assert await store.keys(collection="c") == ["k"]
    path.write_text(json.dumps({"value": {"a": 1}, "version": 1}))  # not the adapter's document
    with pytest.raises(DeserializationError):
        await store.get("k", collection="c")


async def test_without_py_key_value_options_the_native_layout_stays(tmp_path: Path) -> None:
    store = FileTreeStore(data_directory=tmp_path)
    await store.put("simple_key", {"v": 1}, collection="plain")
    path = only_entry(tmp_path)
    assert "version" not in json.loads(path.read_text())  # our record, not py-key-value's document


def test_the_basic_adapter_round_trips_a_document() -> None:
    adapter = BasicSerializationAdapter()
    entry = adapter.load_json('{"value": {"a": 1}, "expires_at": "2030-01-01T00:00:00+00:00", "version": 1}')
    assert entry.value == {"a": 1}
    assert entry.expires_at == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert json.loads(adapter.dump_json(entry)) == {
        "expires_at": "2030-01-01T00:00:00+00:00",
        "value": {"a": 1},
        "version": 1,
    }

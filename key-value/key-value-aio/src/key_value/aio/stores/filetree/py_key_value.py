"""FileTreeStore's layout for py-key-value's options: its sanitization strategies and serialization adapters.

With `key_sanitization_strategy=` / `collection_sanitization_strategy=` (FastMCP passes the
`FileTreeV1...` ones), entry files sit at exactly the paths py-key-value-aio 0.4.x uses for them,
`<data_directory>/<collection>/<key>.json` with both names sanitized, and, unless another adapter is
given, each file holds py-key-value's own document (`BasicSerializationAdapter`), so processes of both
libraries read each other's entries. A `serialization_adapter=` alone keeps our names and writes its
documents. Files carry the raw key and collection, so listings name them; a file py-key-value wrote
has no raw key, and lists under its file name when the strategy leaves that name unchanged.
"""

from __future__ import annotations

import os
from typing import Any

from key_value.aio.stores.filetree.tree import ENTRY_SUFFIX
from key_value.shared.compat.records import AdapterRecords
from key_value.shared.compat.sanitization import SanitizationStrategy
from key_value.shared.compat.serialization import BasicSerializationAdapter, SerializationAdapter
from key_value.shared.compat.strategies import sanitized
from key_value.shared.errors import DeserializationError, InvalidKeyError
from key_value.shared.layouts.filetree import NativeFileTreeLayout


class PyKeyValueLayout(NativeFileTreeLayout):
    """Names through the given strategies (ours where none is given), records through an adapter."""

    def __init__(
        self,
        *,
        key_strategy: SanitizationStrategy | None,
        collection_strategy: SanitizationStrategy | None,
        adapter: SerializationAdapter | None,
    ) -> None:
        self.key_strategy = key_strategy
        self.collection_strategy = collection_strategy
        self.records = AdapterRecords(adapter or BasicSerializationAdapter())

    def collection_component(self, collection: str) -> str:
        if self.collection_strategy is None:
            return super().collection_component(collection)
        return sanitized(self.collection_strategy, collection)

    def key_component(self, key: str) -> str:
        if self.key_strategy is None:
            return super().key_component(key)
        return sanitized(self.key_strategy, key)

    def encode(self, value_json: str, expires_at: float | None, *, collection: str, key: str) -> bytes:
        return self.records.encode(value_json, expires_at, collection=collection, key=key).encode()

    def decode(self, data: bytes) -> dict[str, Any]:
        return self.records.decode(data)

    def raw_key(self, record: dict[str, Any], path: str) -> str:
        key = record.get("key")
        if isinstance(key, str):
            return key
        stem = os.path.basename(path).removesuffix(ENTRY_SUFFIX)
        if self.key_strategy is not None and self._kept(self.key_strategy, stem):
            return stem  # a name the strategy accepts and keeps as it is: the raw key
        raise DeserializationError(
            "this entry file holds no raw key and its name was sanitized: rewrite it to list it",
            extra_info={"path": path},
        )

    @staticmethod
    def _kept(strategy: SanitizationStrategy, name: str) -> bool:
        try:
            return sanitized(strategy, name) == name
        except InvalidKeyError:  # a reserved name (`S_...`): only ever a sanitized one
            return False


def layout_for(
    *,
    key_strategy: SanitizationStrategy | None,
    collection_strategy: SanitizationStrategy | None,
    adapter: SerializationAdapter | None,
) -> NativeFileTreeLayout:
    """py-key-value's layout when any of its options is given, else the native layout."""
    if key_strategy is None and collection_strategy is None and adapter is None:
        return NativeFileTreeLayout()
    return PyKeyValueLayout(key_strategy=key_strategy, collection_strategy=collection_strategy, adapter=adapter)


__all__ = ["PyKeyValueLayout", "layout_for"]

"""The import paths and names of py-key-value-aio 0.4.x exist here, so code written for it runs unchanged."""

from __future__ import annotations

import importlib

import pytest

from key_value.aio.protocols import (
    AsyncCullProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValue,
    AsyncKeyValueProtocol,
)
from key_value.aio.protocols.capabilities import capabilities_of
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.stores.null import NullStore
from key_value.shared.capabilities import Capability

ERRORS = [
    "BaseKeyValueError",
    "KeyValueOperationError",
    "SerializationError",
    "CodecMismatchError",
    "DeserializationError",
    "MissingKeyError",
    "InvalidTTLError",
    "InvalidKeyError",
    "ValueTooLargeError",
    "EntryTooLargeError",
    "EntryTooSmallError",
    "ReadOnlyError",
    "KeyNotFoundError",
    "UnsupportedOperationError",
    "ImmutableEntryError",
    "EncryptionError",
    "DecryptionError",
    "CorruptedDataError",
    "KeyValueStoreError",
    "StoreSetupError",
    "StoreConnectionError",
]

MODULES = {
    "key_value.aio.protocols.key_value": ["AsyncKeyValue", "AsyncKeyValueProtocol"],
    "key_value.aio.stores.base": ["BaseStore", "BaseContextManagerStore"],
    "key_value.aio.stores.memory": ["MemoryStore"],
    "key_value.aio.stores.memory.store": ["MemoryStore"],
    "key_value.aio.stores.simple": ["SimpleStore"],
    "key_value.aio.stores.null": ["NullStore"],
    "key_value.aio.stores.disk": ["DiskStore", "MultiDiskStore"],
    "key_value.aio.stores.disk.store": ["DiskStore"],
    "key_value.aio.stores.disk.multi_store": ["MultiDiskStore"],
    "key_value.aio.stores.filetree": ["FileTreeStore"],
    "key_value.aio.stores.redis": ["RedisStore"],
    "key_value.aio.stores.valkey": ["ValkeyStore"],
    "key_value.aio.stores.memcached": ["MemcachedStore"],
    "key_value.aio.stores.postgresql": ["PostgreSQLStore"],
    "key_value.aio.stores.nats": ["NATSStore"],
    "key_value.aio.stores.s3": ["S3Store"],
    "key_value.aio.stores.dynamodb": ["DynamoDBStore"],
    "key_value.aio.wrappers.statistics.wrapper": ["StatisticsWrapper", "KVStoreStatistics"],
    "key_value.aio.wrappers.encryption": ["FernetEncryptionWrapper"],
    "key_value.aio.adapters.pydantic": ["PydanticAdapter"],
    "key_value.aio.adapters.raise_on_missing": ["RaiseOnMissingAdapter"],
    "key_value.aio.mapping": ["AsyncKVMapping", "AsyncEdit", "LiveDict", "LiveList", "PAGE"],
}


#: Wrappers of ours that py-key-value does not have (persidict's write-once, append-only and cached dicts).
OURS = {
    "key_value.aio.wrappers.write_once": ["WriteOnceWrapper"],
    "key_value.aio.wrappers.append_only": ["AppendOnlyWrapper"],
    "key_value.aio.wrappers.validated_cache": ["ValidatedCacheWrapper"],
    "key_value.aio.wrappers.immutable_cache": ["ImmutableCacheWrapper"],
}


@pytest.mark.parametrize(("module", "names"), OURS.items())
def test_our_wrappers_exported(module: str, names: list[str]) -> None:
    imported = importlib.import_module(module)
    assert imported.__all__ == names
    for name in names:
        assert getattr(imported, name).__module__ == f"{module}.wrapper"


@pytest.mark.parametrize("name", ERRORS)
def test_errors_exported_and_shared(name: str) -> None:
    aio = importlib.import_module("key_value.aio.errors")
    shared = importlib.import_module("key_value.shared.errors")
    assert getattr(aio, name) is getattr(shared, name)
    assert name in aio.__all__


@pytest.mark.parametrize(("module", "names"), MODULES.items())
def test_module_paths(module: str, names: list[str]) -> None:
    imported = importlib.import_module(module)
    for name in names:
        assert hasattr(imported, name)


def test_key_value_is_a_namespace_package() -> None:
    import key_value  # noqa: PLC0415

    assert getattr(key_value, "__file__", None) is None


def test_protocols_and_capabilities() -> None:
    store = MemoryStore()
    protocols: list[type] = [
        AsyncKeyValue,
        AsyncKeyValueProtocol,
        AsyncCullProtocol,
        AsyncDestroyCollectionProtocol,
        AsyncDestroyStoreProtocol,
        AsyncEnumerateCollectionsProtocol,
        AsyncEnumerateKeysProtocol,
    ]
    for protocol in protocols:
        assert isinstance(store, protocol)
    everything = (
        Capability.KEYS | Capability.COLLECTIONS | Capability.DESTROY | Capability.DESTROY_COLLECTION | Capability.CULL
    )
    everything |= Capability.CONDITIONAL
    assert store.capabilities == everything
    assert capabilities_of(store) == everything
    null = NullStore()
    assert isinstance(null, AsyncKeyValue)
    assert not isinstance(null, AsyncEnumerateKeysProtocol)
    assert null.capabilities == Capability.CONDITIONAL  # every key absent, every condition decided on that

"""The key-value protocol and its optional segments."""

from key_value.aio.protocols.key_value import (
    AsyncCullProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValue,
    AsyncKeyValueProtocol,
)

__all__ = [
    "AsyncCullProtocol",
    "AsyncDestroyCollectionProtocol",
    "AsyncDestroyStoreProtocol",
    "AsyncEnumerateCollectionsProtocol",
    "AsyncEnumerateKeysProtocol",
    "AsyncKeyValue",
    "AsyncKeyValueProtocol",
]

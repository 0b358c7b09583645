"""The key-value protocol and its optional segments."""

from key_value.aio.protocols.key_value import (
    AsyncConditionalProtocol,
    AsyncCullProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValue,
    AsyncKeyValueProtocol,
)

__all__ = [
    "AsyncConditionalProtocol",
    "AsyncCullProtocol",
    "AsyncDestroyCollectionProtocol",
    "AsyncDestroyStoreProtocol",
    "AsyncEnumerateCollectionsProtocol",
    "AsyncEnumerateKeysProtocol",
    "AsyncKeyValue",
    "AsyncKeyValueProtocol",
]

"""Find out which optional segments an object implements."""

from __future__ import annotations

from key_value.aio.protocols.key_value import (
    AsyncCullProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
)
from key_value.shared.capabilities import Capability

_SEGMENTS: tuple[tuple[type, Capability], ...] = (
    (AsyncEnumerateKeysProtocol, Capability.KEYS),
    (AsyncEnumerateCollectionsProtocol, Capability.COLLECTIONS),
    (AsyncDestroyStoreProtocol, Capability.DESTROY),
    (AsyncDestroyCollectionProtocol, Capability.DESTROY_COLLECTION),
    (AsyncCullProtocol, Capability.CULL),
)


def capabilities_of(store: object) -> Capability:
    """The store's own `capabilities` if it declares them, else the segments its methods implement."""
    declared = getattr(store, "capabilities", None)
    if isinstance(declared, Capability):
        return declared
    return implemented_segments(store)


def implemented_segments(store: object) -> Capability:
    """The optional segments whose methods `store` has."""
    found = Capability.NONE
    for protocol, capability in _SEGMENTS:
        if isinstance(store, protocol):
            found |= capability
    return found

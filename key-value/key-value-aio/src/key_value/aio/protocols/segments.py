"""The optional protocol segments, in one table.

Each row names a segment's capability flag, its protocol and its public methods; a method `m` is
implemented through a hook `_m`, the same name in stores and wrappers. `implemented_segments`,
`ALL_SEGMENTS`, the wrappers' segment methods and `PerCallWrapper`'s forwarding are derived from
this table, so a new segment is one row here, one store mixin (stores/base.py) and its hooks.
"""

from __future__ import annotations

from dataclasses import dataclass

from key_value.aio.protocols.key_value import (
    AsyncConditionalProtocol,
    AsyncCullProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
)
from key_value.shared.capabilities import Capability


@dataclass(frozen=True)
class Segment:
    """One optional segment: the flag a store claims, the protocol it satisfies, its public methods.

    `derived` methods are written once on top of the others (`transform` on `get_entry` and `put_if`):
    a wrapper gets them with the segment, but they are not forwarded as calls of their own.
    """

    capability: Capability
    protocol: type
    methods: tuple[str, ...]
    derived: tuple[str, ...] = ()

    @property
    def hooks(self) -> tuple[str, ...]:
        """The hook behind each forwarded method (`keys` -> `_keys`), in stores and wrappers alike."""
        return tuple(f"_{method}" for method in self.methods if method not in self.derived)


SEGMENTS: tuple[Segment, ...] = (
    Segment(Capability.KEYS, AsyncEnumerateKeysProtocol, ("keys",)),
    Segment(Capability.COLLECTIONS, AsyncEnumerateCollectionsProtocol, ("collections",)),
    Segment(Capability.DESTROY, AsyncDestroyStoreProtocol, ("destroy",)),
    Segment(Capability.DESTROY_COLLECTION, AsyncDestroyCollectionProtocol, ("destroy_collection",)),
    Segment(Capability.CULL, AsyncCullProtocol, ("cull",)),
    Segment(
        Capability.CONDITIONAL,
        AsyncConditionalProtocol,
        ("get_entry", "put_if", "delete_if", "put_if_absent", "transform"),
        derived=("put_if_absent", "transform"),
    ),
)


def _every_segment() -> Capability:
    found = Capability.NONE
    for segment in SEGMENTS:
        found |= segment.capability
    return found


#: Every optional segment at once.
ALL_SEGMENTS: Capability = _every_segment()

__all__ = ["ALL_SEGMENTS", "SEGMENTS", "Segment"]

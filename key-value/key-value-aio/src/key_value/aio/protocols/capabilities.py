"""Find out which optional segments an object implements."""

from __future__ import annotations

from key_value.aio.protocols.segments import SEGMENTS
from key_value.shared.capabilities import Capability


def capabilities_of(store: object) -> Capability:
    """The store's own `capabilities` if it declares them, else the segments its methods implement."""
    declared = getattr(store, "capabilities", None)
    if isinstance(declared, Capability):
        return declared
    return implemented_segments(store)


def implemented_segments(store: object) -> Capability:
    """The optional segments whose methods `store` has."""
    found = Capability.NONE
    for segment in SEGMENTS:
        if isinstance(store, segment.protocol):
            found |= segment.capability
    return found

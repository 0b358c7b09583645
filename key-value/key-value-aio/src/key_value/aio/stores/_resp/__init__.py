"""What RedisStore and ValkeyStore share: SCAN enumeration, error translation and the RESP constants.

Their on-server layout is `key_value.shared.layouts.resp` (injectable with `layout=`); each store keeps
only what its client library does differently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from key_value.aio.stores._resp.enumeration import ScanEnumeration
from key_value.aio.stores._resp.errors import ErrorTranslation
from key_value.aio.stores._server_ttl import ValueTTL, value_ttl
from key_value.shared.entry import Entry, new_entry
from key_value.shared.layouts.resp import RespLayout

#: Keys per SCAN reply: few round trips, short pauses of the server.
SCAN_COUNT = 1000
#: Keys per DEL when destroying.
DELETE_BATCH = 1000


def milliseconds(ttl: float) -> int:
    """A TTL in whole milliseconds for PX, never 0 (which the server would refuse)."""
    return max(1, round(ttl * 1000))


def entries(layout: RespLayout, raws: Sequence[Any]) -> list[Entry | None]:
    """The entries in GET/MGET replies. The server never returns an expired entry, and keeps the expiry itself."""
    decode = layout.decode
    return [None if raw is None else new_entry(Entry, (decode(raw), None, None)) for raw in raws]


def values_with_ttl(layout: RespLayout, replies: Sequence[Any]) -> list[ValueTTL]:
    """(value, seconds left) per key from the replies of pipelined GET and PTTL pairs."""
    decode = layout.decode
    return [
        value_ttl(None if raw is None else decode(raw), pttl)
        for raw, pttl in zip(replies[::2], replies[1::2], strict=True)
    ]


__all__ = [
    "DELETE_BATCH",
    "SCAN_COUNT",
    "ErrorTranslation",
    "ScanEnumeration",
    "entries",
    "milliseconds",
    "values_with_ttl",
]

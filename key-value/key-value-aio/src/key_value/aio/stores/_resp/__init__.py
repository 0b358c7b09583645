"""What RedisStore and ValkeyStore share: SCAN enumeration, error translation and the RESP constants.

Their on-server layout is `key_value.shared.layouts.resp` (injectable with `layout=`); each store keeps
only what its client library does differently.
"""

from __future__ import annotations

from key_value.aio.stores._resp.enumeration import ScanEnumeration
from key_value.aio.stores._resp.errors import ErrorTranslation

#: Keys per SCAN reply: few round trips, short pauses of the server.
SCAN_COUNT = 1000
#: Keys per DEL when destroying.
DELETE_BATCH = 1000


def milliseconds(ttl: float) -> int:
    """A TTL in whole milliseconds for PX, never 0 (which the server would refuse)."""
    return max(1, round(ttl * 1000))


__all__ = ["DELETE_BATCH", "SCAN_COUNT", "ErrorTranslation", "ScanEnumeration", "milliseconds"]

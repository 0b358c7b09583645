"""py-key-value's TTL and timestamp helpers (UTC-aware datetimes; TTLs checked as our stores check them)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any, SupportsFloat

from key_value.shared.validation import check_ttl


def epoch_to_datetime(epoch: float) -> datetime:
    """An aware UTC datetime for epoch seconds."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def now_as_epoch() -> float:
    return time.time()


def now() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(tz=timezone.utc)


def seconds_to(datetime: datetime) -> float:
    """Seconds from now until `datetime` (negative when it has passed)."""
    return (datetime - now()).total_seconds()


def now_plus(seconds: float) -> datetime:
    return now() + timedelta(seconds=seconds)


def try_parse_datetime_str(value: Any) -> datetime | None:
    """The datetime an ISO 8601 string names; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def prepare_ttl(t: SupportsFloat | None) -> float | None:
    """A checked TTL in seconds, or None; `InvalidTTLError` for 0, negatives, NaN, infinity and bool."""
    return check_ttl(t)


def prepare_entry_timestamps(ttl: SupportsFloat | None) -> tuple[datetime, float | None, datetime | None]:
    """(created_at, ttl seconds, expires_at) for an entry written now."""
    created_at = now()
    seconds = prepare_ttl(ttl)
    return created_at, seconds, None if seconds is None else created_at + timedelta(seconds=seconds)


__all__ = [
    "epoch_to_datetime",
    "now",
    "now_as_epoch",
    "now_plus",
    "prepare_entry_timestamps",
    "prepare_ttl",
    "seconds_to",
    "try_parse_datetime_str",
]

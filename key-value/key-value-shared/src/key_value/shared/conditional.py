"""The conditional segment's vocabulary: ETags, conditions, jokers, results, and how atomic a store is.

An ETag is an opaque `str` naming one write of one (collection, key); a write (plain or conditional)
gives the entry a new one, and a store never gives two different values the same ETag. Stores whose
ETag is derived from the stored bytes (Redis, Valkey, S3) give equal ETags to byte-equal values.
`ABSENT` stands for "no live entry" (missing or expired) wherever an ETag is expected or reported.
"""

from __future__ import annotations

import enum
from typing import Any, Final, NamedTuple, TypeAlias

from key_value.shared.errors import InvalidArgumentError, InvalidArgumentTypeError


class Condition(enum.Enum):
    """When a conditional write goes ahead, comparing the entry's current ETag with the expected one."""

    ANY = "any"
    """Always: an unconditional write that still reports the ETags."""
    SAME = "same"
    """Only if the current ETag is the expected one (`ABSENT`: only if there is no live entry)."""
    CHANGED = "changed"
    """Only if the current ETag is not the expected one (`ABSENT`: only if there is a live entry)."""

    def __repr__(self) -> str:
        return self.name


ANY: Final = Condition.ANY
SAME: Final = Condition.SAME
CHANGED: Final = Condition.CHANGED


class Absent(enum.Enum):
    """The type of `ABSENT`."""

    ABSENT = "ABSENT"

    def __repr__(self) -> str:
        return self.name


#: "No live entry": the expected ETag of an insert, the ETag reported for a missing or expired entry.
ABSENT: Final = Absent.ABSENT


class NotRetrieved(enum.Enum):
    """The type of `NOT_RETRIEVED`."""

    NOT_RETRIEVED = "NOT_RETRIEVED"

    def __repr__(self) -> str:
        return self.name


#: `ConditionalResult.value` of a call made with `retrieve=False`: the value was not read back.
NOT_RETRIEVED: Final = NotRetrieved.NOT_RETRIEVED


class Joker(enum.Enum):
    """Values of `put_if` (and results of a `transform` function) that are not a new value."""

    KEEP_CURRENT = "KEEP_CURRENT"
    """Write nothing; with a TTL, only refresh the TTL of a live entry (its ETag stays)."""
    DELETE_CURRENT = "DELETE_CURRENT"
    """Delete the entry."""

    def __repr__(self) -> str:
        return self.name


KEEP_CURRENT: Final = Joker.KEEP_CURRENT
DELETE_CURRENT: Final = Joker.DELETE_CURRENT

#: What an ETag argument or report can be.
ETag: TypeAlias = "str | Absent"


class Atomicity(enum.Enum):
    """How far a store's conditional calls are atomic (each check and its write happen as one step)."""

    ACROSS_PROCESSES = "across processes"
    """Every process and machine using the same backend sees one winner per ETag."""
    WITHIN_PROCESS = "within one process"
    """Atomic among the threads and tasks of one process sharing the store object; not across processes."""
    BEST_EFFORT = "best effort"
    """The check and the write are separate steps: a concurrent writer can slip in between."""

    def __repr__(self) -> str:
        return f"Atomicity.{self.name}"


_ORDER = (Atomicity.BEST_EFFORT, Atomicity.WITHIN_PROCESS, Atomicity.ACROSS_PROCESSES)


def weakest(levels: list[Atomicity]) -> Atomicity:
    """The guarantee a stack over several stores keeps: the weakest of theirs."""
    return min(levels, key=_ORDER.index) if levels else Atomicity.ACROSS_PROCESSES


class VersionedEntry(NamedTuple):
    """A live entry as `get_entry` returns it (exported as `Entry` by the `conditional` modules).

    `value` is a fresh copy owned by the caller; `etag` names this write (for `put_if` / `delete_if`);
    `ttl` is the seconds left to live (None: never expires); `written_at` is when the entry was last
    written, in epoch seconds, or None where the store does not record it. (A NamedTuple: it is made
    once per read, and a frozen dataclass costs four times as much to build.)
    """

    value: dict[str, Any]
    etag: str
    ttl: float | None
    written_at: float | None


class ConditionalResult(NamedTuple):
    """What a conditional call did; true in a boolean context when the condition held.

    `satisfied`: the condition held and the write (or delete, or TTL refresh) was made. `actual_etag`:
    the entry's ETag when the condition was checked (`ABSENT` if there was no live entry).
    `resulting_etag`: its ETag after the call (`ABSENT` if there is none). `value`: the value the entry
    holds after the call (None if absent), or `NOT_RETRIEVED` when called with `retrieve=False`.
    """

    satisfied: bool
    actual_etag: str | Absent
    resulting_etag: str | Absent
    value: dict[str, Any] | NotRetrieved | None = NOT_RETRIEVED

    def __bool__(self) -> bool:
        return self.satisfied


def holds(condition: Condition, expected: str | Absent, actual: str | Absent) -> bool:
    """Whether `condition` holds for an entry whose current ETag is `actual`."""
    if condition is Condition.SAME:
        return actual == expected
    if condition is Condition.CHANGED:
        return actual != expected
    return True


def check_condition(condition: object) -> Condition:
    """`condition` if it is a `Condition`; else `InvalidArgumentTypeError` (before anything is written)."""
    if isinstance(condition, Condition):
        return condition
    raise InvalidArgumentTypeError(
        "condition must be ANY, SAME or CHANGED (key_value.aio.conditional)", {"condition": repr(condition)}
    )


def check_etag(etag: object) -> str | Absent:
    """`etag` if it is an ETag (a non-empty `str`) or `ABSENT`; else an `InvalidArgumentError`."""
    if etag is ABSENT:
        return ABSENT
    if type(etag) is str and etag:
        return etag
    if isinstance(etag, str):
        raise InvalidArgumentError("etag must be a non-empty string or ABSENT", {"etag": repr(etag)})
    raise InvalidArgumentTypeError("etag must be a string or ABSENT", {"etag": repr(etag)})


def check_retrieve(retrieve: object) -> bool:
    if isinstance(retrieve, bool):
        return retrieve
    raise InvalidArgumentTypeError("retrieve must be True or False", {"retrieve": repr(retrieve)})


__all__ = [
    "ABSENT",
    "ANY",
    "CHANGED",
    "DELETE_CURRENT",
    "KEEP_CURRENT",
    "NOT_RETRIEVED",
    "SAME",
    "Absent",
    "Atomicity",
    "Condition",
    "ConditionalResult",
    "ETag",
    "Joker",
    "NotRetrieved",
    "VersionedEntry",
    "check_condition",
    "check_etag",
    "check_retrieve",
    "holds",
    "weakest",
]

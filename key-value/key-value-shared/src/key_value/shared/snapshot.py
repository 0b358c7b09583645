"""MemoryStore's snapshots: private copies of exact JSON-shaped values, thawed again without decoding text."""

from __future__ import annotations

from typing import Any

# MemoryStore keeps values as Python objects instead of JSON text when that is exact: a value built only
# from dict (str keys), list, str, int, float (finite), bool and None, each of exactly that type, is
# already what JSON would give back. `freeze_value` proves that in one walk while taking a private copy,
# and records where the containers are, so `thaw_value` hands out a fresh copy without decoding text.
# Anything else (subclasses, tuples, int keys, NaN, circular or very deep values) returns None and goes
# through `encode_value`, which converts or refuses it with the usual error.

#: Where a frozen container's child containers are: (key or index, that child's own plan) pairs.
Plan = tuple[tuple[Any, "Plan"], ...]

_NONE_TYPE = type(None)
_INT_LIMIT = 10**4000  # ints past this are left to encode_value (CPython caps int/str conversion at 4300 digits)


class _NotExactError(Exception):
    """Raised inside the walk to leave it; never seen outside this module."""


_NOT_EXACT = _NotExactError()

# `_freeze_dict` and `_freeze_list` are one walk written twice on purpose: a shared helper per item, or
# a generic (place, item) iteration, costs a third more on the path every MemoryStore.put takes.


def _freeze_dict(value: dict[Any, Any]) -> tuple[Any, Plan]:
    copy: dict[Any, Any] | None = None
    plan: list[tuple[Any, Plan]] = []
    for key, item in value.items():
        if key.__class__ is not str:
            raise _NOT_EXACT
        cls = item.__class__
        if cls is str or cls is bool or cls is _NONE_TYPE:
            continue
        if cls is int:
            if -_INT_LIMIT < item < _INT_LIMIT:
                continue
            raise _NOT_EXACT
        if cls is float:
            if item - item == 0.0:  # False for NaN and the infinities
                continue
            raise _NOT_EXACT
        if cls is list:
            child, child_plan = _freeze_list(item)
        elif cls is dict:
            child, child_plan = _freeze_dict(item)
        else:
            raise _NOT_EXACT
        if copy is None:
            copy = value.copy()
        copy[key] = child
        plan.append((key, child_plan))
    return (value.copy() if copy is None else copy), tuple(plan)


def _freeze_list(value: list[Any]) -> tuple[Any, Plan]:
    copy: list[Any] | None = None
    plan: list[tuple[Any, Plan]] = []
    index = -1
    for item in value:
        index += 1
        cls = item.__class__
        if cls is str or cls is bool or cls is _NONE_TYPE:
            continue
        if cls is int:
            if -_INT_LIMIT < item < _INT_LIMIT:
                continue
            raise _NOT_EXACT
        if cls is float:
            if item - item == 0.0:
                continue
            raise _NOT_EXACT
        if cls is list:
            child, child_plan = _freeze_list(item)
        elif cls is dict:
            child, child_plan = _freeze_dict(item)
        else:
            raise _NOT_EXACT
        if copy is None:
            copy = value.copy()
        copy[index] = child
        plan.append((index, child_plan))
    return (value.copy() if copy is None else copy), tuple(plan)


def freeze_value(value: object) -> tuple[dict[str, Any], Plan] | None:
    """A private deep copy of `value` and its plan when JSON would give `value` back unchanged, else None.

    None is not an error: the caller falls back to `encode_value`, which converts or refuses the value.
    """
    if value.__class__ is not dict:
        return None
    try:
        return _freeze_dict(value)  # pyright: ignore[reportArgumentType] - exactly dict, checked above
    except (_NotExactError, RecursionError):
        return None


def thaw_value(frozen: Any, plan: Plan) -> Any:
    """A fresh deep copy of a value frozen by `freeze_value` (only containers are copied; leaves are immutable)."""
    fresh = frozen.copy()
    for place, child_plan in plan:
        fresh[place] = thaw_value(frozen[place], child_plan) if child_plan else frozen[place].copy()
    return fresh


__all__ = ["Plan", "freeze_value", "thaw_value"]

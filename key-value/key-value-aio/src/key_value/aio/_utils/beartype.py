"""py-key-value's type-check decorators, for code that decorates its own functions with them.

`bear_enforce` checks arguments and the result when runtime checks are on (`KV_TYPECHECK=1`), as our
public methods do; `no_bear_type_check` / `bear_spray` leave a function unchecked, which is the default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from typing_extensions import ParamSpec

from key_value.shared.typecheck import public_api

P = ParamSpec("P")
R = TypeVar("R")


def bear_enforce(func: Callable[P, R]) -> Callable[P, R]:
    """Check `func`'s arguments and result against its annotations when runtime checks are on."""
    checked: Callable[..., Any] = public_api(func)
    return checked


def no_bear_type_check(func: Callable[P, R]) -> Callable[P, R]:
    """`func` unchanged: never type-checked at run time."""
    return func


bear_spray = no_bear_type_check

__all__ = ["P", "bear_enforce", "bear_spray", "no_bear_type_check"]

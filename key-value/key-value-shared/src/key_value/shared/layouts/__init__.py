"""On-backend layouts, one module per store family: how names become backend slots and values become bytes.

Each module defines its family's layout interface and the native layout (the default); py-key-value's
layouts are second implementations of the same interfaces, in `key_value.shared.compat.layouts` (or,
where they need a store's client library, in that store's `py_key_value` module).

Every store takes `layout=` with the same names (`choose_layout` reads them):

- `"native"` (the default): this library's layout. On the stores that py-key-value-aio 0.4.x also has
  and whose data can be told apart from ours (Redis, Valkey, Memcached, Disk, MultiDisk, FileTree),
  entries that py-key-value wrote there are read too, with their TTLs, and replaced by our own on
  the next write or delete of the same key.
- `"py-key-value"`: exactly what py-key-value-aio 0.4.x reads and writes, so processes of both
  libraries share one server or directory (a rolling upgrade).
- or a layout object of the family's interface.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

from key_value.shared.errors import InvalidArgumentError

L = TypeVar("L")

#: The names every store's `layout=` accepts.
LayoutName = Literal["native", "py-key-value"]
LAYOUT_NAMES: tuple[LayoutName, ...] = ("native", "py-key-value")


def choose_layout(layout: str | L, *, native: Callable[[], L], py_key_value: Callable[[], L], store: str) -> L:
    """The layout object `layout` names (a layout object is returned as it is).

    `InvalidArgumentError` for a name that is not one of `LAYOUT_NAMES`.
    """
    if not isinstance(layout, str):
        return layout
    if layout == "native":
        return native()
    if layout == "py-key-value":
        return py_key_value()
    raise InvalidArgumentError(
        f"{store}: unknown layout {layout!r}; use one of {', '.join(map(repr, LAYOUT_NAMES))} or a layout object",
        extra_info={"layout": layout},
    )


__all__ = ["LAYOUT_NAMES", "LayoutName", "choose_layout"]

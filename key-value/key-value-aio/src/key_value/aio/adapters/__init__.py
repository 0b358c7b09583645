"""Adapters: typed or stricter views of a store (pydantic models, dataclasses, raise-on-missing reads).

The names are imported on first use, so `RaiseOnMissingAdapter` works without pydantic installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from key_value.aio.adapters.base_model import BaseModelAdapter
    from key_value.aio.adapters.dataclass import DataclassAdapter
    from key_value.aio.adapters.pydantic import PydanticAdapter
    from key_value.aio.adapters.raise_on_missing import RaiseOnMissingAdapter

_SUBPACKAGE = {
    "BaseModelAdapter": "base_model",
    "DataclassAdapter": "dataclass",
    "PydanticAdapter": "pydantic",
    "RaiseOnMissingAdapter": "raise_on_missing",
}


if not TYPE_CHECKING:  # hidden from type checkers, so a misspelt name is still reported

    def __getattr__(name: str) -> Any:
        """Import the adapter `name` from its subpackage the first time it is asked for."""
        subpackage = _SUBPACKAGE.get(name)
        if subpackage is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{__name__}.{subpackage}"), name)


__all__ = ["BaseModelAdapter", "DataclassAdapter", "PydanticAdapter", "RaiseOnMissingAdapter"]

"""The cache tests run on the store kinds of the mapping tests (`kv`)."""

from __future__ import annotations

from ..mapping.conftest import kv

__all__ = ["kv"]

"""Wrappers: stores around stores, each adding one behaviour; they stack in any order."""

from key_value.aio.wrappers.base import BaseWrapper

__all__ = ["BaseWrapper"]

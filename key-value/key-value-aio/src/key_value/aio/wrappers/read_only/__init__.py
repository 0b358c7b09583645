"""A wrapper that lets reads through and refuses (or ignores) every write."""

from key_value.aio.wrappers.read_only.wrapper import ReadOnlyWrapper

__all__ = ["ReadOnlyWrapper"]

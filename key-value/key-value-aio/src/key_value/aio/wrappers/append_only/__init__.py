"""A wrapper that lets entries be inserted and refuses to overwrite or delete them."""

from key_value.aio.wrappers.append_only.wrapper import AppendOnlyWrapper

__all__ = ["AppendOnlyWrapper"]

"""A wrapper that keeps the first value written to each key and ignores (optionally checks) repeat writes."""

from key_value.aio.wrappers.write_once.wrapper import WriteOnceWrapper

__all__ = ["WriteOnceWrapper"]

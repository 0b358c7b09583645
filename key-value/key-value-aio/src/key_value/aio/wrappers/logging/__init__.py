"""A wrapper that logs every operation."""

from key_value.aio.wrappers.logging.wrapper import LoggingWrapper

__all__ = ["LoggingWrapper"]

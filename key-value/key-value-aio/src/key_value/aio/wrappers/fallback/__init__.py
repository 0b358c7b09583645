"""A wrapper that reads from a second store when the first one fails."""

from key_value.aio.wrappers.fallback.wrapper import FallbackWrapper

__all__ = ["FallbackWrapper"]

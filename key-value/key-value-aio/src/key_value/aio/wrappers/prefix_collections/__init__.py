"""A wrapper that keeps its collections apart from others in a shared store by prefixing their names."""

from key_value.aio.wrappers.prefix_collections.wrapper import PrefixCollectionsWrapper

__all__ = ["PrefixCollectionsWrapper"]

"""A wrapper that keeps every collection inside one collection of the wrapped store."""

from key_value.aio.wrappers.single_collection.wrapper import SingleCollectionWrapper

__all__ = ["SingleCollectionWrapper"]

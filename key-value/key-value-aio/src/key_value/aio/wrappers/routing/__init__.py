"""Wrappers that send each collection to one of several stores."""

from key_value.aio.wrappers.routing.collection_routing import CollectionRoutingWrapper
from key_value.aio.wrappers.routing.wrapper import RoutingFunction, RoutingWrapper

__all__ = ["CollectionRoutingWrapper", "RoutingFunction", "RoutingWrapper"]

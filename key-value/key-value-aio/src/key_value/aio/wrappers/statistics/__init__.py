"""A wrapper that counts operations, hits and misses per collection."""

from key_value.aio.wrappers.statistics.wrapper import (
    BaseHitMissStatistics,
    BaseStatistics,
    ConditionalStatistics,
    DeleteStatistics,
    ExistsStatistics,
    GetStatistics,
    KVStoreCollectionStatistics,
    KVStoreStatistics,
    PutStatistics,
    StatisticsWrapper,
    TTLStatistics,
)

__all__ = [
    "BaseHitMissStatistics",
    "BaseStatistics",
    "ConditionalStatistics",
    "DeleteStatistics",
    "ExistsStatistics",
    "GetStatistics",
    "KVStoreCollectionStatistics",
    "KVStoreStatistics",
    "PutStatistics",
    "StatisticsWrapper",
    "TTLStatistics",
]

"""CompressionWrapper: the contract around each inner store, and the envelope's rules."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.wrappers.compression import CompressionWrapper
from key_value.shared.codec import encode_value
from key_value.shared.errors import DeserializationError, InvalidArgumentError

from ..support.contract import ContractTests

ENVELOPE_FIELDS = {"__compressed_data__", "__compression_algorithm__", "__compression_version__"}
LARGE: dict[str, Any] = {"text": "compressible " * 500}


class TestCompression(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> CompressionWrapper:
        return CompressionWrapper(inner_store)


class TestCompressEverything(ContractTests):
    """With a threshold of 0 every value goes through the envelope."""

    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> CompressionWrapper:
        return CompressionWrapper(inner_store, min_size_to_compress=0)


class TestStackOfThree(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> CompressionWrapper:
        return CompressionWrapper(CompressionWrapper(CompressionWrapper(inner_store, 0), 0), 0)


def envelope(value: dict[str, Any], *, algorithm: str = "gzip", version: int = 1) -> dict[str, Any]:
    """The envelope py-key-value-aio writes, built independently of the wrapper."""
    data = base64.b64encode(gzip.compress(json.dumps(value).encode())).decode()
    return {"__compressed_data__": data, "__compression_algorithm__": algorithm, "__compression_version__": version}


async def test_large_values_stored_compressed() -> None:
    inner = MemoryStore()
    store = CompressionWrapper(inner)
    await store.put("big", LARGE)
    stored = await inner.get("big")
    assert stored is not None
    assert stored.keys() == ENVELOPE_FIELDS
    assert len(encode_value(stored)) < len(encode_value(LARGE)) / 10
    assert await store.get("big") == LARGE
    assert await store.ttl("big") == (LARGE, None)
    assert await store.get_many(["big", "none"]) == [LARGE, None]
    assert await store.ttl_many(["big"]) == [(LARGE, None)]


async def test_threshold_is_the_size_of_the_json() -> None:
    inner = MemoryStore()
    value = {"v": "x" * 100}
    size = len(encode_value(value))
    await CompressionWrapper(inner, min_size_to_compress=size).put("at", value)
    await CompressionWrapper(inner, min_size_to_compress=size + 1).put("below", value)
    at, below = await inner.get_many(["at", "below"])
    assert at is not None
    assert at.keys() == ENVELOPE_FIELDS
    assert below == value


async def test_small_values_stored_as_they_are() -> None:
    inner = MemoryStore()
    store = CompressionWrapper(inner)
    await store.put_many(["a", "b"], [{"v": 1}, LARGE])
    assert await inner.get("a") == {"v": 1}
    assert await store.get_many(["a", "b"]) == [{"v": 1}, LARGE]


@pytest.mark.parametrize(
    "value",
    [
        {"__compressed_data__": "not base64 !"},
        {"__compressed_data__": 5, "other": True},
        envelope({"inner": "value"}),
        envelope({"inner": "value"}, algorithm="zstd", version=9),
        {"__compressed_data__": "", "__compression_algorithm__": "gzip", "__compression_version__": 1},
    ],
    ids=["marker", "marker-and-more", "envelope", "unknown-envelope", "empty-envelope"],
)
async def test_values_that_look_like_an_envelope_read_back_as_written(value: dict[str, Any]) -> None:
    inner = MemoryStore()
    store = CompressionWrapper(inner)
    await store.put("look-alike", value)
    stored = await inner.get("look-alike")
    assert stored is not None
    assert stored.keys() == ENVELOPE_FIELDS
    assert stored != value
    assert await store.get("look-alike") == value


async def test_values_stored_before_the_wrapper_still_read() -> None:
    inner = MemoryStore()
    await inner.put("plain", {"v": 1})
    await inner.put("marker-only", {"__compressed_data__": "anything", "note": "not an envelope"})
    store = CompressionWrapper(inner)
    assert await store.get("plain") == {"v": 1}
    assert await store.get("marker-only") == {"__compressed_data__": "anything", "note": "not an envelope"}


async def test_envelopes_written_elsewhere_are_read() -> None:
    inner = MemoryStore()
    await inner.put("upstream", envelope(LARGE))
    assert await CompressionWrapper(inner).get("upstream") == LARGE


@pytest.mark.parametrize(
    "stored",
    [
        {"__compressed_data__": "!!!", "__compression_algorithm__": "gzip", "__compression_version__": 1},
        {"__compressed_data__": "aGVsbG8=", "__compression_algorithm__": "gzip", "__compression_version__": 1},
        {"__compressed_data__": 7, "__compression_algorithm__": "gzip", "__compression_version__": 1},
        envelope(LARGE, algorithm="zstd"),
        envelope(LARGE, version=2),
        {
            "__compressed_data__": base64.b64encode(gzip.compress(b"[1, 2]")).decode(),
            "__compression_algorithm__": "gzip",
            "__compression_version__": 1,
        },
    ],
    ids=["bad-base64", "not-gzip", "not-a-string", "unknown-algorithm", "unknown-version", "not-an-object"],
)
async def test_corrupted_envelopes_raise(stored: dict[str, Any]) -> None:
    inner = MemoryStore()
    await inner.put("bad", stored)
    store = CompressionWrapper(inner)
    with pytest.raises(DeserializationError):
        await store.get("bad")
    with pytest.raises(DeserializationError):
        await store.get_many(["bad"])


@pytest.mark.parametrize("bound", [-1, 1.5, True, "10", None])
def test_bad_threshold(bound: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        CompressionWrapper(MemoryStore(), min_size_to_compress=bound)

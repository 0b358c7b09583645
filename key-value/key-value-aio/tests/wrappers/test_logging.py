"""LoggingWrapper: the contract around each inner store; what each operation logs (checked with caplog)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from key_value.aio.protocols.key_value import (
    AsyncCullProtocol,
    AsyncDestroyCollectionProtocol,
    AsyncDestroyStoreProtocol,
    AsyncEnumerateCollectionsProtocol,
    AsyncEnumerateKeysProtocol,
    AsyncKeyValue,
)
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.wrappers.logging import LoggingWrapper
from key_value.shared.errors import InvalidKeyError, SerializationError

from ..support.contract import ContractTests

LOGGER = "key_value.logging"
SECRET = "hunter2"


class TestLogging(ContractTests):
    """Logging is switched on, so every message is really built (values included) while the contract runs."""

    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue, caplog: pytest.LogCaptureFixture) -> LoggingWrapper:
        caplog.set_level(logging.INFO, logger=LOGGER)
        return LoggingWrapper(inner_store, log_values=True, structured_logs=True)


class TestStackOfThree(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> LoggingWrapper:
        return LoggingWrapper(LoggingWrapper(LoggingWrapper(inner_store), log_values=True), structured_logs=True)


def messages(caplog: pytest.LogCaptureFixture, name: str = LOGGER) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == name]


async def exercise(store: LoggingWrapper) -> None:
    await store.put("k", {"secret": SECRET}, ttl=60)
    await store.put_many(["a", "b"], [{"secret": SECRET}, {"v": 2}])
    await store.get("k")
    await store.get_many(["a", "missing"])
    await store.ttl("k")
    await store.ttl_many(["a"])
    await store.delete("a")
    await store.delete_many(["b", "missing"])


ACTIONS = ["PUT", "PUT_MANY", "GET", "GET_MANY", "TTL", "TTL_MANY", "DELETE", "DELETE_MANY"]


async def test_each_operation_logs_start_and_finish(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    await exercise(LoggingWrapper(MemoryStore()))
    logged = messages(caplog)
    expected = [f"{status} {action}" for action in ACTIONS for status in ("Start", "Finish")]
    assert [" ".join(message.split()[:2]) for message in logged] == expected
    assert all("collection='default_collection'" in message for message in logged)
    # py-key-value's lines, but for values, which are logged only with log_values=True
    assert logged[0] == "Start PUT collection='default_collection' keys='k' ({'ttl': 60})"
    assert logged[5] == "Finish GET collection='default_collection' keys='k' ({'hit': True})"
    assert (
        logged[6]
        == "Start GET_MANY collection='default_collection' keys='['a', 'missing']' ({'keys': ['a', 'missing']})"
    )
    assert (
        logged[7]
        == "Finish GET_MANY collection='default_collection' keys='['a', 'missing']' ({'hits': 1, 'misses': 1})"
    )
    assert logged[-1] == "Finish DELETE_MANY collection='default_collection' keys='['b', 'missing']' ({'deleted': 1})"
    assert not any(SECRET in message for message in logged)


async def test_values_are_logged_only_when_asked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    await exercise(LoggingWrapper(MemoryStore(), log_values=True))
    logged = messages(caplog)
    with_secret = [message.split()[:2] for message in logged if SECRET in message]
    expected = [("Start", "PUT"), ("Finish", "PUT"), ("Start", "PUT_MANY"), ("Finish", "PUT_MANY")]
    expected += [("Finish", "GET"), ("Finish", "GET_MANY"), ("Finish", "TTL"), ("Finish", "TTL_MANY")]
    assert [tuple(pair) for pair in with_secret] == expected


async def test_structured_logs_are_json(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    store = LoggingWrapper(MemoryStore(default_collection="mine"), log_values=True, structured_logs=True)
    await store.put("k", {"secret": SECRET}, collection="c", ttl=5)
    await store.get_many(["k", "x"])
    records: list[dict[str, Any]] = [json.loads(message) for message in messages(caplog)]
    assert records[0] == {
        "status": "start",
        "action": "PUT",
        "keys": "k",
        "collection": "c",
        "value": {"secret": SECRET},
        "extra": {"ttl": 5},
    }
    assert records[1] == {**records[0], "status": "finish"}  # as py-key-value: the finish repeats value and ttl
    assert records[3] == {
        "status": "finish",
        "action": "GET_MANY",
        "keys": ["k", "x"],
        "collection": "mine",
        "value": [None, None],
        "extra": {"hits": 0, "misses": 2},
    }


async def test_custom_logger_and_level(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.custom")
    caplog.set_level(logging.DEBUG, logger="tests.custom")
    await LoggingWrapper(MemoryStore(), logger=logger, log_level=logging.DEBUG).get("k")
    assert [record.levelno for record in caplog.records if record.name == "tests.custom"] == [logging.DEBUG] * 2
    assert messages(caplog) == []


async def test_nothing_is_logged_below_the_level(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    await exercise(LoggingWrapper(MemoryStore()))
    assert messages(caplog) == []


async def test_failures_are_logged_and_raised(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    store = LoggingWrapper(MemoryStore(), log_values=True, structured_logs=True)
    with pytest.raises(InvalidKeyError):
        await store.get("")
    with pytest.raises(SerializationError):
        await store.put("k", {"bad": {1, 2}})  # the value is not JSON: logged with repr, then refused
    records = [json.loads(message) for message in messages(caplog)]
    assert [(record["status"], record["action"]) for record in records] == [
        ("start", "GET"),
        ("failed", "GET"),
        ("start", "PUT"),
        ("failed", "PUT"),
    ]
    assert records[1]["extra"]["error"] == "InvalidKeyError"
    assert records[2]["value"] == {"bad": "{1, 2}"}
    assert records[3]["extra"]["error"] == "SerializationError"


async def test_segments_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    store = LoggingWrapper(MemoryStore())
    await store.put("k", {"v": 1}, collection="c")
    caplog.clear()
    assert isinstance(store, AsyncEnumerateKeysProtocol)
    assert await store.keys("c") == ["k"]
    assert isinstance(store, AsyncEnumerateCollectionsProtocol)
    assert await store.collections(limit=5) == ["c"]
    assert isinstance(store, AsyncCullProtocol)
    await store.cull()
    assert isinstance(store, AsyncDestroyCollectionProtocol)
    assert await store.destroy_collection("c") is True
    assert isinstance(store, AsyncDestroyStoreProtocol)
    assert await store.destroy() is False
    logged = messages(caplog)
    assert [" ".join(message.split()[:2]) for message in logged[1::2]] == [
        "Finish KEYS",
        "Finish COLLECTIONS",
        "Finish CULL",
        "Finish DESTROY_COLLECTION",
        "Finish DESTROY",
    ]
    assert "'count': 1" in logged[1]
    assert "'limit': 5" in logged[2]
    assert "'destroyed': True" in logged[7]
    assert "'destroyed': False" in logged[9]

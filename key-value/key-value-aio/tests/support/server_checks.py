"""Checks every server-backed store's tests run the same way: loops taking turns, and a server that stops answering."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Protocol

import pytest

from key_value.aio.stores.base import BaseContextManagerStore
from key_value.shared.errors import StoreConnectionError


class Pausable(Protocol):
    """A test server that can be frozen (SIGSTOP) and thawed, so requests reach it and go unanswered."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...


def check_used_from_two_event_loops(store: BaseContextManagerStore) -> None:
    """One store serves loop after loop and two open loops taking turns; the sync twin serves another thread."""
    if True:  # ASYNC
        asyncio.run(store.put("key", {"v": 1}))
        assert asyncio.run(store.get("key")) == {"v": 1}
        first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
        try:
            first.run_until_complete(store.put("key", {"v": 2}))
            assert second.run_until_complete(store.get("key")) == {"v": 2}
            assert first.run_until_complete(store.get_many(["key"])) == [{"v": 2}]
        finally:
            for loop in (first, second):
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()
    else:
        writer = threading.Thread(target=store.put, args=("key", {"v": 1}))
        writer.start()
        writer.join()
        assert store.get("key") == {"v": 1}
        store.close()


async def check_unanswered_request_times_out(
    store: BaseContextManagerStore, server: Pausable, *, bulk: bool = False
) -> None:
    """A request the frozen server never answers fails with StoreConnectionError in time; the store works on after."""
    await store.put("key", {"v": 1})
    server.pause()
    try:
        started = time.monotonic()
        with pytest.raises(StoreConnectionError):
            await (store.get_many(["key"]) if bulk else store.get("key"))
        assert time.monotonic() - started < 5
    finally:
        server.resume()
    assert await store.get("key") == {"v": 1}

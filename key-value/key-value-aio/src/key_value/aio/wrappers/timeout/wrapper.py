"""`TimeoutWrapper`: a call that takes longer than `timeout` seconds raises `StoreTimeoutError`.

`StoreTimeoutError` is a `StoreConnectionError` (what our stores raise when a backend does not answer)
and a `TimeoutError` (what py-key-value-aio raised), so handlers written for either catch it. The
async twin cancels the call. The sync twin runs each call in a worker thread and stops waiting after
the timeout; a blocking call cannot be cancelled, so it runs on in its (daemon) thread and a write may
still land after the caller got the error. Errors the store raises itself, including its own
`TimeoutError`s, pass through unchanged.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, wait
from typing import TypeVar

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.wrappers.per_call import PerCallWrapper
from key_value.shared.errors import StoreTimeoutError
from key_value.shared.validation import check_timeout

T = TypeVar("T")

if True:  # ASYNC
    Operation = Callable[[], Awaitable[T]]
    """A call to run within the time limit."""
else:
    Operation = Callable[[], T]


class TimeoutWrapper(PerCallWrapper):
    """Limits every call (protocol and segments) to `timeout` seconds; lifecycle calls are not limited."""

    def __init__(self, key_value: AsyncKeyValue, timeout: float = 5.0) -> None:
        super().__init__(key_value)
        self.timeout: float = check_timeout(timeout)

    def _timed_out(self) -> StoreTimeoutError:
        return StoreTimeoutError("the store did not answer in time", extra_info={"timeout": self.timeout})

    async def _call(self, operation: Operation[T]) -> T:
        """Run `operation`; raise `StoreTimeoutError` if it has not finished after `timeout` seconds."""
        if True:  # ASYNC
            store_raised = False

            async def run() -> T:
                nonlocal store_raised
                try:
                    return await operation()
                except Exception:
                    store_raised = True  # its own TimeoutError too: pass it on unchanged
                    raise

            try:
                return await asyncio.wait_for(run(), self.timeout)
            except asyncio.TimeoutError:
                if store_raised:
                    raise
                raise self._timed_out() from None
        else:
            outcome: Future[T] = Future()
            context = contextvars.copy_context()

            def run() -> None:
                try:
                    outcome.set_result(context.run(operation))
                except BaseException as exc:  # handed over to the waiting caller
                    outcome.set_exception(exc)

            threading.Thread(target=run, name="TimeoutWrapper call", daemon=True).start()
            if not wait([outcome], timeout=self.timeout).done:
                raise self._timed_out()
            return outcome.result()

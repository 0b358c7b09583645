"""`share_loop()`: awaited before a store call that runs inline, on the event loop's own thread.

The disk stores' direct calls and the file tree's reads return without suspending, so a task making
many in a row would keep every other task waiting. `share_loop()` lets them run (one `sleep(0)`) once
inline calls have held the loop for `HOLD` seconds since it last did, so a run of them holds the loop
about a millisecond at a time, for one `sleep(0)` per millisecond. In the sync twin it does nothing.
"""

from __future__ import annotations

import asyncio
import time

#: Seconds a run of inline calls may hold the event loop before it lets other tasks run.
HOLD = 0.001

_shared_at = [0.0]  # when inline calls last let other tasks run (`time.perf_counter()`), any loop


async def share_loop() -> None:
    """In the async twin, let other tasks run if inline calls have held the loop for `HOLD` seconds."""
    if True:  # ASYNC
        now = time.perf_counter()
        if now - _shared_at[0] > HOLD:
            _shared_at[0] = now
            await asyncio.sleep(0)

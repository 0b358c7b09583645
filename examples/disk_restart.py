"""DiskStore keeps its data across a restart: one process writes, exits, and a fresh process reads it back.

Usage: disk_restart.py             run both steps in a temporary directory and check the result
       disk_restart.py write DIR   step 1: write to a DiskStore in DIR, then exit
       disk_restart.py read DIR    step 2: read it back and print the value as JSON
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile

from key_value.aio.stores.disk import DiskStore

PROFILE = {"name": "Alice", "visits": 3, "tags": ["admin", "beta"]}


async def write(directory: str) -> None:
    # `async with` opens the store and closes it (flushing to disk) on the way out.
    async with DiskStore(directory=directory) as store:
        await store.put("alice", PROFILE, collection="users")
        await store.put("token", {"secret": "s3cr3t"}, collection="users", ttl=3600)  # expiry is stored too
    print(f"write: stored 2 entries in {directory}, exiting")


async def read(directory: str) -> None:
    async with DiskStore(directory=directory) as store:
        profile = await store.get("alice", collection="users")
        _, remaining = await store.ttl("token", collection="users")
        keys = sorted(await store.keys("users"))
    print(f"read: keys {keys}; the token still has {remaining or 0:.0f}s to live")
    print(json.dumps(profile))  # the last line carries the value, for the parent to check


def main() -> int:
    # The parent: run each step as its own Python process, so nothing but the disk connects them.
    with tempfile.TemporaryDirectory() as directory:
        writer = subprocess.run([sys.executable, __file__, "write", directory], check=False)
        if writer.returncode != 0:
            return writer.returncode
        reader = subprocess.run([sys.executable, __file__, "read", directory], check=False, stdout=subprocess.PIPE)
        if reader.returncode != 0:
            return reader.returncode
    *notes, last_line = reader.stdout.decode().splitlines()
    print(*notes, sep="\n")
    restored = json.loads(last_line)
    print("restored after restart:", restored)
    if restored != PROFILE:
        print(f"MISMATCH: wrote {PROFILE}, read {restored}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("write", "read"):
        asyncio.run(write(sys.argv[2]) if sys.argv[1] == "write" else read(sys.argv[2]))
    elif len(sys.argv) == 1:
        sys.exit(main())
    else:
        sys.exit(__doc__)

"""A persistent dict shared by processes: two writers change different fields of one nested value, and lose nothing.

`KVMapping` is a `dict` over a store. A dict or list value comes back as a live view: `m["doc"]["a"] += 1`
writes the whole value back at once, guarded by the ETag it was read with; when another process wrote
in between, the change is replayed on the fresh value instead of overwriting it.

Usage: persistent_dict.py                 run two writers on a FileTreeStore in a temporary directory
       persistent_dict.py write DIR FIELD  one writer: add 1 to FIELD of "doc" and append to its log, ROUNDS times
"""

from __future__ import annotations

import subprocess
import sys
import tempfile

from key_value.sync.mapping import KVMapping
from key_value.sync.stores.filetree import FileTreeStore

ROUNDS = 100
FIELDS = ("alice", "bob")


def write(directory: str, field: str) -> None:
    counts = KVMapping(FileTreeStore(data_directory=directory), "counters")
    for round_ in range(1, ROUNDS + 1):
        doc = counts["doc"]  # a live view of the stored value
        doc["visits"][field] += 1  # read, add, write back: replayed on a fresher value if the other writer came first
        doc["log"].append(f"{field}:{round_}")


def main() -> int:
    with tempfile.TemporaryDirectory() as directory:
        counts = KVMapping(FileTreeStore(data_directory=directory), "counters")
        counts["doc"] = {"visits": dict.fromkeys(FIELDS, 0), "log": []}
        writers = [subprocess.Popen([sys.executable, __file__, "write", directory, field]) for field in FIELDS]
        codes = [writer.wait() for writer in writers]
        if any(codes):
            print(f"a writer failed: exit codes {codes}", file=sys.stderr)
            return 1
        doc = counts["doc"].copy()  # a plain, detached dict
    print(f"{len(FIELDS)} processes, {ROUNDS} rounds each, on one value of a FileTreeStore")
    print("visits:", doc["visits"])
    print("log entries:", len(doc["log"]), "of", len(FIELDS) * ROUNDS)
    lost = sum(ROUNDS - count for count in doc["visits"].values()) + len(FIELDS) * ROUNDS - len(doc["log"])
    print("lost updates:", lost)
    return 1 if lost else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 1:
        sys.exit(main())
    else:
        sys.exit(__doc__)

"""Run the whole test suite; fail when pytest collected nothing (its exit code 5) instead of passing.

Tests spend most of their time waiting (TTL sleeps, fsync, servers), so they run in KV_TEST_WORKERS
processes (default 4, even on 2 cores); each worker starts its own servers on free ports. Tests
marked `serial` (timing-sensitive) run afterwards on their own.
"""

from __future__ import annotations

import os
import subprocess
import sys

NO_TESTS_COLLECTED = 5


def main() -> int:
    workers = os.environ.get("KV_TEST_WORKERS", "4")
    parallel = ["-n", workers, "--dist", "loadscope"] if workers not in ("", "0", "1") else []
    pytest = [sys.executable, "-m", "pytest"]
    code = subprocess.call([*pytest, *parallel, "-m", "not serial", *sys.argv[1:]])
    if code == NO_TESTS_COLLECTED:
        print("run_tests: pytest collected no tests; that is a failure", file=sys.stderr)
        return 1
    # Timing-sensitive tests (an event-loop heartbeat) run alone, so other workers cannot disturb them.
    serial = subprocess.call([*pytest, "-m", "serial", *sys.argv[1:]])
    return code or (0 if serial == NO_TESTS_COLLECTED else serial)


if __name__ == "__main__":
    sys.exit(main())

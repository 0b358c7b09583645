"""Run the whole test suite; fail when pytest collected nothing (its exit code 5) instead of passing."""

from __future__ import annotations

import subprocess
import sys

NO_TESTS_COLLECTED = 5


def main() -> int:
    command = [sys.executable, "-m", "pytest", *sys.argv[1:]]
    code = subprocess.call(command)
    if code == NO_TESTS_COLLECTED:
        print("run_tests: pytest collected no tests; that is a failure", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())

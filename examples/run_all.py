"""Run every example as its own process, in order; stop with its exit code at the first that fails.

This is `make demo`. Each example also runs alone: `uv run python examples/<name>.py`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = ("roundtrip_async.py", "roundtrip_sync.py", "disk_restart.py", "persistent_dict.py", "cached_calls.py")


def main() -> int:
    here = Path(__file__).resolve().parent
    for name in EXAMPLES:
        print(f"\n=== {name} ===", flush=True)  # flush so the header comes before the child's output
        code = subprocess.call([sys.executable, str(here / name)])
        if code != 0:
            print(f"\nFAILED: {name} exited with code {code}", file=sys.stderr)
            return code
    print(f"\nall {len(EXAMPLES)} examples passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Root test configuration: runtime type checks on, and the real-server plugins in testing/servers."""

import os
from pathlib import Path

# Runtime type checks at the public boundary are always on in the test suite.
os.environ.setdefault("KV_TYPECHECK", "1")

pytest_plugins = sorted(
    f"testing.servers.{path.stem}"
    for path in (Path(__file__).parent / "testing" / "servers").glob("*.py")
    if not path.stem.startswith("_")
)

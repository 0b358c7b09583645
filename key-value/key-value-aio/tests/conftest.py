"""Test-session settings shared by every test of this twin."""

import os

# Runtime type checks at the public boundary are always on in the test suite.
os.environ.setdefault("KV_TYPECHECK", "1")

"""Test-session support shared by both twins' test suites (not shipped)."""

"""I/O-free core shared by the async and sync twins of key-value."""

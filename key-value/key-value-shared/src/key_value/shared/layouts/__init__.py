"""On-backend layouts, one module per store family: how names become backend slots and values become bytes.

Each module defines its family's layout interface and the native layout (the default); py-key-value's
layouts are second implementations of the same interfaces.
"""

"""py-key-value-aio 0.4.x's on-backend layouts, one module per store family (`layout="py-key-value"`).

Each implements its family's layout interface from `key_value.shared.layouts` so that a store reads
and writes exactly the names and documents py-key-value does; the native layouts use these modules
only to read data py-key-value left behind.
"""

"""Twin-agnostic code with no I/O that both the async and the sync twin import.

Only what changes with neither the twin nor the backend belongs here: validation, errors, the value codec
(`codec`), MemoryStore's snapshots (`snapshot`), the file record format (`records`), naming, prefixing,
capabilities and the runtime type checks. How a store family lays names and values out on its backend
(names -> backend slots, value -> bytes) lives in `key_value.shared.layouts`, one module per store family
(PostgreSQL's alone lives with its store, `stores/postgresql/layout.py`, because its SQL is composed with
psycopg, which this package does not import), and code that exists only for py-key-value compatibility
lives in `key_value.shared.compat`. Store URLs are parsed by `key_value.shared.urls`.
"""

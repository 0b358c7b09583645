"""The PostgreSQL store's layout: the SQL of its table, names as column text, values as the value column.

The other families' layouts live in `key_value.shared.layouts`; this one lives with its store, because
its SQL is composed with psycopg, which the shared package does not import. The native layout is one
table `(collection, key, value json, created_at, expires_at, version)` (see `statements`), names
escaped as `names` says, and the value column holding the entry's JSON text.
"""

from __future__ import annotations

from typing import Any, Protocol

from key_value.aio.stores.postgresql.names import from_column, to_column
from key_value.aio.stores.postgresql.statements import Statements, build_statements
from key_value.shared.codec import decode_value


class PostgreSQLLayout(Protocol):
    """Where (collection, key) lives in the store's table, and what its value column holds."""

    def statements(self, *, schema: str | None, table: str) -> Statements:
        """The store's SQL for this table, composed once."""
        ...

    def to_column(self, name: str) -> str:
        """The text stored for a collection or key name."""
        ...

    def from_column(self, text: str) -> str:
        """The name stored as `text` (inverts `to_column`)."""
        ...

    def encode(self, value_json: str) -> str:
        """The JSON text to store in the value column for an entry whose value is `value_json`."""
        ...

    def decode(self, stored: str, /) -> dict[str, Any]:
        """The value stored in the value column, as the statements select it (JSON text)."""
        ...


class NativePostgreSQLLayout:
    """Our layout: the table of `statements`, names escaped by `names`, the value column holding the value."""

    def statements(self, *, schema: str | None, table: str) -> Statements:
        return build_statements(schema=schema, table=table)

    def to_column(self, name: str) -> str:
        return to_column(name)

    def from_column(self, text: str) -> str:
        return from_column(text)

    def encode(self, value_json: str) -> str:
        return value_json

    #: The value column holds the value's JSON text (a plain function: this runs once per row read).
    decode = staticmethod(decode_value)


NATIVE_POSTGRESQL_LAYOUT = NativePostgreSQLLayout()

__all__ = ["NATIVE_POSTGRESQL_LAYOUT", "NativePostgreSQLLayout", "PostgreSQLLayout"]

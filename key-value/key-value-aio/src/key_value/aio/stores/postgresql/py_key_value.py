"""py-key-value-aio 0.4.x's PostgreSQL layout (`PostgreSQLStore(layout="py-key-value")`), for sharing its table.

py-key-value (on asyncpg) keeps one table, by default `kv_store`, named in its SQL without quotes (so
PostgreSQL folds it to lower case):

    collection  text         \\  primary key, the names as given
    key         text         /
    value       jsonb        the value itself (no envelope)
    ttl         float8       the TTL in seconds given to the write, NULL without one
    created_at  timestamptz  set on insert; an overwrite keeps it
    expires_at  timestamptz  NULL without TTL; partial index `idx_<table>_expires_at`

It decides expiry by its own clock against `expires_at` and leaves expired rows in place; this layout
decides by the database clock against the same column, so both see the same rows expire.

The table has no version column, so the conditional segment's ETag is a digest of the stored value
(128 bits of SHA-256 over jsonb's canonical text): equal values share an ETag, whoever wrote them, and
py-key-value's own writes change it too. `written_at` is None: `created_at` keeps the first write's time.

What that table cannot hold is refused before anything is written: names containing NUL (text cannot
hold it; `InvalidKeyError`), and strings containing NUL in values (jsonb refuses \\u0000;
`SerializationError`). jsonb also normalizes numbers and key order: a float written in exponent form
(1e16) comes back as the equal integer, and an object's keys come back in jsonb's order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Any

from psycopg import sql
from typing_extensions import LiteralString

from key_value.aio.stores.postgresql.statements import (
    MAX_IDENTIFIER_BYTES,
    Statements,
    build_statements,
    conditional_statements,
)
from key_value.shared.codec import decode_value
from key_value.shared.errors import InvalidArgumentError, InvalidKeyError, SerializationError

#: A \u0000 escape in compact JSON text (an even run of backslashes before it is escaped backslashes).
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_UPSERT: LiteralString = " ".join(
    (
        "ON CONFLICT (collection, key) DO UPDATE SET value = EXCLUDED.value, ttl = EXCLUDED.ttl,",
        "expires_at = EXCLUDED.expires_at",
    )
)
#: The table has no version column: the ETag is a digest of the stored value (jsonb's text, canonical).
_ETAG: LiteralString = "left(encode(sha256(convert_to(value::text, 'UTF8')), 'hex'), 32)"
_EXPIRES: LiteralString = "now() + %(ttl)s::float8 * interval '1 second'"


def py_key_value_table(table: str) -> tuple[str, str]:
    """(table, index) as PostgreSQL names them for py-key-value's `table_name`; `InvalidArgumentError` if it refuses it.

    py-key-value accepts letters, digits and "_", not starting with a digit, up to 63 characters, and
    writes the names unquoted, so PostgreSQL folds their ASCII letters to lower case.
    """
    if not table.replace("_", "").isalnum() or table[0].isdigit() or len(table) > MAX_IDENTIFIER_BYTES:
        raise InvalidArgumentError(
            "layout='py-key-value': table_name must be letters, digits, _ (no digit first), at most 63 chars",
            extra_info={"table_name": table},
        )
    index = f"idx_{table}_expires_at"
    if len(index) > MAX_IDENTIFIER_BYTES:
        index = "idx_" + hashlib.sha256(table.encode()).hexdigest()[:16] + "_exp"
    return table.translate(_ASCII_UPPER), index.translate(_ASCII_UPPER)


class PyKeyValuePostgreSQLLayout:
    """py-key-value-aio 0.4.x's table (see the module docstring): raw names, the value as jsonb, a `ttl` column."""

    def statements(self, *, schema: str | None, table: str) -> Statements:
        table, index = py_key_value_table(table)
        common = build_statements(schema=schema, table=table)
        parts = (table,) if schema is None else (schema, table)
        name = sql.Identifier(*(part.replace("%", "%%") for part in parts))

        def render(*lines: LiteralString, **fields: sql.Composable) -> bytes:
            return sql.SQL(" ".join(lines)).format(table=name, **fields).as_bytes(None)

        insert = "INSERT INTO {table} AS entry (collection, key, value, ttl, created_at, expires_at)"
        create_table = render(
            "CREATE TABLE IF NOT EXISTS {table} (collection TEXT NOT NULL, key TEXT NOT NULL, value JSONB NOT NULL,",
            "ttl DOUBLE PRECISION, created_at TIMESTAMPTZ, expires_at TIMESTAMPTZ, PRIMARY KEY (collection, key))",
        )
        conditional = conditional_statements(
            render,
            etag=_ETAG,
            written_at="NULL::float8",  # created_at is the first write's time: an overwrite keeps it
            insert=" ".join(
                (
                    "INSERT INTO {table} (collection, key, value, ttl, created_at, expires_at)",
                    "SELECT %(collection)s, %(key)s, %(value)s::jsonb, %(ttl)s::float8, now(),",
                    _EXPIRES,
                )
            ),
            update=" ".join(("value = %(value)s::jsonb, ttl = %(ttl)s::float8, expires_at =", _EXPIRES)),
            refresh=" ".join(("ttl = %(ttl)s::float8, expires_at =", _EXPIRES)),
        )
        return dataclasses.replace(
            common,
            tokens=False,
            conditional=conditional,
            create_table=create_table,
            create_index=render(
                "CREATE INDEX IF NOT EXISTS {index} ON {table} (expires_at) WHERE expires_at IS NOT NULL",
                index=sql.Identifier(index.replace("%", "%%")),
            ),
            put=render(
                insert,
                "SELECT item.collection, item.key, item.value::jsonb, item.ttl, now(),",
                "now() + item.ttl * interval '1 second'",
                "FROM (VALUES (%s, %s, %s, %s::float8)) AS item (collection, key, value, ttl)",
                _UPSERT,
            ),
            put_many=render(
                insert,
                "SELECT %s, pair.key, pair.value::jsonb, given.ttl, now(), now() + given.ttl * interval '1 second'",
                "FROM (SELECT %s::float8 AS ttl) AS given, unnest(%b::text[], %b::text[]) AS pair (key, value)",
                _UPSERT,
            ),
        )

    def to_column(self, name: str) -> str:
        if "\x00" in name:
            raise InvalidKeyError(
                "layout='py-key-value': names cannot contain NUL (py-key-value's text columns cannot hold it)",
                extra_info={"name": name},
            )
        return name

    def from_column(self, text: str) -> str:
        return text

    def encode(self, value_json: str) -> str:
        if "\\u0000" in value_json and _NUL_ESCAPE.search(value_json):
            raise SerializationError(
                "layout='py-key-value': strings in values cannot contain NUL (py-key-value's jsonb cannot hold it)"
            )
        return value_json

    def decode(self, stored: str, /) -> dict[str, Any]:
        return decode_value(stored)


__all__ = ["PyKeyValuePostgreSQLLayout", "py_key_value_table"]

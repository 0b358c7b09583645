"""The SQL of `PostgreSQLStore`, composed once per table with `psycopg.sql`.

Table and schema names are quoted as identifiers; every other value is a query parameter, so nothing a
caller supplies is ever part of the SQL text. Statements are rendered to bytes up front: psycopg
prepares each one on the server once per connection, and no call composes SQL on the hot path.

Expiry is decided by the database clock: rows with `expires_at <= now()` are invisible to every read,
and the remaining time is computed by the server, so writers with skewed clocks agree. The conditional
statements decide it the same way, on the row they lock, in the step that checks the ETag.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from psycopg import sql
from typing_extensions import LiteralString

from key_value.shared.errors import InvalidArgumentError

#: PostgreSQL truncates longer identifiers (NAMEDATALEN - 1 bytes).
MAX_IDENTIFIER_BYTES = 63
_INDEX_SUFFIX = "_expires_at"
#: Longest table name whose expiry index name still fits in an identifier.
MAX_TABLE_NAME_BYTES = MAX_IDENTIFIER_BYTES - len(_INDEX_SUFFIX)

_LIVE: LiteralString = "(expires_at IS NULL OR expires_at > now())"
_REMAINING: LiteralString = "EXTRACT(EPOCH FROM expires_at - now())::float8"  # NULL when there is no expiry
_EXPIRES: LiteralString = "now() + {seconds}::float8 * interval '1 second'"  # NULL when there is no TTL
_UPSERT: LiteralString = " ".join(
    (
        "ON CONFLICT (collection, key) DO UPDATE SET value = EXCLUDED.value, created_at = EXCLUDED.created_at,",
        "expires_at = EXCLUDED.expires_at, version = EXCLUDED.version",
    )
)
#: The native ETag: `version`, a random 63-bit number the client draws for every write (`new_token`).
NATIVE_ETAG: LiteralString = "version::text"
#: The native write time: `created_at` is set by every write, not only the first.
NATIVE_WRITTEN_AT: LiteralString = "EXTRACT(EPOCH FROM created_at)::float8"


def check_identifier(what: str, name: object, *, max_bytes: int = MAX_IDENTIFIER_BYTES) -> str:
    """Return `name` if PostgreSQL can hold it as an identifier unchanged, else raise `InvalidArgumentError`."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise InvalidArgumentError(f"{what} must be a non-empty str without NUL", extra_info={what: repr(name)})
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidArgumentError(f"{what} must be valid Unicode", extra_info={what: repr(name)}) from exc
    if size > max_bytes:
        raise InvalidArgumentError(f"{what} must be at most {max_bytes} bytes of UTF-8", extra_info={what: name})
    return name


class ConditionalStatements(NamedTuple):
    """The conditional segment's statements (named parameters; see `conditional_statements`)."""

    get_versioned: bytes
    put_if: bytes
    keep_if: bytes
    delete_if: bytes


@dataclass(frozen=True)
class Statements:
    """Every statement the store runs against one table; `%s` marks a parameter.

    Run each with a parameter sequence (empty if it has none): psycopg then turns `%%` back into `%`.
    """

    table: str  # the quoted, possibly schema-qualified name, for messages and to_regclass()
    lock_key: int  # advisory lock that serializes creating and dropping this table
    exists: bytes
    lock: bytes
    create_table: bytes
    create_index: bytes
    drop_table: bytes
    delete_all: bytes
    any_live: bytes
    get: bytes
    get_many: bytes
    put: bytes
    put_many: bytes
    delete: bytes
    delete_many: bytes
    keys_page: bytes
    collections_page: bytes
    delete_collection: bytes
    cull: bytes
    conditional: ConditionalStatements
    #: Whether `put` and `put_many` take a fresh token as their last parameter (the native `version`).
    tokens: bool = True


def build_statements(*, schema: str | None, table: str) -> Statements:
    """Compose the statements for `schema.table` (or `table` on the search path when `schema` is None)."""
    parts = (table,) if schema is None else (schema, table)
    # psycopg reads `%` in the statement as a placeholder, even inside a quoted name: double it.
    name = sql.Identifier(*(part.replace("%", "%%") for part in parts))

    def render(*lines: LiteralString, **fields: sql.Composable) -> bytes:
        return sql.SQL(" ".join(lines)).format(table=name, **fields).as_bytes(None)

    quoted = sql.Identifier(*parts).as_string(None)
    insert = "INSERT INTO {table} AS entry (collection, key, value, expires_at, version)"
    expires = _EXPIRES.format(seconds="%s")
    conditional = conditional_statements(
        render,
        etag=NATIVE_ETAG,
        written_at=NATIVE_WRITTEN_AT,
        insert=" ".join(
            (
                "INSERT INTO {table} (collection, key, value, created_at, expires_at, version)",
                "SELECT %(collection)s, %(key)s, %(value)s::json, now(),",
                _EXPIRES.format(seconds="%(ttl)s"),
                ", %(token)s",
            )
        ),
        update=" ".join(
            (
                "value = %(value)s::json, created_at = now(), expires_at =",
                _EXPIRES.format(seconds="%(ttl)s"),
                ", version = %(token)s",
            )
        ),
        refresh="expires_at = " + _EXPIRES.format(seconds="%(ttl)s"),
    )
    return Statements(
        table=quoted,
        # From the table name alone: stores naming one table with and without its schema share the lock
        # (stores of same-named tables in different schemas merely take turns creating them).
        lock_key=int.from_bytes(hashlib.blake2b(table.encode(), digest_size=8).digest(), "big", signed=True),
        exists=b"SELECT to_regclass(%s) IS NOT NULL",
        lock=b"SELECT pg_advisory_xact_lock(%s)",
        create_table=render(
            "CREATE TABLE IF NOT EXISTS {table} (",
            'collection text COLLATE "C" NOT NULL,',
            'key text COLLATE "C" NOT NULL,',
            "value json NOT NULL,",
            "created_at timestamptz NOT NULL DEFAULT now(),",
            "expires_at timestamptz,",
            "version bigint NOT NULL DEFAULT 1,",
            "PRIMARY KEY (collection, key))",
        ),
        create_index=render(
            "CREATE INDEX IF NOT EXISTS {index} ON {table} (expires_at) WHERE expires_at IS NOT NULL",
            index=sql.Identifier((table + _INDEX_SUFFIX).replace("%", "%%")),
        ),
        drop_table=render("DROP TABLE {table}"),
        delete_all=render("DELETE FROM {table}"),
        any_live=render("SELECT EXISTS (SELECT FROM {table} WHERE", _LIVE, ")"),
        get=render("SELECT value::text,", _REMAINING, "FROM {table} WHERE collection = %s AND key = %s AND", _LIVE),
        get_many=render(
            "SELECT key, value::text,",
            _REMAINING,
            "FROM {table}",
            "WHERE collection = %s AND key = ANY(%b::text[]) AND",
            _LIVE,
        ),
        put=render(insert, "VALUES (%s, %s, %s::json,", expires, ", %s)", _UPSERT),
        put_many=render(
            insert,
            "SELECT %s, item.key, item.value::json,",
            expires,
            # One random token per call, made distinct per row by its position: each row's version is
            # still uniformly random, so a key's versions do not repeat (it costs no array to send).
            ", given.token # item.n FROM unnest(%b::text[], %b::text[]) WITH ORDINALITY AS item (key, value, n),",
            "(SELECT %s::int8 AS token) AS given",
            _UPSERT,
        ),
        delete=render(
            "WITH gone AS (DELETE FROM {table} WHERE collection = %s AND key = %s RETURNING expires_at)",
            "SELECT count(*) FROM gone WHERE",
            _LIVE,
        ),
        delete_many=render(
            "WITH gone AS (DELETE FROM {table} WHERE collection = %s AND key = ANY(%b::text[]) RETURNING expires_at)",
            "SELECT count(*) FROM gone WHERE",
            _LIVE,
        ),
        keys_page=render(
            "SELECT key FROM {table} WHERE collection = %s AND key > %s AND", _LIVE, "ORDER BY key LIMIT %s"
        ),
        collections_page=render(
            "SELECT DISTINCT collection FROM {table} WHERE collection > %s AND",
            _LIVE,
            "ORDER BY collection LIMIT %s",
        ),
        delete_collection=render(
            "WITH gone AS (DELETE FROM {table} WHERE collection = %s RETURNING expires_at)",
            "SELECT EXISTS (SELECT FROM gone WHERE",
            _LIVE,
            ")",
        ),
        cull=render("DELETE FROM {table} WHERE expires_at <= now()"),
        conditional=conditional,
    )


def new_token() -> int:
    """A random 63-bit version for one write: never reused in practice, so an old ETag cannot come back."""
    return int.from_bytes(os.urandom(8), "big") >> 1


def conditional_statements(
    render: Callable[..., bytes],
    *,
    etag: LiteralString,
    written_at: LiteralString,
    insert: LiteralString,
    update: LiteralString,
    refresh: LiteralString,
) -> ConditionalStatements:
    """The conditional segment's statements for one table, from a layout's SQL fragments.

    `etag` and `written_at` are expressions over a row (`written_at` may be NULL); `insert` is an
    INSERT ... SELECT of a new row (without WHERE) and `update` the SET list of a write, both from the
    named parameters `collection`, `key`, `value`, `ttl` (and `token`); `refresh` is the SET list that
    gives a live row a new expiry from `ttl`.

    Each statement is one round trip. It first locks the row (`old`, FOR UPDATE; an expired row counts
    as absent), decides the condition on that locked row (`verdict`), and only then writes: an UPDATE of
    the locked row, or an INSERT when there was none. The condition compares the current ETag (NULL:
    absent) with `expected` (NULL: ABSENT): `want` is NULL for ANY, true for SAME, false for CHANGED.
    Every statement returns one row: the old ETag and whether the row was live, the verdict, and the old
    value where the caller needs it (`retrieve` and refused, or kept). The write also returns the new
    ETag and value; a verdict without a write means a concurrent insert won the race for an absent key
    (ON CONFLICT DO NOTHING), and the caller runs the statement again.
    """
    live = _LIVE
    old = " ".join(
        (
            "WITH old AS (SELECT",
            etag,
            "AS etag, value::text AS value,",
            live,
            "AS live FROM {table} WHERE collection = %(collection)s AND key = %(key)s FOR UPDATE),",
            "verdict AS (SELECT (%(want)s::boolean IS NULL OR",
            "((SELECT CASE WHEN live THEN etag END FROM old) IS NOT DISTINCT FROM %(expected)s::text)",
            "= %(want)s::boolean) AS ok)",
        )
    )
    mine = "collection = %(collection)s AND key = %(key)s AND (SELECT ok FROM verdict)"
    report = "SELECT old.etag, old.live, verdict.ok,"
    joined = "FROM verdict LEFT JOIN old ON true"
    return ConditionalStatements(
        get_versioned=render(
            "SELECT value::text,",
            etag,
            ",",
            _REMAINING,
            ",",
            written_at,
            "FROM {table} WHERE collection = %s AND key = %s AND",
            live,
        ),
        put_if=render(
            old,
            ", updated AS (UPDATE {table} SET",
            update,
            "WHERE",
            mine,
            "AND EXISTS (SELECT FROM old) RETURNING",
            etag,
            "AS etag, CASE WHEN %(retrieve)s THEN value::text END AS value),",
            "inserted AS (",
            insert,
            "WHERE (SELECT ok FROM verdict) AND NOT EXISTS (SELECT FROM old)",
            "ON CONFLICT (collection, key) DO NOTHING RETURNING",
            etag,
            "AS etag, CASE WHEN %(retrieve)s THEN value::text END AS value)",
            report,
            "CASE WHEN %(retrieve)s AND old.live AND NOT verdict.ok THEN old.value END, written.etag, written.value",
            joined,
            "LEFT JOIN (SELECT * FROM updated UNION ALL SELECT * FROM inserted) AS written ON true",
        ),
        keep_if=render(
            old,
            ", refreshed AS (UPDATE {table} SET",
            refresh,
            "WHERE",
            mine,
            "AND %(ttl)s::float8 IS NOT NULL AND (SELECT live FROM old) RETURNING 1)",
            report,
            "CASE WHEN %(retrieve)s AND old.live THEN old.value END, (SELECT count(*) FROM refreshed)",
            joined,
        ),
        delete_if=render(
            old,
            ", gone AS (DELETE FROM {table} WHERE",
            mine,
            "RETURNING 1)",
            report,
            "CASE WHEN %(retrieve)s AND old.live AND NOT verdict.ok THEN old.value END, (SELECT count(*) FROM gone)",
            joined,
        ),
    )

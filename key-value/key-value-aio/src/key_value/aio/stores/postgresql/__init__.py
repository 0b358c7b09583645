"""PostgreSQL store on psycopg 3: one table, expiry by the database clock, one statement per bulk call."""

from key_value.aio.stores.postgresql.store import PostgreSQLStore

__all__ = ["PostgreSQLStore"]

"""The stores' settings dataclasses: what they check when made, and that their repr never shows a password."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from key_value.aio.stores.nats.store import NATSSettings
from key_value.aio.stores.postgresql.store import PostgreSQLSettings
from key_value.aio.stores.redis.store import RedisSettings
from key_value.aio.stores.valkey.store import ValkeySettings
from key_value.shared.errors import InvalidArgumentError


@pytest.mark.parametrize(
    "settings",
    [
        RedisSettings(password="s3cret"),
        RedisSettings(url="redis://user:s3cret@localhost:6379/0"),
        ValkeySettings(password="s3cret"),
        ValkeySettings(url="valkey://user:s3cret@localhost"),
        PostgreSQLSettings(password="s3cret"),
        PostgreSQLSettings(url="postgresql://user:s3cret@localhost/db"),
        NATSSettings(connect_options={"password": "s3cret"}),
    ],
    ids=lambda settings: type(settings).__name__,
)
def test_repr_hides_passwords(settings: object) -> None:
    assert "s3cret" not in repr(settings)


def test_checked_when_made() -> None:
    with pytest.raises(InvalidArgumentError, match="ssl_\\* options need"):
        RedisSettings(ssl_ca_certs="ca.pem")
    with pytest.raises(InvalidArgumentError, match="needs a rediss:// URL"):
        RedisSettings(url="redis://localhost", ssl=True)
    with pytest.raises(InvalidArgumentError, match="only database 0"):
        RedisSettings(cluster=True, db=2)
    with pytest.raises(InvalidArgumentError, match="schemes: "):
        RedisSettings(url="http://localhost")
    with pytest.raises(InvalidArgumentError, match="without a database"):
        ValkeySettings(url="valkey://localhost/3", cluster=True).configuration()
    with pytest.raises(InvalidArgumentError, match="libpq string"):
        PostgreSQLSettings(url="host=localhost nonsense")
    for timeout in (0, -1.0, float("nan")):
        with pytest.raises(InvalidArgumentError):
            PostgreSQLSettings(timeout=timeout)
        with pytest.raises(InvalidArgumentError):
            NATSSettings(timeout=timeout)


def test_what_they_build() -> None:
    assert conninfo_to_dict(PostgreSQLSettings(host="db.example", port=5433, user="u", timeout=2.5).conninfo()) == {
        "host": "db.example",
        "port": "5433",
        "dbname": "postgres",
        "user": "u",
        "connect_timeout": "3",
    }
    assert NATSSettings(url=["nats://a:1", "nats://b:2"]).servers() == ["nats://a:1", "nats://b:2"]
    assert NATSSettings(timeout=2, connect_options={"max_reconnect_attempts": 5}).connect_kwargs() == {
        "connect_timeout": 2,
        "reconnect_time_wait": 0.5,
        "max_reconnect_attempts": 5,
    }
    assert ValkeySettings(timeout=2.5).configuration().request_timeout == 2500  # GLIDE counts milliseconds
    assert ValkeySettings(timeout=0.0001, cluster=True).configuration().request_timeout == 1
    assert ValkeySettings().configuration().request_timeout is None  # GLIDE's default
    configuration = ValkeySettings(url="valkeys://u:p@cache.example:7000/4").configuration()
    assert configuration.use_tls is True
    assert configuration.database_id == 4
    assert [(address.host, address.port) for address in configuration.addresses] == [("cache.example", 7000)]

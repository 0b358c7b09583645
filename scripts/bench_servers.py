"""The server-backed rows of `make bench`: start each server once, and the raw clients doing the stores' work.

Every server comes from `testing/servers` (the helpers the test session uses: a free 127.0.0.1 port, a
temporary directory, stopped by pid at the end). A missing binary skips its backend with a line saying
why. Ours and py-key-value-aio's stores get the same settings (`Backend.settings`), each its own
collection, table, bucket or namespace, so that they never read each other's keys; the raw client
uses plain keys of its own. The raw clients are untyped or partly typed: they are held as `Any` here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # `testing` lives at the repository root, next to `scripts`

from bench_harness import AsyncStore  # noqa: E402

from testing.servers._process import LOOPBACK, ServerProcess, find_binary  # noqa: E402
from testing.servers._resp import start_node  # noqa: E402
from testing.servers.memcached_server import start_memcached  # noqa: E402
from testing.servers.moto_server import (  # noqa: E402
    ACCESS_KEY_ID,
    CLEARED,
    ENVIRONMENT,
    REGION,
    SECRET_ACCESS_KEY,
    start_moto,
)
from testing.servers.nats_server import start_nats  # noqa: E402
from testing.servers.postgresql_server import start_postgresql  # noqa: E402
from testing.servers.valkey_server import valkey_binary  # noqa: E402

SERVER_BACKENDS = ("redis", "valkey", "memcached", "postgresql", "nats", "s3", "dynamodb")
#: py-key-value-aio 0.5.0 has no NATS store.
UPSTREAM_HAS = frozenset(SERVER_BACKENDS) - {"nats"}
TITLES = {
    "redis": "Redis",
    "valkey": "Valkey",
    "memcached": "Memcached",
    "postgresql": "PostgreSQL",
    "nats": "NATS",
    "s3": "S3 (moto)",
    "dynamodb": "DynamoDB (moto)",
}
#: What the raw client does, for the report.
RAW_WORK = {
    "redis": "redis.asyncio: SET / GET / MGET / a non-transactional pipeline of SETs / DEL, JSON strings",
    "valkey": "valkey-glide: SET / GET / MGET / a non-atomic `Batch` of SETs / DEL, JSON strings",
    "memcached": "aiomcache (pool of 2): set / get / multi_get / sets gathered concurrently / delete",
    "postgresql": "psycopg `AsyncConnection` (autocommit): one statement a call, `= ANY(%s)` reads and deletes,"
    " a multi-row `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE` upsert",
    "nats": "nats-py JetStream KV: put / get / delete, bulk calls gathered concurrently",
    "s3": "aioboto3: put_object / get_object / delete_object, bulk puts and gets gathered, `delete_objects`",
    "dynamodb": "aioboto3: put_item / get_item / delete_item, `batch_get_item`, `batch_write_item` in 25s gathered",
}


# -- servers ----------------------------------------------------------------------------------------


@dataclass
class Endpoints:
    """Where the started servers listen (None: not started), and why a backend was skipped."""

    redis_port: int | None = None
    valkey_port: int | None = None
    memcached_port: int | None = None
    postgresql_url: str | None = None
    nats_url: str | None = None
    moto_url: str | None = None


def _moto_environment() -> None:
    """As the test session does: nothing from the user's AWS setup reaches this process or the upstream worker."""
    for name in CLEARED:
        os.environ.pop(name, None)
    os.environ.update(ENVIRONMENT)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


def start_servers(
    names: Sequence[str], stack: ExitStack, log: Callable[[str], None]
) -> tuple[Endpoints, dict[str, str]]:
    """Start the servers `names` need (each once; moto serves both S3 and DynamoDB); stopped when `stack` closes."""
    endpoints = Endpoints()
    skipped: dict[str, str] = {}
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-servers-")))

    def stopping(process: ServerProcess) -> ServerProcess:
        stack.callback(process.stop)
        return process

    for name in names:
        if name == "dynamodb" and endpoints.moto_url is not None:
            continue
        log(f"{name}: starting the server")
        try:
            if name == "redis":
                binary = find_binary("redis-server")
                if binary is None:
                    skipped[name] = "redis-server was not found (`apt-get install redis-server`)"
                    continue
                endpoints.redis_port = stopping(start_node("bench-redis", binary, workdir / "redis")).port
            elif name == "valkey":
                process = start_node("bench-valkey", valkey_binary(), workdir / "valkey")
                endpoints.valkey_port = stopping(process).port
            elif name == "memcached":
                endpoints.memcached_port = stopping(start_memcached(workdir / "memcached").process).port
            elif name == "postgresql":
                server, directory = start_postgresql("bench-postgresql")
                stack.callback(shutil.rmtree, directory, ignore_errors=True)
                stack.callback(server.stop)
                endpoints.postgresql_url = server.url
            elif name == "nats":
                nats_server = start_nats(workdir / "nats")
                stopping(nats_server.process)
                endpoints.nats_url = nats_server.url
            else:  # s3, dynamodb: one moto server
                _moto_environment()
                endpoints.moto_url = f"http://{LOOPBACK}:{stopping(start_moto(workdir / 'moto').process).port}"
        except pytest.skip.Exception as missing:  # the testing helpers skip when a binary is missing
            skipped[name] = str(missing.msg)
        except Exception as error:  # a server that will not start skips its row, saying why
            skipped[name] = f"the server did not start: {str(error).splitlines()[0] if str(error) else error!r}"
    if endpoints.moto_url is None and "s3" in skipped:
        skipped.setdefault("dynamodb", skipped["s3"])
    return endpoints, skipped


def aws_settings(endpoints: Endpoints) -> dict[str, Any]:
    return {
        "endpoint_url": endpoints.moto_url,
        "region_name": REGION,
        "aws_access_key_id": ACCESS_KEY_ID,
        "aws_secret_access_key": SECRET_ACCESS_KEY,
    }


def empty_databases(endpoints: Endpoints) -> None:
    """FLUSHALL on the Redis and Valkey servers, flush_all on memcached: ours then starts on servers
    py-key-value left nothing in.

    py-key-value's worker runs first on the same servers; with its `collection::key` entries there, our
    native layout would read them too (the migration path), which is not the steady state measured here.
    """
    if endpoints.memcached_port is not None:
        with socket.create_connection((LOOPBACK, endpoints.memcached_port), timeout=10) as connection:
            connection.sendall(b"flush_all\r\n")
            if connection.recv(64) != b"OK\r\n":
                raise RuntimeError("memcached refused flush_all")
    for port in (endpoints.redis_port, endpoints.valkey_port):
        if port is not None:
            client = redis.Redis(host=LOOPBACK, port=port)  # sync: this runs outside any event loop
            try:
                client.flushall()  # pyright: ignore[reportUnknownMemberType] - redis-py's sync reply type
            finally:
                client.close()


def store_settings(name: str, endpoints: Endpoints, contender: str) -> dict[str, Any]:
    """Keyword arguments for `name`'s store, ours or upstream's (`contender`): the same but for names of their own."""
    tag = f"bench_{contender}"
    if name == "redis":
        return {"host": LOOPBACK, "port": endpoints.redis_port, "default_collection": tag}
    if name == "valkey":
        return {"host": LOOPBACK, "port": endpoints.valkey_port, "default_collection": tag}
    if name == "memcached":
        return {"host": LOOPBACK, "port": endpoints.memcached_port, "default_collection": tag}
    if name == "postgresql":
        return {"url": endpoints.postgresql_url, "table_name": tag}
    if name == "nats":
        return {"url": endpoints.nats_url, "bucket": tag}
    if name == "s3":
        return {"bucket_name": tag.replace("_", "-"), **aws_settings(endpoints)}
    return {"table_name": tag.replace("_", "-"), **aws_settings(endpoints)}


# -- raw clients ------------------------------------------------------------------------------------


def _load(data: bytes | str | None) -> dict[str, Any] | None:
    return None if data is None else json.loads(data)


#: The raw floor of a conditional write on Redis: compare the stored bytes' SHA-1 with the expected one, then SET.
CAS_SCRIPT = """
local current = redis.call('GET', KEYS[1])
if current and redis.sha1hex(current) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return redis.sha1hex(ARGV[2])
end
return false
"""


class RawRedis:
    """redis.asyncio doing the work and nothing else (also the shape of the Valkey and Memcached floors)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def put_if_floor(self, value: Mapping[str, Any]) -> Callable[[], Awaitable[object]]:
        """One compare-and-set as a Lua script through redis-py (EVALSHA), the floor of our `put_if`."""
        script = self._client.register_script(CAS_SCRIPT)
        text = json.dumps(value)
        await self._client.set("raw-cas", text)
        etag = hashlib.sha1(text.encode()).hexdigest()

        async def call() -> None:
            if await script(keys=["raw-cas"], args=[etag, text]) is None:
                raise RuntimeError("the raw compare-and-set was refused")

        return call

    async def get(self, key: str) -> dict[str, Any] | None:
        return _load(await self._client.get(key))

    async def put(self, key: str, value: Mapping[str, Any]) -> None:
        await self._client.set(key, json.dumps(value))

    async def get_many(self, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        return [_load(data) for data in await self._client.mget(keys)]

    async def put_many(self, keys: Sequence[str], values: Sequence[Mapping[str, Any]]) -> None:
        pipeline = self._client.pipeline(transaction=False)
        for key, value in zip(keys, values, strict=True):
            pipeline.set(key, json.dumps(value))
        await pipeline.execute()

    async def delete(self, key: str) -> bool:
        return bool(await self._client.delete(key) == 1)

    async def delete_many(self, keys: Sequence[str]) -> int:
        return int(await self._client.delete(*keys))


class RawValkey:
    def __init__(self, client: Any) -> None:
        self._client = client

    async def get(self, key: str) -> dict[str, Any] | None:
        return _load(await self._client.get(key))

    async def put(self, key: str, value: Mapping[str, Any]) -> None:
        await self._client.set(key, json.dumps(value))

    async def get_many(self, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        return [_load(data) for data in await self._client.mget(list(keys))]

    async def put_many(self, keys: Sequence[str], values: Sequence[Mapping[str, Any]]) -> None:
        from glide import Batch  # noqa: PLC0415 - only when Valkey is measured

        batch: Any = Batch(is_atomic=False)
        for key, value in zip(keys, values, strict=True):
            batch.set(key, json.dumps(value))
        await self._client.exec(batch, raise_on_error=True)

    async def delete(self, key: str) -> bool:
        return bool(await self._client.delete([key]) == 1)

    async def delete_many(self, keys: Sequence[str]) -> int:
        return int(await self._client.delete(list(keys)))


class RawMemcached:
    def __init__(self, client: Any) -> None:
        self._client = client

    async def get(self, key: str) -> dict[str, Any] | None:
        return _load(await self._client.get(key.encode()))

    async def put(self, key: str, value: Mapping[str, Any]) -> None:
        await self._client.set(key.encode(), json.dumps(value).encode())

    async def get_many(self, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        return [_load(data) for data in await self._client.multi_get(*(key.encode() for key in keys))]

    async def put_many(self, keys: Sequence[str], values: Sequence[Mapping[str, Any]]) -> None:
        sets = (
            self._client.set(key.encode(), json.dumps(value).encode()) for key, value in zip(keys, values, strict=True)
        )
        await asyncio.gather(*sets)

    async def delete(self, key: str) -> bool:
        return bool(await self._client.delete(key.encode()))

    async def delete_many(self, keys: Sequence[str]) -> int:
        return sum(map(bool, await asyncio.gather(*(self._client.delete(key.encode()) for key in keys))))


_PG_TABLE = "bench_raw"


class RawPostgres:
    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def setup(self) -> None:
        await self._connection.execute(
            f"CREATE TABLE IF NOT EXISTS {_PG_TABLE} (key text PRIMARY KEY, value jsonb NOT NULL)"
        )

    async def get(self, key: str) -> dict[str, Any] | None:
        cursor = await self._connection.execute(f"SELECT value FROM {_PG_TABLE} WHERE key = %s", (key,))
        row = await cursor.fetchone()
        return None if row is None else row[0]

    async def put(self, key: str, value: Mapping[str, Any]) -> None:
        await self._connection.execute(
            f"INSERT INTO {_PG_TABLE} (key, value) VALUES (%s, %s::jsonb)"
            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (key, json.dumps(value)),
        )

    async def get_many(self, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        cursor = await self._connection.execute(
            f"SELECT key, value FROM {_PG_TABLE} WHERE key = ANY(%s)", (list(keys),)
        )
        found: dict[str, dict[str, Any]] = dict(await cursor.fetchall())
        return [found.get(key) for key in keys]

    async def put_many(self, keys: Sequence[str], values: Sequence[Mapping[str, Any]]) -> None:
        await self._connection.execute(
            f"INSERT INTO {_PG_TABLE} (key, value) SELECT key, value::jsonb FROM unnest(%s::text[], %s::text[])"
            " AS item (key, value) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (list(keys), [json.dumps(value) for value in values]),
        )

    async def delete(self, key: str) -> bool:
        cursor = await self._connection.execute(f"DELETE FROM {_PG_TABLE} WHERE key = %s", (key,))
        return bool(cursor.rowcount == 1)

    async def delete_many(self, keys: Sequence[str]) -> int:
        cursor = await self._connection.execute(f"DELETE FROM {_PG_TABLE} WHERE key = ANY(%s)", (list(keys),))
        return int(cursor.rowcount)


class RawNats:
    def __init__(self, kv: Any) -> None:
        self._kv = kv

    async def get(self, key: str) -> dict[str, Any] | None:
        from nats.js.errors import KeyNotFoundError  # noqa: PLC0415 - only when NATS is measured

        try:
            entry = await self._kv.get(key)
        except KeyNotFoundError:  # deleted keys too (KeyDeletedError is one)
            return None
        return _load(entry.value)

    async def put(self, key: str, value: Mapping[str, Any]) -> None:
        await self._kv.put(key, json.dumps(value).encode())

    async def get_many(self, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        return list(await asyncio.gather(*map(self.get, keys)))

    async def put_many(self, keys: Sequence[str], values: Sequence[Mapping[str, Any]]) -> None:
        await asyncio.gather(*map(self.put, keys, values))

    async def delete(self, key: str) -> bool:
        return bool(await self._kv.delete(key))

    async def delete_many(self, keys: Sequence[str]) -> int:
        return sum(await asyncio.gather(*map(self.delete, keys)))


class RawS3:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    async def setup(self) -> None:
        await self._client.create_bucket(Bucket=self._bucket)

    async def get(self, key: str) -> dict[str, Any] | None:
        try:
            response = await self._client.get_object(Bucket=self._bucket, Key=key)
        except self._client.exceptions.NoSuchKey:
            return None
        async with response["Body"] as body:
            return _load(await body.read())

    async def put(self, key: str, value: Mapping[str, Any]) -> None:
        body = json.dumps(value).encode()
        await self._client.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/json")

    async def get_many(self, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        return list(await asyncio.gather(*map(self.get, keys)))

    async def put_many(self, keys: Sequence[str], values: Sequence[Mapping[str, Any]]) -> None:
        await asyncio.gather(*map(self.put, keys, values))

    async def delete(self, key: str) -> bool:
        await self._client.delete_object(Bucket=self._bucket, Key=key)
        return True

    async def delete_many(self, keys: Sequence[str]) -> int:
        objects = [{"Key": key} for key in keys]
        await self._client.delete_objects(Bucket=self._bucket, Delete={"Objects": objects, "Quiet": True})
        return len(objects)


_DYNAMO_WRITES = 25  # batch_write_item's limit per call


class RawDynamo:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    async def setup(self) -> None:
        await self._client.create_table(
            TableName=self._table,
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        await self._client.get_waiter("table_exists").wait(TableName=self._table)

    @staticmethod
    def _item(key: str, value: Mapping[str, Any]) -> dict[str, Any]:
        return {"k": {"S": key}, "v": {"S": json.dumps(value)}}

    async def get(self, key: str) -> dict[str, Any] | None:
        response = await self._client.get_item(TableName=self._table, Key={"k": {"S": key}})
        item = response.get("Item")
        return None if item is None else _load(item["v"]["S"])

    async def put(self, key: str, value: Mapping[str, Any]) -> None:
        await self._client.put_item(TableName=self._table, Item=self._item(key, value))

    async def get_many(self, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        found: dict[str, dict[str, Any] | None] = {}
        request: dict[str, Any] = {self._table: {"Keys": [{"k": {"S": key}} for key in keys]}}
        while request:
            response = await self._client.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(self._table, []):
                found[item["k"]["S"]] = _load(item["v"]["S"])
            request = response.get("UnprocessedKeys") or {}
        return [found.get(key) for key in keys]

    async def _write(self, requests: list[dict[str, Any]]) -> None:
        async def one(chunk: list[dict[str, Any]]) -> None:
            pending: dict[str, Any] = {self._table: chunk}
            while pending:
                response = await self._client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}

        chunks = [requests[i : i + _DYNAMO_WRITES] for i in range(0, len(requests), _DYNAMO_WRITES)]
        await asyncio.gather(*map(one, chunks))

    async def put_many(self, keys: Sequence[str], values: Sequence[Mapping[str, Any]]) -> None:
        puts = [{"PutRequest": {"Item": self._item(key, value)}} for key, value in zip(keys, values, strict=True)]
        await self._write(puts)

    async def delete(self, key: str) -> bool:
        response = await self._client.delete_item(TableName=self._table, Key={"k": {"S": key}}, ReturnValues="ALL_OLD")
        return "Attributes" in response

    async def delete_many(self, keys: Sequence[str]) -> int:
        await self._write([{"DeleteRequest": {"Key": {"k": {"S": key}}}} for key in keys])
        return len(keys)


@contextlib.asynccontextmanager
async def raw_client(name: str, endpoints: Endpoints) -> AsyncGenerator[AsyncStore]:
    """The raw client of `name`, connected to the started server, closed afterwards."""
    async with AsyncExitStack() as stack:
        if name == "redis":
            import redis.asyncio  # noqa: PLC0415 - each client only when its backend is measured

            client: Any = redis.asyncio.Redis(host=LOOPBACK, port=endpoints.redis_port or 0)
            stack.push_async_callback(client.aclose)
            yield RawRedis(client)
        elif name == "valkey":
            from glide import GlideClient, GlideClientConfiguration, NodeAddress  # noqa: PLC0415

            configuration = GlideClientConfiguration([NodeAddress(LOOPBACK, endpoints.valkey_port or 0)])
            glide_client: Any = await GlideClient.create(configuration)
            stack.push_async_callback(glide_client.close)
            yield RawValkey(glide_client)
        elif name == "memcached":
            import aiomcache  # noqa: PLC0415

            memcached: Any = aiomcache.Client(LOOPBACK, endpoints.memcached_port or 0)
            stack.push_async_callback(memcached.close)
            yield RawMemcached(memcached)
        elif name == "postgresql":
            import psycopg  # noqa: PLC0415

            connection: Any = await psycopg.AsyncConnection.connect(endpoints.postgresql_url or "", autocommit=True)
            stack.push_async_callback(connection.close)
            postgres = RawPostgres(connection)
            await postgres.setup()
            yield postgres
        elif name == "nats":
            import nats  # noqa: PLC0415

            # nats.connect's **options is unannotated, which makes the function partly unknown.
            nc: Any = await nats.connect(endpoints.nats_url or "")  # pyright: ignore[reportUnknownMemberType]
            stack.push_async_callback(nc.close)
            yield RawNats(await nc.jetstream().create_key_value(bucket="bench_raw"))
        else:
            import aioboto3  # noqa: PLC0415

            session: Any = aioboto3.Session()
            settings = aws_settings(endpoints)
            client = await stack.enter_async_context(session.client("s3" if name == "s3" else "dynamodb", **settings))
            raw: RawS3 | RawDynamo = RawS3(client, "bench-raw") if name == "s3" else RawDynamo(client, "bench-raw")
            await raw.setup()
            yield raw

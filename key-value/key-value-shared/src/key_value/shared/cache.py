"""What both twins' `cached` decorators share: cache keys, the stored form of a result, counters.

**Keys.** A call's key is `<prefix>:<arguments>`:

- `<prefix>` is `<module>.<qualname>` of the function, or `<namespace>:<module>.<qualname>` when a
  `namespace` is given (change it to drop every entry of an older version at once);
- `<arguments>` is the canonical JSON of the call's arguments, bound through the signature with defaults
  applied, as an object from parameter name to value (sorted names, no spaces), so `f(1, b=2)`,
  `f(a=1, b=2)` and `f(1)` (where `b=2` is the default) share one entry. A first parameter named `self`
  or `cls` is left out: a method's entries are shared by all instances (pass `key=` to tell them apart).
- when that is longer than `MAX_READABLE_KEY` characters, `<arguments>` is `sha256:` and the hex
  digest of the canonical JSON instead.

Argument values may be JSON values (tuples count as lists), sets and frozensets, enums, pydantic models,
`datetime`/`date`/`time`/`timedelta`, `UUID`, `Decimal`, `Path` and `bytes`; anything else raises an
`InvalidArgumentTypeError` naming the argument, never a silent miss.

**Stored result.** `{"__result__": payload, "__codec__": name, "__fresh_until__": t}`: the payload is
the result as the codec (or a pydantic `TypeAdapter` of `model`) dumps it, `t` the wall-clock time the
result stops being fresh (None: fresh until the entry expires).
"""

from __future__ import annotations

import base64
import datetime
import decimal
import enum
import hashlib
import inspect
import json
import json.encoder
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Final, Literal, SupportsFloat, cast

from key_value.shared.errors import (
    DeserializationError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    InvalidTTLError,
    SerializationError,
)
from key_value.shared.validation import check_collection, check_ttl
from key_value.shared.value_codecs import CODEC_KEY, JSON_CODEC, ValueCodec, check_codec, codec_named

#: Longest key whose arguments are spelled out; longer ones carry a digest of them.
MAX_READABLE_KEY: Final = 200

RESULT_KEY: Final = "__result__"
FRESH_KEY: Final = "__fresh_until__"

#: Suffix of the short-lived entry that tells other processes a result is being computed.
LOCK_SUFFIX: Final = "|lock"

#: Seconds between two log records of store errors of one decorated function.
ERROR_LOG_INTERVAL: Final = 60.0

StoreErrorPolicy = Literal["call", "raise"]

logger = logging.getLogger("key_value.cache")


# --- keys ------------------------------------------------------------------------------------------


def _key_value(value: object, where: str) -> Any:
    """The canonical JSON form of one argument value (see the module docstring)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value) if not isinstance(value, enum.Enum) else _enum(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgumentTypeError("a cache key argument is not a finite number", {"argument": where})
        return value
    if isinstance(value, enum.Enum):
        return _enum(value)
    if isinstance(value, (list, tuple)):
        items = cast("list[object] | tuple[object, ...]", value)
        return [_key_value(item, f"{where}[{index}]") for index, item in enumerate(items)]
    if isinstance(value, Mapping):
        mapping = cast("Mapping[object, object]", value)
        out: dict[str, Any] = {}
        for name, item in mapping.items():
            if not isinstance(name, str):
                raise InvalidArgumentTypeError(
                    "a cache key argument has a dict key that is not a str", {"argument": where}
                )
            out[name] = _key_value(item, f"{where}[{name!r}]")
        return out
    if isinstance(value, (set, frozenset)):
        members = [_key_value(item, f"{where}{{}}") for item in cast("set[object]", value)]
        return {"__set__": sorted(members, key=_canonical)}
    return _tagged(value, where)


def _enum(member: enum.Enum) -> Any:
    return {"__enum__": f"{type(member).__module__}.{type(member).__qualname__}.{member.name}"}


def _tagged(value: object, where: str) -> Any:
    if isinstance(value, datetime.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"__date__": value.isoformat()}
    if isinstance(value, datetime.time):
        return {"__time__": value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {"__timedelta__": value.total_seconds()}
    if isinstance(value, uuid.UUID):
        return {"__uuid__": str(value)}
    if isinstance(value, decimal.Decimal):
        return {"__decimal__": str(value)}
    if isinstance(value, PurePath):
        return {"__path__": str(value)}
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    dump = getattr(value, "model_dump", None)
    if callable(dump) and hasattr(type(value), "model_fields"):  # a pydantic model
        cls = type(value)
        return {"__model__": f"{cls.__module__}.{cls.__qualname__}", "v": _key_value(dump(mode="json"), where)}
    raise InvalidArgumentTypeError(
        f"argument {where} cannot be part of a cache key (pass key= to build keys yourself)",
        {"type": type(value).__name__},
    )


_encode_str: Callable[[str], str] = json.encoder.encode_basestring


def _encoded(value: object, name: str) -> str:
    """The canonical JSON text of one argument: the common plain types directly, the rest through
    `_key_value` (the same text json.dumps gives, as `test_quick_key_matches_the_general_one` checks)."""
    kind = type(value)
    if kind is str:
        return _encode_str(cast("str", value))
    if kind is int:
        return int.__repr__(cast("int", value))
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is float and math.isfinite(cast("float", value)):
        return float.__repr__(cast("float", value))
    return _canonical(_key_value(value, name))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def check_key_options(namespace: object, key: object) -> None:
    """Refuse a `namespace` that is not a non-empty str and a `key` that is not callable."""
    if namespace is not None and (not isinstance(namespace, str) or not namespace):
        raise InvalidArgumentTypeError("namespace must be a non-empty str", {"namespace": repr(namespace)})
    if key is not None and not callable(key):
        raise InvalidArgumentTypeError("key must be a callable that returns a str", {"key": repr(key)})


class KeyMaker:
    """Builds the keys of one decorated function (see the module docstring)."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        namespace: str | None,
        key: Callable[..., object] | None,
    ) -> None:
        check_key_options(namespace, key)
        name = f"{func.__module__}.{func.__qualname__}"
        self.prefix = name if namespace is None else f"{namespace}:{name}"
        self.signature = inspect.signature(func)
        parameters = list(self.signature.parameters.values())
        self.skips_first = bool(parameters) and parameters[0].name in ("self", "cls")
        self._custom = key
        # The quick path (no Signature.bind, no dict) for a signature without *args, **kwargs or
        # positional-only parameters: a slot per parameter, filled by position, name or default.
        kinds = {parameter.kind for parameter in parameters}
        self._simple = kinds <= {inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY}
        self._positional = sum(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters)
        self._slot = {p.name: index for index, p in enumerate(parameters)}
        self._defaults: list[Any] = [p.default for p in parameters]  # `inspect.Parameter.empty`: required
        first = 1 if self.skips_first else 0
        named = sorted((p.name, index) for index, p in enumerate(parameters) if index >= first)
        self._order = [index for _, index in named]
        self._labels = [f'"{name}":' for name, _ in named]  # identifiers: nothing to escape

    def _quick(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        """The canonical arguments of a call, or None where `Signature.bind` must decide (including every
        call that does not fit the signature: bind raises the right `TypeError`)."""
        if len(args) > self._positional:
            return None
        slots = list(args)
        slots.extend(self._defaults[len(args) :])
        for name, value in kwargs.items():
            index = self._slot.get(name)
            if index is None or index < len(args):
                return None
            slots[index] = value
        empty = inspect.Parameter.empty
        parts: list[str] = []
        for label, index in zip(self._labels, self._order, strict=True):
            value = slots[index]
            if value is empty:
                return None
            parts.append(label + _encoded(value, label[1:-2]))
        return "{" + ",".join(parts) + "}"

    def __call__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """The key of a call with `args` and `kwargs` (a `TypeError` if they do not fit the signature)."""
        if self._custom is not None:
            made = self._custom(*args, **kwargs)
            if not isinstance(made, str) or not made:
                raise InvalidArgumentTypeError("key= must return a non-empty str", {"returned": repr(made)})
            return f"{self.prefix}:{made}"
        canonical = self._quick(args, kwargs) if self._simple else None
        if canonical is None:
            bound = self.signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            if self.skips_first:
                arguments.pop(next(iter(self.signature.parameters)), None)
            canonical = (
                "{" + ",".join(f'"{name}":{_encoded(arguments[name], name)}' for name in sorted(arguments)) + "}"
            )
        readable = f"{self.prefix}:{canonical}"
        if len(readable) <= MAX_READABLE_KEY:
            return readable
        return f"{self.prefix}:sha256:{hashlib.sha256(canonical.encode()).hexdigest()}"

    def matches(self, stored_key: str) -> bool:
        """Whether `stored_key` is a result entry of this function (not a lock, not another function)."""
        return stored_key.startswith(self.prefix + ":") and not stored_key.endswith(LOCK_SUFFIX)


# --- results ---------------------------------------------------------------------------------------


class ResultCodec:
    """How a result becomes a stored entry and back: a value codec, or a pydantic type's adapter."""

    def __init__(self, model: object, codec: object) -> None:
        self.codec: ValueCodec = codec_named(codec)
        self._adapter: Any = None
        if model is not None:
            if self.codec is not JSON_CODEC:
                raise InvalidArgumentError("model= needs the json codec", {"codec": self.codec.name})
            try:
                from pydantic import TypeAdapter  # noqa: PLC0415 - pydantic is an optional extra
            except ImportError as error:  # pragma: no cover - the dev environment has pydantic
                raise InvalidArgumentError(
                    "model= needs pydantic: pip install 'key-value-aio[pydantic]'", {"model": repr(model)}
                ) from error
            try:
                self._adapter = TypeAdapter(cast("Any", model))
            except Exception as error:  # pydantic raises its own errors for types it cannot handle
                raise InvalidArgumentTypeError(
                    f"model= is not a type pydantic can validate: {error}", {"model": repr(model)}
                ) from error

    def entry(self, result: object, fresh_until: float | None) -> dict[str, Any]:
        """The stored form of `result`; `SerializationError` if it cannot be stored."""
        if self._adapter is not None:
            try:
                payload = self._adapter.dump_python(result, mode="json")
            except Exception as error:  # a result that is not of the declared type
                raise SerializationError(
                    f"result does not fit model=: {error}", {"type": type(result).__name__}
                ) from error
        else:
            payload = self.codec.dump(result)
        entry: dict[str, Any] = {RESULT_KEY: payload, FRESH_KEY: fresh_until}
        if self.codec is not JSON_CODEC:
            entry[CODEC_KEY] = self.codec.name
        return entry

    def result(self, stored: Mapping[str, Any], where: str) -> tuple[Any, float | None]:
        """The result and fresh-until time of a stored entry; `DeserializationError` if it is not one."""
        if RESULT_KEY not in stored:
            raise DeserializationError("entry is not a cached result", {"key": where})
        check_codec(stored.get(CODEC_KEY), self.codec, where)
        fresh_until = stored.get(FRESH_KEY)
        if fresh_until is not None and not isinstance(fresh_until, (int, float)):
            raise DeserializationError("cached result has a bad fresh-until time", {"key": where})
        payload = stored[RESULT_KEY]
        if self._adapter is None:
            return self.codec.load(payload, where), fresh_until
        try:
            return self._adapter.validate_python(payload), fresh_until
        except Exception as error:  # pydantic's ValidationError
            raise DeserializationError(f"cached result does not validate: {error}", {"key": where}) from error


# --- options, counters, logging --------------------------------------------------------------------


@dataclass(frozen=True)
class CacheOptions:
    """The checked options of one decorated function."""

    collection: str | None
    ttl: float | None
    stale_ttl: float | None
    lock_timeout: float
    cache_none: bool
    on_store_error: StoreErrorPolicy

    @property
    def entry_ttl(self) -> float | None:
        """How long a stored result lives: fresh for `ttl`, then served stale for `stale_ttl`."""
        if self.ttl is None:
            return None
        return self.ttl + (self.stale_ttl or 0.0)

    def fresh_until(self) -> float | None:
        return None if self.ttl is None or self.stale_ttl is None else time.time() + self.ttl


def cache_options(
    *,
    collection: object,
    ttl: SupportsFloat | None,
    stale_ttl: SupportsFloat | None,
    lock_timeout: SupportsFloat,
    cache_none: object,
    on_store_error: object,
) -> CacheOptions:
    """Check the decorator's options once, when it is applied."""
    if collection is not None:
        check_collection(collection)
    checked_ttl = check_ttl(ttl)
    checked_stale = check_ttl(stale_ttl)
    if checked_stale is not None and checked_ttl is None:
        raise InvalidTTLError(
            "stale_ttl needs a ttl: a result without one never goes stale", {"stale_ttl": repr(stale_ttl)}
        )
    timeout = check_ttl(lock_timeout)
    if timeout is None:
        raise InvalidTTLError("lock_timeout must be a number of seconds", {"lock_timeout": repr(lock_timeout)})
    if not isinstance(cache_none, bool):
        raise InvalidArgumentTypeError("cache_none must be a bool", {"cache_none": repr(cache_none)})
    if on_store_error not in ("call", "raise"):
        raise InvalidArgumentError('on_store_error must be "call" or "raise"', {"on_store_error": repr(on_store_error)})
    return CacheOptions(
        collection=cast("str | None", collection),
        ttl=checked_ttl,
        stale_ttl=checked_stale,
        lock_timeout=timeout,
        cache_none=cache_none,
        on_store_error=on_store_error,
    )


@dataclass(frozen=True)
class CacheInfo:
    """Counters of one decorated function since it was decorated (or `cache_clear_info`)."""

    hits: int
    """Calls answered from the store with a fresh result."""
    misses: int
    """Calls that found no usable result (absent, expired, undecodable) and waited for a computed one."""
    stale: int
    """Calls answered with a stale result while it was being refreshed (`stale_ttl`)."""
    errors: int
    """Store calls that failed (the function was called instead, unless `on_store_error="raise"`)."""
    calls: int
    """Times the decorated function itself ran."""


class Counters:
    """The mutable counters behind `CacheInfo`, safe to bump from threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hits = self.misses = self.stale = self.errors = self.calls = 0

    def bump(self, name: Literal["hits", "misses", "stale", "errors", "calls"]) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self.hits, self.misses, self.stale, self.errors, self.calls)

    def clear(self) -> None:
        with self._lock:
            self.hits = self.misses = self.stale = self.errors = self.calls = 0


class ErrorLog:
    """Logs a decorated function's store errors at most once per `ERROR_LOG_INTERVAL` seconds."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._last = -math.inf
        self._suppressed = 0
        self._lock = threading.Lock()

    def store_error(self, error: BaseException, during: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < ERROR_LOG_INTERVAL:
                self._suppressed += 1
                return
            suppressed, self._suppressed, self._last = self._suppressed, 0, now
        logger.warning(
            "cache of %s: store failed during %s, calling the function instead (%s)%s",
            self._name,
            during,
            error,
            f"; {suppressed} more since the last report" if suppressed else "",
        )

    def refresh_failed(self, error: BaseException, key: str) -> None:
        logger.warning("cache of %s: refreshing the stale result of %r failed (%s)", self._name, key, error)

    def bad_entry(self, error: BaseException, key: str) -> None:
        logger.warning("cache of %s: stored result of %r is unusable, computing it again (%s)", self._name, key, error)


class _Flight:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class ThreadFlights:
    """Concurrent callers of one key share the first caller's call (the threads of one process)."""

    def __init__(self) -> None:
        self._running: dict[str, _Flight] = {}
        self._lock = threading.Lock()

    def run(self, key: str, compute: Callable[[], Any]) -> Any:
        with self._lock:
            flight = self._running.get(key)
            leader = flight is None
            if flight is None:
                flight = self._running[key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.result
        try:
            flight.result = compute()
        except BaseException as error:
            flight.error = error
            raise
        finally:
            with self._lock:
                del self._running[key]
            flight.done.set()
        return flight.result


class ThreadBackground:
    """Refreshes of stale results, each in a daemon thread."""

    def start(self, work: Callable[[], Any]) -> None:
        threading.Thread(target=work, name="key-value cache refresh", daemon=True).start()


__all__ = [
    "ERROR_LOG_INTERVAL",
    "LOCK_SUFFIX",
    "MAX_READABLE_KEY",
    "CacheInfo",
    "CacheOptions",
    "Counters",
    "ErrorLog",
    "KeyMaker",
    "ResultCodec",
    "StoreErrorPolicy",
    "ThreadBackground",
    "ThreadFlights",
    "cache_options",
    "check_key_options",
    "logger",
]

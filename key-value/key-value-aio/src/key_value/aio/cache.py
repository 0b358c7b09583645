"""Persistent memoization: `@cached(store)` keeps a function's results in any store.

    from key_value.aio.cache import cached

    @cached(store, collection="users", ttl=600, model=User)
    async def load_user(user_id: int) -> User:
        ...

    user = await load_user(7)          # computed, stored for 10 minutes
    user = await load_user(user_id=7)  # the same entry: arguments are bound through the signature
    await load_user.invalidate(7)
    load_user.cache_info()             # CacheInfo(hits=1, misses=1, stale=0, errors=0, calls=1)

- Keys: `key_value.shared.cache` documents them (module, qualified name and the canonical JSON of the
  bound arguments); `key=` builds them yourself.
- Results: any JSON value, or with `model=` anything a pydantic `TypeAdapter` validates (a model,
  `list[User]`, ...), validated on the way out; with `codec="pickle"` any picklable object (only for
  stores nobody else can write). A stored result that does not decode is a miss, logged.
- `None` is cached unless `cache_none=False`; exceptions are never cached.
- Stampedes: callers of one missing key in one process share one call. Across processes, on a store
  with the conditional segment, the first caller takes a short-lived lock entry (`put_if` of an absent
  key) and the others poll for its result, for at most `lock_timeout` seconds, then compute it
  themselves. A store without the segment computes at most once per process.
- `stale_ttl`: after `ttl` a result is still served for `stale_ttl` seconds while one caller refreshes it
  in the background.
- A failing store (`KeyValueStoreError`, e.g. `StoreConnectionError`) never fails a call: the function is
  called, the error counted and logged once a minute. `on_store_error="raise"` raises instead.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, ParamSpec, SupportsFloat, TypeVar, cast, overload

from typing_extensions import Self

from key_value.aio.protocols.capabilities import capabilities_of
from key_value.aio.protocols.key_value import AsyncConditionalProtocol, AsyncEnumerateKeysProtocol, AsyncKeyValue
from key_value.shared.cache import (
    LOCK_SUFFIX,
    CacheInfo,
    CacheOptions,
    Counters,
    ErrorLog,
    KeyMaker,
    ResultCodec,
    ThreadBackground,
    ThreadFlights,
    cache_options,
    check_key_options,
)
from key_value.shared.capabilities import Capability
from key_value.shared.conditional import ABSENT
from key_value.shared.errors import (
    DeserializationError,
    InvalidArgumentTypeError,
    KeyValueStoreError,
    UnsupportedOperationError,
)
from key_value.shared.value_codecs import CodecName

P = ParamSpec("P")
R = TypeVar("R")

#: Default seconds a caller waits for another process's result before computing it itself.
LOCK_TIMEOUT = 30.0
#: First and longest pause between two looks at another process's result, in seconds.
POLL_FIRST, POLL_MAX = 0.005, 0.1
#: Keys deleted per call by `invalidate_all`.
PAGE = 500

_MISSING: Any = object()

if True:  # ASYNC
    _Function = Callable[P, Awaitable[R]]

    class _LeaderCancelled(Exception):
        """The caller computing a shared result was cancelled; a waiting caller computes instead."""

    class _Flights:
        """Concurrent callers of one key share the first caller's call (one event loop)."""

        def __init__(self) -> None:
            self._running: dict[str, asyncio.Future[Any]] = {}

        async def run(self, key: str, compute: Callable[[], Awaitable[Any]]) -> Any:
            while (running := self._running.get(key)) is not None:
                try:
                    return await asyncio.shield(running)
                except _LeaderCancelled:  # noqa: PERF203 - a rare retry, not a hot loop
                    continue  # the caller that computed was cancelled: the next one computes
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._running[key] = future
            try:
                result = await compute()
            except asyncio.CancelledError:
                future.set_exception(_LeaderCancelled())
                future.exception()  # retrieved: no "never retrieved" warning when nobody waited
                raise
            except BaseException as error:
                future.set_exception(error)
                future.exception()
                raise
            else:
                future.set_result(result)
                return result
            finally:
                del self._running[key]

    class _Background:
        """Refreshes of stale results, run as tasks that nobody awaits (kept alive until done)."""

        def __init__(self) -> None:
            self._tasks: set[asyncio.Task[Any]] = set()

        def start(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
            task = asyncio.get_running_loop().create_task(work())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _is_right_kind(func: Callable[..., Any]) -> bool:
        return inspect.iscoroutinefunction(func)

    _KIND = "a coroutine function (async def); use key_value.sync.cache for plain functions"
else:
    _Function = Callable[P, R]
    _Flights = ThreadFlights
    _Background = ThreadBackground

    def _is_right_kind(func: Callable[..., Any]) -> bool:
        return not inspect.iscoroutinefunction(func)

    _KIND = "a plain function; use key_value.aio.cache for coroutine functions"


class AsyncCachedFunction(Generic[P, R]):
    """A function whose results are kept in a store (what `@cached` returns)."""

    def __init__(
        self,
        func: _Function[P, R],
        store: AsyncKeyValue,
        options: CacheOptions,
        keys: KeyMaker,
        codec: ResultCodec,
    ) -> None:
        functools.update_wrapper(self, func)
        self.__wrapped__ = func
        self._func = func
        self._store = store
        self._options = options
        self._keys = keys
        self._codec = codec
        self._counters = Counters()
        self._errors = ErrorLog(f"{func.__module__}.{func.__qualname__}")
        self._flights = _Flights()
        self._background = _Background()
        self._refreshing: set[str] = set()
        capabilities = capabilities_of(store)
        self._conditional = Capability.CONDITIONAL in capabilities
        self._enumerable = Capability.KEYS in capabilities

    # --- the call --------------------------------------------------------------------------------

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        key = self._keys(args, kwargs)
        found = await self._lookup(key)
        if found is not _MISSING:
            result, fresh = found
            if fresh:
                self._counters.bump("hits")
            else:
                self._counters.bump("stale")
                if key not in self._refreshing:  # one refresh per key at a time in this process
                    self._refreshing.add(key)
                    self._background.start(lambda: self._refresh(key, args, kwargs))
            return cast("R", result)
        self._counters.bump("misses")
        return cast("R", await self._flights.run(key, lambda: self._fill(key, args, kwargs)))

    def cache_key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """The store key of a call with these arguments."""
        return self._keys(args, kwargs)

    def cache_info(self) -> CacheInfo:
        """Hits, misses, stale answers, store errors and calls of the function so far."""
        return self._counters.info()

    def cache_clear_info(self) -> None:
        """Set the counters of `cache_info` back to zero (the stored results stay)."""
        self._counters.clear()

    async def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Delete the stored result of a call with these arguments; True if there was one."""
        return await self._store.delete(self._keys(args, kwargs), collection=self._options.collection)

    async def invalidate_all(self) -> int:
        """Delete every stored result of this function (a store that can list keys); the number deleted."""
        if not self._enumerable:
            raise UnsupportedOperationError(
                "invalidate_all lists the function's keys, and this store cannot list keys",
                {"store": type(self._store).__name__},
            )
        listed = await cast("AsyncEnumerateKeysProtocol", self._store).keys(self._options.collection)
        mine = [key for key in listed if self._keys.matches(key)]
        deleted = 0
        for start in range(0, len(mine), PAGE):
            deleted += await self._store.delete_many(mine[start : start + PAGE], collection=self._options.collection)
        return deleted

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> AsyncBoundCachedFunction[R]: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> Self | AsyncBoundCachedFunction[R]:
        if instance is None:
            return self
        return AsyncBoundCachedFunction(cast("AsyncCachedFunction[..., R]", self), instance)

    # --- the store -------------------------------------------------------------------------------

    async def _lookup(self, key: str) -> Any:
        """(result, fresh) of the stored result, or `_MISSING`."""
        try:
            stored = await self._store.get(key, collection=self._options.collection)
        except KeyValueStoreError as error:
            self._store_failed(error, "get")
            return _MISSING
        except DeserializationError as error:
            self._errors.bad_entry(error, key)
            return _MISSING
        if stored is None:
            return _MISSING
        try:
            result, fresh_until = self._codec.result(stored, key)
        except DeserializationError as error:
            self._errors.bad_entry(error, key)
            return _MISSING
        return result, fresh_until is None or fresh_until > time.time()

    async def _save(self, key: str, result: object) -> None:
        if result is None and not self._options.cache_none:
            return
        entry = self._codec.entry(result, self._options.fresh_until())
        try:
            await self._store.put(key, entry, collection=self._options.collection, ttl=self._options.entry_ttl)
        except KeyValueStoreError as error:
            self._store_failed(error, "put")

    def _store_failed(self, error: KeyValueStoreError, during: str) -> None:
        self._counters.bump("errors")
        if self._options.on_store_error == "raise":
            raise error
        self._errors.store_error(error, during)

    async def _call(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self._counters.bump("calls")
        result = await self._func(*args, **kwargs)
        await self._save(key, result)
        return result

    # --- one computation per key across processes ------------------------------------------------

    async def _lock(self, key: str) -> str | None:
        """Take the lock entry of `key`: its ETag, or None if another caller holds it."""
        store = cast("AsyncConditionalProtocol", self._store)
        owner = {"owner": uuid.uuid4().hex}
        try:
            taken = await store.put_if(
                key + LOCK_SUFFIX,
                owner,
                etag=ABSENT,
                collection=self._options.collection,
                ttl=self._options.lock_timeout,
                retrieve=False,
            )
        except KeyValueStoreError as error:
            self._store_failed(error, "lock")
            return ""  # no lock to be had: compute, as a store without the segment would
        return cast("str", taken.resulting_etag) if taken.satisfied else None

    async def _unlock(self, key: str, etag: str) -> None:
        if not etag:
            return
        store = cast("AsyncConditionalProtocol", self._store)
        try:  # only our own lock: if it expired and another caller took it, theirs stays
            await store.delete_if(key + LOCK_SUFFIX, etag=etag, collection=self._options.collection, retrieve=False)
        except KeyValueStoreError as error:
            self._store_failed(error, "unlock")

    async def _fill(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Compute a missing result, or wait for the process that is computing it."""
        if not self._conditional:
            return await self._call(key, args, kwargs)
        deadline = time.monotonic() + self._options.lock_timeout
        pause = POLL_FIRST
        while True:
            etag = await self._lock(key)
            if etag is not None:
                try:
                    found = await self._lookup(key)  # filled between our look and our lock?
                    if found is not _MISSING and found[1]:
                        return found[0]
                    return await self._call(key, args, kwargs)
                finally:
                    await self._unlock(key, etag)
            while True:  # another caller computes: wait for its result, or for its lock to go
                if time.monotonic() >= deadline:
                    return await self._call(key, args, kwargs)
                await asyncio.sleep(pause)
                pause = min(pause * 2, POLL_MAX)
                found = await self._lookup(key)
                if found is not _MISSING and found[1]:
                    return found[0]
                if not await self._locked(key):
                    break

    async def _locked(self, key: str) -> bool:
        try:
            return await self._store.get(key + LOCK_SUFFIX, collection=self._options.collection) is not None
        except KeyValueStoreError as error:
            self._store_failed(error, "lock")
            return False

    async def _refresh(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Compute a stale result again, unless another caller (here or elsewhere) already does."""
        try:
            await self._flights.run(key, lambda: self._refresh_once(key, args, kwargs))
        except Exception as error:  # nobody awaits a refresh: its failure is logged
            self._errors.refresh_failed(error, key)
        finally:
            self._refreshing.discard(key)

    async def _refresh_once(self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        etag = await self._lock(key) if self._conditional else ""
        if etag is None:
            return  # another process refreshes it
        try:
            found = await self._lookup(key)
            if found is _MISSING or not found[1]:  # still stale: nobody refreshed it meanwhile
                await self._call(key, args, kwargs)
        finally:
            await self._unlock(key, etag)


class AsyncBoundCachedFunction(Generic[R]):
    """A cached method bound to its instance (or class): `obj.method(...)`, `obj.method.invalidate(...)`."""

    __name__: str
    __qualname__: str

    def __init__(self, function: AsyncCachedFunction[..., R], instance: object) -> None:
        self.__func__ = function
        self.__self__ = instance
        functools.update_wrapper(self, function.__wrapped__)

    async def __call__(self, *args: Any, **kwargs: Any) -> R:
        return await self.__func__(self.__self__, *args, **kwargs)

    def cache_key(self, *args: Any, **kwargs: Any) -> str:
        return self.__func__.cache_key(self.__self__, *args, **kwargs)

    def cache_info(self) -> CacheInfo:
        return self.__func__.cache_info()

    async def invalidate(self, *args: Any, **kwargs: Any) -> bool:
        return await self.__func__.invalidate(self.__self__, *args, **kwargs)

    async def invalidate_all(self) -> int:
        return await self.__func__.invalidate_all()


def cached(
    store: AsyncKeyValue,
    *,
    collection: str | None = None,
    ttl: SupportsFloat | None = None,
    key: Callable[..., str] | None = None,
    model: object = None,
    namespace: str | None = None,
    codec: CodecName = "json",
    cache_none: bool = True,
    stale_ttl: SupportsFloat | None = None,
    lock_timeout: SupportsFloat = LOCK_TIMEOUT,
    on_store_error: str = "call",
) -> Callable[[_Function[P, R]], AsyncCachedFunction[P, R]]:
    """Keep the results of the decorated function in `store` (see the module docstring).

    `collection`: where the results go (None: the store's default collection). `ttl`: seconds a result
    lives (None: until deleted). `key`: a callable of the call's arguments returning the key's argument
    part. `model`: the result type, validated on the way out. `namespace`: a prefix of every key.
    `codec`: `"json"`, `"text"` or `"pickle"`. `cache_none`: store `None` results. `stale_ttl`: serve a
    result that far past `ttl` while it is refreshed. `lock_timeout`: how long a caller waits for
    another process's result. `on_store_error`: `"call"` the function when the store fails, or `"raise"`.
    """
    if not callable(getattr(store, "get", None)) or not callable(getattr(store, "put", None)):
        raise InvalidArgumentTypeError("cached needs a store", {"store": type(store).__name__})
    options = cache_options(
        collection=collection,
        ttl=ttl,
        stale_ttl=stale_ttl,
        lock_timeout=lock_timeout,
        cache_none=cache_none,
        on_store_error=on_store_error,
    )
    result_codec = ResultCodec(model, codec)
    check_key_options(namespace, key)

    def decorate(func: _Function[P, R]) -> AsyncCachedFunction[P, R]:
        if isinstance(cast("object", func), (staticmethod, classmethod)):
            raise InvalidArgumentTypeError("put @cached below @staticmethod or @classmethod, next to the function")
        if not callable(func) or not _is_right_kind(func):
            raise InvalidArgumentTypeError(f"@cached decorates {_KIND}", {"function": repr(func)})
        return AsyncCachedFunction(func, store, options, KeyMaker(func, namespace=namespace, key=key), result_codec)

    return decorate


__all__ = ["LOCK_TIMEOUT", "AsyncBoundCachedFunction", "AsyncCachedFunction", "cached"]

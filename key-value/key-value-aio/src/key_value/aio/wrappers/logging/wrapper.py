"""`LoggingWrapper`: logs the start, the outcome (hits, TTLs, counts) or the failure of every operation.

Values appear in the log only with `log_values=True`, since they may be sensitive. With
`structured_logs=True` each message is one JSON object (`status`, `action`, `collection`, `keys`, and
`value`/`extra` when present) for log pipelines; otherwise it is a readable line. `collection` is the
name the wrapped store uses: `collection=None` is shown as the wrapped store's default collection.
Conditional calls are logged as `GET_ENTRY`, `PUT_IF` and `DELETE_IF` (with the expected ETag, the
condition, and whether it held); `put_if_absent` and `transform` log the `PUT_IF`s they make.
"""

# ruff: noqa: FBT001, FBT002 - the boolean options stay positional, as in py-key-value-aio

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, SupportsFloat, TypeVar

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.shared.conditional import Absent, Condition, ConditionalResult, Joker, VersionedEntry

_T = TypeVar("_T")

if True:  # ASYNC
    from collections.abc import Awaitable

    _Call = Callable[[], Awaitable[_T]]
else:
    _Call = Callable[[], _T]

#: What an outcome function returns: the value(s) to log (when values are logged) and extra fields.
_Outcome = tuple[object, dict[str, Any]]

_ABSENT = object()  # marks a field that the message leaves out


def _nothing(_: object) -> _Outcome:
    return _ABSENT, {}


def _one(value: dict[str, Any] | None) -> _Outcome:
    return value, {"hit": value is not None}


def _many(values: list[dict[str, Any] | None]) -> _Outcome:
    hits = sum(value is not None for value in values)
    return values, {"hits": hits, "misses": len(values) - hits}


def _one_ttl(entry: tuple[dict[str, Any] | None, float | None]) -> _Outcome:
    return entry[0], {"ttl": entry[1]}


def _many_ttl(entries: list[tuple[dict[str, Any] | None, float | None]]) -> _Outcome:
    return _many([value for value, _ in entries])


def _result(name: str) -> Callable[[object], _Outcome]:
    return lambda result: (_ABSENT, {name: result})


def _count(names: list[str]) -> _Outcome:
    return _ABSENT, {"count": len(names)}


def _entry(entry: VersionedEntry | None) -> _Outcome:
    if entry is None:
        return None, {"hit": False}
    return entry.value, {"hit": True, "etag": entry.etag, "ttl": entry.ttl}


def _conditional(result: ConditionalResult) -> _Outcome:
    return result.value, {"satisfied": result.satisfied, "etag": str(result.resulting_etag)}


class LoggingWrapper(BaseWrapper):
    """Logs each call to the wrapped store on `logger` (default `key_value.logging`) at `log_level`."""

    supported_segments = ALL_SEGMENTS

    def __init__(
        self,
        key_value: AsyncKeyValue,
        logger: logging.Logger | None = None,
        log_level: int = logging.INFO,
        log_values: bool = False,
        structured_logs: bool = False,
    ) -> None:
        super().__init__(key_value)
        self.logger = logger if logger is not None else logging.getLogger("key_value.logging")
        self.log_level = log_level
        self.log_values = log_values
        self.structured_logs = structured_logs

    async def _logged(
        self,
        action: str,
        call: _Call[_T],
        outcome: Callable[[_T], _Outcome],
        *,
        keys: object = _ABSENT,
        collection: object = _ABSENT,
        value: object = _ABSENT,
        extra: dict[str, Any] | None = None,
    ) -> _T:
        """Log the start of `call`, run it, then log its outcome, or its failure and re-raise."""
        if collection is None:
            collection = self.default_collection
        fields = {"keys": keys, "collection": collection}
        self._log("start", action, fields, value, extra or {})
        try:
            result = await call()
        except Exception as error:
            self._log("failed", action, fields, _ABSENT, {"error": type(error).__name__, "message": str(error)})
            raise
        self._log("finish", action, fields, *outcome(result))
        return result

    def _log(self, status: str, action: str, fields: dict[str, object], value: object, extra: dict[str, Any]) -> None:
        if not self.logger.isEnabledFor(self.log_level):
            return
        shown = {name: item for name, item in fields.items() if item is not _ABSENT}
        if self.log_values and value is not _ABSENT:
            shown["value"] = value
        if self.structured_logs:
            record: dict[str, Any] = {"status": status, "action": action, **shown}
            if extra:
                record["extra"] = extra
            message = json.dumps(record, default=repr)  # repr: a value about to be refused must not break logging
        else:  # py-key-value's line: `Finish GET collection='c' keys='k' value={...} ({'hit': True})`
            message = f"{status.capitalize()} {action}"
            for name in ("collection", "keys"):
                if name in shown:
                    message += f" {name}='{shown[name]}'"
            if "value" in shown:
                message += f" value={shown['value']}"
            if extra:
                message += f" ({extra})"
        self.logger.log(self.log_level, message)

    # -- the protocol ---------------------------------------------------------------------------

    async def get(self, key: str, *, collection: str | None = None) -> dict[str, Any] | None:
        return await self._logged(
            "GET", lambda: self.key_value.get(key, collection=collection), _one, keys=key, collection=collection
        )

    async def get_many(self, keys: Sequence[str], *, collection: str | None = None) -> list[dict[str, Any] | None]:
        return await self._logged(
            "GET_MANY",
            lambda: self.key_value.get_many(keys, collection=collection),
            _many,
            keys=keys,
            collection=collection,
            extra={"keys": list(keys[:5])},
        )

    async def ttl(self, key: str, *, collection: str | None = None) -> tuple[dict[str, Any] | None, float | None]:
        return await self._logged(
            "TTL", lambda: self.key_value.ttl(key, collection=collection), _one_ttl, keys=key, collection=collection
        )

    async def ttl_many(
        self, keys: Sequence[str], *, collection: str | None = None
    ) -> list[tuple[dict[str, Any] | None, float | None]]:
        return await self._logged(
            "TTL_MANY",
            lambda: self.key_value.ttl_many(keys, collection=collection),
            _many_ttl,
            keys=keys,
            collection=collection,
            extra={"keys": list(keys[:5])},
        )

    async def put(
        self, key: str, value: Mapping[str, Any], *, collection: str | None = None, ttl: SupportsFloat | None = None
    ) -> None:
        await self._logged(
            "PUT",
            lambda: self.key_value.put(key, value, collection=collection, ttl=ttl),
            lambda _: (value, {"ttl": ttl}),
            keys=key,
            collection=collection,
            value=value,
            extra={"ttl": ttl},
        )

    async def put_many(
        self,
        keys: Sequence[str],
        values: Sequence[Mapping[str, Any]],
        *,
        collection: str | None = None,
        ttl: SupportsFloat | None = None,
    ) -> None:
        await self._logged(
            "PUT_MANY",
            lambda: self.key_value.put_many(keys, values, collection=collection, ttl=ttl),
            lambda _: (values, {"ttl": ttl}),
            keys=keys,
            collection=collection,
            value=values,
            extra={"ttl": ttl},
        )

    async def delete(self, key: str, *, collection: str | None = None) -> bool:
        return await self._logged(
            "DELETE",
            lambda: self.key_value.delete(key, collection=collection),
            _result("deleted"),
            keys=key,
            collection=collection,
        )

    async def delete_many(self, keys: Sequence[str], *, collection: str | None = None) -> int:
        return await self._logged(
            "DELETE_MANY",
            lambda: self.key_value.delete_many(keys, collection=collection),
            _result("deleted"),
            keys=keys,
            collection=collection,
            extra={"keys": list(keys[:5])},
        )

    # -- segments -------------------------------------------------------------------------------

    async def _keys(self, collection: str | None, *, limit: int | None) -> list[str]:
        return await self._logged(
            "KEYS",
            lambda: super(LoggingWrapper, self)._keys(collection, limit=limit),
            _count,
            collection=collection,
            extra={"limit": limit},
        )

    async def _collections(self, *, limit: int | None) -> list[str]:
        return await self._logged(
            "COLLECTIONS", lambda: super(LoggingWrapper, self)._collections(limit=limit), _count, extra={"limit": limit}
        )

    async def _destroy(self) -> bool:
        return await self._logged("DESTROY", super()._destroy, _result("destroyed"))

    async def _destroy_collection(self, collection: str) -> bool:
        return await self._logged(
            "DESTROY_COLLECTION",
            lambda: super(LoggingWrapper, self)._destroy_collection(collection),
            _result("destroyed"),
            collection=collection,
        )

    async def _cull(self) -> None:
        await self._logged("CULL", super()._cull, _nothing)

    async def _get_entry(self, key: str, *, collection: str | None) -> VersionedEntry | None:
        return await self._logged(
            "GET_ENTRY",
            lambda: super(LoggingWrapper, self)._get_entry(key, collection=collection),
            _entry,
            keys=key,
            collection=collection,
        )

    async def _put_if(
        self,
        key: str,
        value: Mapping[str, Any] | Joker,
        *,
        etag: str | Absent,
        condition: Condition,
        collection: str | None,
        ttl: SupportsFloat | None,
        retrieve: bool,
    ) -> ConditionalResult:
        shown = value.name if isinstance(value, Joker) else value
        return await self._logged(
            "PUT_IF",
            lambda: super(LoggingWrapper, self)._put_if(
                key, value, etag=etag, condition=condition, collection=collection, ttl=ttl, retrieve=retrieve
            ),
            _conditional,
            keys=key,
            collection=collection,
            value=shown,
            extra={"etag": str(etag), "condition": getattr(condition, "name", repr(condition)), "ttl": ttl},
        )

    async def _delete_if(
        self, key: str, *, etag: str | Absent, condition: Condition, collection: str | None, retrieve: bool
    ) -> ConditionalResult:
        return await self._logged(
            "DELETE_IF",
            lambda: super(LoggingWrapper, self)._delete_if(
                key, etag=etag, condition=condition, collection=collection, retrieve=retrieve
            ),
            _conditional,
            keys=key,
            collection=collection,
            extra={"etag": str(etag), "condition": getattr(condition, "name", repr(condition))},
        )

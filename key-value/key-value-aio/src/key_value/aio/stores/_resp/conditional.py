"""The conditional segment of RedisStore and ValkeyStore: one Lua script per call, run on the server.

An entry's ETag is the SHA-1 of its stored bytes (`redis.sha1hex`), so plain `put`, `get` and the
other operations stay exactly what they were: nothing extra is stored or read. Equal bytes give equal
ETags, and any other write gives another, whoever made it. A py-key-value document (its layout, or its
copy that a native store found at set-up) is hashed from its `"key"` member on, past `created_at` and
`expires_at`, which a TTL refresh rewrites: its ETag names the key and value alone. `written_at` is
not recorded (None).

Each call is one EVALSHA (a script the server has not seen yet is loaded and run again): the script
reads the entry, decides the condition, writes, and returns the ETags and the value, so a loser gets
the winner's value in the same round trip. The server runs a script as one step, with its clock
fixed for the script, and a key past its PX is gone to it: the check and the write are atomic for
every client of the server. In the native and py-key-value layouts a script touches only KEYS[1], so
it runs on a cluster too. While a native store reads py-key-value's copies (`_resp.py_key_value`), the
script also reads, refreshes or deletes the copy under `collection::key` (KEYS[2]), which lives in
another hash slot: those calls need a single server, and refuse a cluster.
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from typing import Any

from key_value.aio.stores._resp import milliseconds
from key_value.aio.stores.base import BaseConditionalStore
from key_value.shared.codec import decode_value
from key_value.shared.compat.layouts.resp import PY_KEY_VALUE_RESP_LAYOUT, PyKeyValueRespLayout, expiry_text
from key_value.shared.conditional import (
    ABSENT,
    DELETE_CURRENT,
    NOT_RETRIEVED,
    Absent,
    Atomicity,
    Condition,
    ConditionalResult,
    Joker,
    VersionedEntry,
)
from key_value.shared.errors import DeserializationError, KeyValueStoreError
from key_value.shared.layouts.resp import RespLayout

# Helpers of both scripts. A document's members are sorted (`json.dumps(..., sort_keys=True)`) and
# ASCII-escaped, and those before "key" (collection, created_at, expires_at) are strings, in which a
# quote is always escaped: the first `"key": ` is the document's own member.
_HELPERS = (
    "local function etag(raw, form)",
    "  if form == 'd' then",
    "    local at = string.find(raw, '\"key\": ', 1, true)",
    "    if at then raw = string.sub(raw, at) end",
    "  end",
    "  return redis.sha1hex(raw)",
    "end",
    "local function is_document(raw)",
    "  local ok, doc = pcall(cjson.decode, raw)",
    "  if not ok or type(doc) ~= 'table' or doc['version'] == nil then return false end",
    "  local value = doc['value']",
    "  return type(value) == 'table' or type(value) == 'string'",
    "end",
    "local function current(form)",
    "  local raw = redis.call('GET', KEYS[1])",
    "  if not raw and KEYS[2] then",
    "    local old = redis.call('GET', KEYS[2])",
    "    if old and is_document(old) then return old, 2, 'd' end",
    "  end",
    "  return raw, 1, form",
    "end",
)


class LuaScript:
    """A script's text (given line by line: the sync twin's generator folds long strings) and its SHA-1."""

    __slots__ = ("sha", "text")

    def __init__(self, *lines: str) -> None:
        self.text = "\n".join(lines)
        self.sha = hashlib.sha1(self.text.encode()).hexdigest()


#: KEYS: the entry's key [, its py-key-value copy]. ARGV: form of KEYS[1] ('b' bytes, 'd' document).
#: Reply: false, or {stored bytes, PTTL, ETag, 1 (ours) or 2 (the copy)}.
GET_ENTRY = LuaScript(
    *_HELPERS,
    "local raw, where, form = current(ARGV[1])",
    "if not raw then return false end",
    "return {raw, redis.call('PTTL', KEYS[where]), etag(raw, form), where}",
)

#: KEYS: as GET_ENTRY's. ARGV: form; operation ('w' write, 'k' keep, 'd' delete); condition ('a', 's',
#: 'c'); expected ETag ('' for ABSENT); retrieve ('1' or '0'); PX ('' for none); the bytes to write
#: (w), or a document's new `expires_at` text (k with PX). Reply: {1 if satisfied else 0, ETag
#: before, ETag after ('' for ABSENT), the stored bytes after (false: not asked for, not there, or
#: what was written), 1 or 2 (which key they came from)}.
PUT_IF = LuaScript(
    *_HELPERS,
    "local operation, condition, expected, px, argument = ARGV[2], ARGV[3], ARGV[4], ARGV[6], ARGV[7]",
    "local raw, where, form = current(ARGV[1])",
    "local actual = ''",
    "if raw then actual = etag(raw, form) end",
    "local shown = false",
    "if ARGV[5] == '1' and raw then shown = raw end",
    "if condition ~= 'a' and (condition == 's') ~= (actual == expected) then",
    "  return {0, actual, actual, shown, where}",
    "end",
    "if operation == 'w' then",
    "  if px == '' then redis.call('SET', KEYS[1], argument) else redis.call('SET', KEYS[1], argument, 'PX', px) end",
    "  if KEYS[2] then redis.call('DEL', KEYS[2]) end",
    "  return {1, actual, etag(argument, ARGV[1]), false, 1}",
    "end",
    "if operation == 'd' then",
    "  if raw then redis.call('DEL', unpack(KEYS)) end",
    "  return {1, actual, '', false, 1}",
    "end",
    "if raw and px ~= '' then",
    "  local at = nil",
    "  if form == 'd' then at = string.find(raw, '\"key\": ', 1, true) end",
    "  if at then",
    '    -- a document says when it expires too: rewrite its expires_at (before "key", so the ETag stays)',
    "    local head, tail = string.sub(raw, 1, at - 1), string.sub(raw, at)",
    '    local first, last = string.find(head, \'"expires_at": "\', 1, true)',
    "    if first then",
    "      local close = string.find(head, '\"', last + 1, true)",
    "      head = string.sub(head, 1, last) .. argument .. string.sub(head, close)",
    "    else",
    "      head = head .. '\"expires_at\": \"' .. argument .. '\", '",
    "    end",
    "    raw = head .. tail",
    "    redis.call('SET', KEYS[where], raw, 'PX', px)",
    "    if shown then shown = raw end",
    "  else",
    "    redis.call('PEXPIRE', KEYS[where], px)",
    "  end",
    "end",
    "return {1, actual, actual, shown, where}",
)

_CONDITIONS = {Condition.ANY: "a", Condition.SAME: "s", Condition.CHANGED: "c"}


class ScriptedConditional(BaseConditionalStore):
    """The conditional hooks on the two scripts; a store runs a script with `_run_script`.

    Needs the store's `_layout` and `_legacy` (`PyKeyValueData`).
    """

    atomicity = Atomicity.ACROSS_PROCESSES
    _layout: RespLayout
    _legacy: bool

    @abstractmethod
    async def _run_script(self, script: LuaScript, keys: list[str], args: list[str]) -> Any:
        """Run `script` (EVALSHA, loading it when the server has not seen it) and return its reply."""

    def _script_keys(self, collection: str, key: str) -> list[str]:
        name = self._layout.server_key(collection, key)
        return [name, PY_KEY_VALUE_RESP_LAYOUT.server_key(collection, key)] if self._legacy else [name]

    def _form(self) -> str:
        """How the scripts hash this layout's bytes: 'd' for py-key-value's documents, 'b' for anything else."""
        return "d" if isinstance(self._layout, PyKeyValueRespLayout) else "b"

    def _decoded(self, raw: bytes | str, where: int) -> dict[str, Any] | None:
        if where == 1:
            return self._layout.decode(raw)
        try:
            return PY_KEY_VALUE_RESP_LAYOUT.decode(raw)
        except DeserializationError:
            return None  # not quite a py-key-value document after all: as the plain reads see it

    async def _get_versioned(self, collection: str, key: str) -> VersionedEntry | None:
        reply = await self._run_script(GET_ENTRY, self._script_keys(collection, key), [self._form()])
        if reply is None:
            return None
        raw, pttl, etag, where = reply
        value = self._decoded(raw, where)
        if value is None:
            return None
        return VersionedEntry(value, _text(etag), None if pttl < 0 else max(pttl, 1) / 1000, None)

    async def _put_if(
        self,
        collection: str,
        key: str,
        value: str | Joker,
        *,
        etag: str | Absent,
        condition: Condition,
        ttl: float | None,
        expires_at: float | None,
        retrieve: bool,
    ) -> ConditionalResult:
        form = self._form()
        argument = ""
        written = None if isinstance(value, Joker) else value
        if written is not None:
            operation = "w"
            argument = self._layout.encode(collection, key, written, expires_at)
        elif value is DELETE_CURRENT:
            operation = "d"
        else:
            operation = "k"
            if expires_at is not None and (form == "d" or self._legacy):
                argument = expiry_text(expires_at)
        reply = await self._run_script(
            PUT_IF,
            self._script_keys(collection, key),
            [
                form,
                operation,
                _CONDITIONS[condition],
                "" if etag is ABSENT else etag,
                "1" if retrieve else "0",
                "" if ttl is None else str(milliseconds(ttl)),
                argument,
            ],
        )
        satisfied, actual, resulting, raw, where = reply
        result = ConditionalResult(bool(satisfied), _etag(actual), _etag(resulting), NOT_RETRIEVED)
        if not retrieve:
            return result
        if satisfied and written is not None:
            after = decode_value(written)
        else:
            after = None if raw is None else self._decoded(raw, where)
        return result._replace(value=after)


def _text(reply: bytes | str) -> str:
    return reply.decode() if isinstance(reply, bytes) else reply


def _etag(reply: bytes | str) -> str | Absent:
    return _text(reply) if reply else ABSENT


def cluster_refused() -> KeyValueStoreError:
    """The error of a conditional call that would need two hash slots (py-key-value's copies on a cluster)."""
    return KeyValueStoreError(_CLUSTER_REFUSED)


#: Kept short per part: the sync twin's generator joins implicitly concatenated strings into one line.
_CLUSTER_REFUSED = " ".join(
    (
        "conditional calls on a cluster holding py-key-value's entries are refused:",
        "the entry and its py-key-value copy live in different hash slots;",
        "move the copies first (copy_entries in key_value's migrate module)",
    )
)


__all__ = ["GET_ENTRY", "PUT_IF", "LuaScript", "ScriptedConditional", "cluster_refused"]

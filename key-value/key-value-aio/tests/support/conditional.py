"""The conditional segment's contract: the condition grid, jokers, TTLs, bad input, `transform` and races.

Runs on every store that has `Capability.CONDITIONAL` (through `ContractTests`). A store test class
sets `etag_from_content = True` when its ETags are derived from the stored bytes (equal values, equal
ETags), and, when its store is atomic across processes, defines a `store_options` fixture: the
constructor keywords another process uses to open the same store (the race test starts 8 of them).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from key_value.aio.conditional import (
    ABSENT,
    ANY,
    CHANGED,
    DELETE_CURRENT,
    KEEP_CURRENT,
    NOT_RETRIEVED,
    SAME,
    Absent,
    Atomicity,
    Condition,
    ConditionalResult,
    Entry,
    Joker,
)
from key_value.aio.protocols.key_value import AsyncConditionalProtocol, AsyncKeyValue
from key_value.shared.conditional import holds
from key_value.shared.errors import (
    ConcurrencyConflictError,
    InvalidArgumentError,
    InvalidKeyError,
    InvalidTTLError,
    SerializationError,
)

from .timing import monotonic, sleep

ROOT = Path(__file__).resolve().parents[4]

#: The method of each grid cell: (label, value for put_if, or None for delete_if).
METHODS: list[tuple[str, Mapping[str, Any] | Joker | None]] = [
    ("put", {"new": True}),
    ("keep", KEEP_CURRENT),
    ("drop", DELETE_CURRENT),
    ("delete_if", None),
]
CONDITIONS = [ANY, SAME, CHANGED]
#: Grid states: what the key holds, and which ETag the call expects.
STATES = ["current", "stale", "present-expects-absent", "absent", "absent-stale", "expired", "expired-stale"]
OLD: dict[str, Any] = {"old": 1}


def conditional(store: AsyncKeyValue) -> AsyncConditionalProtocol:
    if not isinstance(store, AsyncConditionalProtocol):
        pytest.skip("store has no conditional segment")
    return store


def run_race(spec: dict[str, Any]) -> None:
    """Start 8 writers (4 per twin) of `testing.conditional_race` and check that each finished its increments."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "testing.conditional_race"]
    workers = [
        subprocess.Popen(
            [*command, json.dumps(spec | {"twin": twin})],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for twin in ["aio", "sync"] * 4
    ]
    reports = [worker.communicate(timeout=600) for worker in workers]
    for worker, (out, err) in zip(workers, reports, strict=True):
        assert worker.returncode == 0, err[-3000:]
        assert json.loads(out.strip().splitlines()[-1])["increments"] == spec["increments"]


class ConditionalContractTests:
    """The conditional segment, checked against `holds` (the rule) and the store's own reads."""

    #: The store's ETags are derived from the stored bytes: equal values written twice share one.
    etag_from_content: bool = False
    #: Increments each of the 8 racing processes makes (300: thousands of conflicting attempts on every
    #: store; a lost update shows within the first few dozen).
    race_increments: int = 300
    #: Tasks (async) or threads (sync) racing within one process.
    race_tasks: int = 32
    #: Increments each of the `race_tasks` racing tasks or threads makes.
    race_rounds: int = 10

    # -- get_entry ----------------------------------------------------------------------------------

    async def test_get_entry(self, store: AsyncKeyValue) -> None:
        kv = conditional(store)
        assert await kv.get_entry("missing") is None
        before = time.time()
        await store.put("key", {"v": 1}, ttl=30, collection="entries")
        await store.put("forever", {"v": [1, {"x": None}]}, collection="entries")
        entry = await kv.get_entry("key", collection="entries")
        assert isinstance(entry, Entry)
        assert entry.value == {"v": 1}
        assert isinstance(entry.etag, str)
        assert entry.etag
        assert entry.ttl is not None
        assert 25 < entry.ttl <= 30
        if entry.written_at is not None:
            assert before - 2 <= entry.written_at <= time.time() + 2
        forever = await kv.get_entry("forever", collection="entries")
        assert forever is not None
        assert forever.ttl is None
        assert forever.value == {"v": [1, {"x": None}]}
        forever.value["v"].append(2)  # a fresh copy: the store keeps its own
        assert await store.get("forever", collection="entries") == {"v": [1, {"x": None}]}
        assert await kv.get_entry("key") is None  # collections are separate

    async def test_etag_changes_with_every_write(self, store: AsyncKeyValue) -> None:
        kv = conditional(store)
        await store.put("key", {"v": 1})
        first = await kv.get_entry("key")
        await store.put("key", {"v": 2})
        second = await kv.get_entry("key")
        await store.put_many(["key"], [{"v": 1}])
        third = await kv.get_entry("key")
        assert first is not None
        assert second is not None
        assert third is not None
        assert first.etag != second.etag
        assert third.etag != second.etag
        if not self.etag_from_content:
            assert third.etag != first.etag  # the same value written again is a new write
        again = await kv.get_entry("key")
        assert again is not None
        assert again.etag == third.etag  # reading does not change it

    # -- the grid ---------------------------------------------------------------------------------

    @pytest.mark.parametrize("state", STATES)
    async def test_condition_grid(self, store: AsyncKeyValue, state: str) -> None:
        """Every method x condition on one state; each cell checked against the rule and a read."""
        kv = conditional(store)
        cells = [(label, value, condition) for label, value in METHODS for condition in CONDITIONS]
        keys = [f"{state}-{label}-{condition.name}" for label, _, condition in cells]
        current: dict[str, str | Absent] = {}
        stale: dict[str, str] = {}
        for key in keys:  # a stale ETag: one the key really had, before its latest write (or deletion)
            await store.put(key, {"stale": key}, collection="grid")
            entry = await kv.get_entry(key, collection="grid")
            assert entry is not None
            stale[key] = entry.etag
        if state.startswith("absent"):
            await store.delete_many(keys, collection="grid")
        elif state.startswith("expired"):
            await store.put_many(keys, [OLD] * len(keys), collection="grid", ttl=0.3)
            for key in keys:  # "expired-stale" expects the ETag the entry had until it expired
                entry = await kv.get_entry(key, collection="grid")
                if entry is not None:
                    stale[key] = entry.etag
            await sleep(0.6)
        else:
            await store.put_many(keys, [OLD] * len(keys), collection="grid", ttl=100)
        for key in keys:
            entry = await kv.get_entry(key, collection="grid")
            current[key] = ABSENT if entry is None else entry.etag
            assert (entry is None) == (state.startswith(("absent", "expired")))
        for key, (label, value, condition) in zip(keys, cells, strict=True):
            expected: str | Absent = {"current": current[key], "absent": ABSENT, "expired": ABSENT}.get(
                state, stale[key]
            )
            if state == "present-expects-absent":
                expected = ABSENT
            if value is None:
                result = await kv.delete_if(key, etag=expected, condition=condition, collection="grid")
            else:
                result = await kv.put_if(key, value, etag=expected, condition=condition, collection="grid", ttl=None)
            await self._check_cell(
                kv,
                store=store,
                key=key,
                label=label,
                condition=condition,
                expected=expected,
                actual=current[key],
                result=result,
            )

    async def _check_cell(
        self,
        kv: AsyncConditionalProtocol,
        *,
        store: AsyncKeyValue,
        key: str,
        label: str,
        condition: Condition,
        expected: str | Absent,
        actual: str | Absent,
        result: ConditionalResult,
    ) -> None:
        where = f"{label} {condition.name} expected={expected!r} actual={actual!r}"
        satisfied = holds(condition, expected, actual)
        assert result.satisfied is satisfied, where
        assert bool(result) is satisfied, where
        assert result.actual_etag == actual, where
        old = None if actual is ABSENT else OLD
        after = await kv.get_entry(key, collection="grid")
        if not satisfied or label == "keep":
            assert result.resulting_etag == actual, where
            assert result.value == old, where
            assert (None if after is None else after.value) == old, where
            assert (ABSENT if after is None else after.etag) == actual, where
        elif label == "put":
            assert isinstance(result.resulting_etag, str), where
            assert result.resulting_etag != actual, where
            assert result.value == {"new": True}, where
            assert after is not None, where
            assert after.value == {"new": True}, where
            assert after.etag == result.resulting_etag, where
            assert after.ttl is None, where  # a write without TTL clears the old one
        else:
            assert result.resulting_etag is ABSENT, where
            assert result.value is None, where
            assert after is None, where
            assert await store.get(key, collection="grid") is None, where

    # -- TTLs, jokers, retrieve -------------------------------------------------------------------

    async def test_put_if_ttl(self, store: AsyncKeyValue) -> None:
        kv = conditional(store)
        started = monotonic()
        inserted = await kv.put_if("key", {"v": 1}, etag=ABSENT, ttl=0.3)
        assert inserted.satisfied
        assert isinstance(inserted.resulting_etag, str)
        _, remaining = await store.ttl("key")
        if monotonic() - started < 0.25:  # only meaningful when the machine was not too slow to look
            assert remaining is not None
        assert remaining is None or 0 < remaining <= 0.3
        await sleep(0.5)
        assert await kv.get_entry("key") is None
        again = await kv.put_if("key", {"v": 2}, etag=inserted.resulting_etag)
        assert not again.satisfied  # expired: absent, whatever ETag it had
        assert again.actual_etag is ABSENT
        assert await kv.put_if_absent("key", {"v": 3}, ttl=60)
        entry = await kv.get_entry("key")
        assert entry is not None
        assert entry.value == {"v": 3}
        assert entry.ttl is not None
        assert 55 < entry.ttl <= 60

    async def test_keep_current_refreshes_ttl(self, store: AsyncKeyValue) -> None:
        kv = conditional(store)
        await store.put("key", {"v": 1}, ttl=1.0)  # long enough for a loaded machine to read and refresh it
        started = monotonic()
        entry = await kv.get_entry("key")
        assert entry is not None
        refreshed = await kv.put_if("key", KEEP_CURRENT, etag=entry.etag, ttl=30)
        assert refreshed.satisfied
        assert refreshed.resulting_etag == entry.etag
        assert refreshed.value == {"v": 1}
        await sleep(max(0.0, started + 1.2 - monotonic()))  # past the old expiry
        after = await kv.get_entry("key")
        assert after is not None
        assert after.value == {"v": 1}
        assert after.ttl is not None
        assert 25 < after.ttl <= 30
        untouched = await kv.put_if("key", KEEP_CURRENT, etag=after.etag)  # no TTL: nothing at all changes
        assert untouched.satisfied
        final = await kv.get_entry("key")
        assert final is not None
        assert final.ttl is not None
        assert final.ttl > 20
        assert (await kv.put_if("none", KEEP_CURRENT, etag=ABSENT, ttl=5)).satisfied
        assert await store.get("none") is None  # keeping an absent entry writes nothing

    async def test_retrieve_false(self, store: AsyncKeyValue) -> None:
        kv = conditional(store)
        written = await kv.put_if("key", {"v": 1}, etag=ABSENT, retrieve=False)
        assert written.satisfied
        assert written.value is NOT_RETRIEVED
        refused = await kv.put_if("key", {"v": 2}, etag=ABSENT, retrieve=False)
        assert not refused.satisfied
        assert refused.value is NOT_RETRIEVED
        assert refused.actual_etag == written.resulting_etag
        refused_with_value = await kv.put_if("key", {"v": 2}, etag=ABSENT)
        assert refused_with_value.value == {"v": 1}  # a loser sees the winner's value without another read
        deleted = await kv.delete_if("key", etag=written.resulting_etag, retrieve=False)
        assert deleted.satisfied
        assert deleted.value is NOT_RETRIEVED
        assert await store.get("key") is None

    async def test_put_if_absent(self, store: AsyncKeyValue) -> None:
        kv = conditional(store)
        assert await kv.put_if_absent("key", {"v": 1}, collection="pia") is True
        assert await kv.put_if_absent("key", {"v": 2}, collection="pia") is False
        assert await store.get("key", collection="pia") == {"v": 1}
        assert await kv.put_if_absent("short", {"v": 1}, ttl=0.2, collection="pia") is True
        await sleep(0.4)
        assert await kv.put_if_absent("short", {"v": 2}, collection="pia") is True  # expired counts as absent
        assert await store.get("short", collection="pia") == {"v": 2}

    async def test_conditional_write_seen_by_plain_reads(self, store: AsyncKeyValue) -> None:
        kv = conditional(store)
        value: dict[str, Any] = {"nested": {"list": [1, 2.5, "three", None, True]}, "big": 2**70, "u": "é🙂"}
        assert (await kv.put_if("a/b::c", value, etag=ABSENT, collection="x::y")).satisfied
        assert await store.get("a/b::c", collection="x::y") == value
        assert await store.get_many(["a/b::c"], collection="x::y") == [value]
        entry = await kv.get_entry("a/b::c", collection="x::y")
        assert entry is not None
        assert entry.value == value
        assert (await kv.put_if("a/b::c", {"v": 2}, etag=entry.etag, condition=ANY, collection="x::y")).satisfied
        assert await store.get("a/b::c", collection="x::y") == {"v": 2}
        assert await store.delete("a/b::c", collection="x::y") is True

    # -- bad input --------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("arguments", "error"),
        [
            ({"etag": 123}, InvalidArgumentError),
            ({"etag": ""}, InvalidArgumentError),
            ({"etag": None}, InvalidArgumentError),
            ({"etag": ABSENT, "condition": "same"}, InvalidArgumentError),
            ({"etag": ABSENT, "ttl": 0}, InvalidTTLError),
            ({"etag": ABSENT, "ttl": float("nan")}, InvalidTTLError),
            ({"etag": ABSENT, "value": {"set": {1}}}, SerializationError),
            ({"etag": ABSENT, "value": "text"}, SerializationError),
            ({"etag": ABSENT, "key": ""}, InvalidKeyError),
            ({"etag": ABSENT, "collection": ""}, InvalidKeyError),
            ({"etag": ABSENT, "retrieve": "yes"}, InvalidArgumentError),
        ],
        ids=[
            "etag-int",
            "etag-empty",
            "etag-none",
            "condition-str",
            "ttl-0",
            "ttl-nan",
            "not-json",
            "not-mapping",
            "empty-key",
            "empty-collection",
            "retrieve-str",
        ],
    )
    async def test_bad_input_writes_nothing(
        self, store: AsyncKeyValue, arguments: dict[str, Any], error: type[Exception]
    ) -> None:
        kv = conditional(store)
        call: dict[str, Any] = {"key": "key", "value": {"v": 1}, "collection": "bad"} | arguments
        key, value = call.pop("key"), call.pop("value")
        with pytest.raises(error):
            await kv.put_if(key, value, **call)
        assert await store.get("key", collection="bad") is None
        if "value" not in arguments and "ttl" not in arguments:
            delete_call = {name: item for name, item in call.items() if name != "ttl"}
            await store.put("key", {"v": 0}, collection="bad")
            with pytest.raises(error):
                await kv.delete_if(key, **delete_call)
            assert await store.get("key", collection="bad") == {"v": 0}

    async def test_bad_transform_input(self, store: AsyncKeyValue) -> None:
        kv = conditional(store)
        with pytest.raises(InvalidArgumentError):
            await kv.transform("key", "not callable")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError):
            await kv.transform("key", lambda value: {"v": 1}, retries=-1)
        with pytest.raises(InvalidArgumentError):
            await kv.transform("key", lambda value: None)
        with pytest.raises(SerializationError):
            await kv.put_if_absent("key", KEEP_CURRENT)  # type: ignore[arg-type]
        assert await store.get("key") is None

    # -- transform --------------------------------------------------------------------------------

    async def test_transform(self, store: AsyncKeyValue) -> None:
        kv = conditional(store)
        for _ in range(5):
            result = await kv.transform("n", lambda value: {"n": (value or {"n": 0})["n"] + 1}, collection="t")
            assert result.satisfied
        assert await store.get("n", collection="t") == {"n": 5}

        async def double(value: dict[str, Any] | None) -> dict[str, Any]:  # the sync twin gets a plain function
            assert value is not None
            return {"n": value["n"] * 2}

        doubled = await kv.transform("n", double, collection="t", ttl=60)
        assert doubled.value == {"n": 10}
        _, remaining = await store.ttl("n", collection="t")
        assert remaining is not None
        assert remaining > 50
        kept = await kv.transform("n", lambda value: KEEP_CURRENT, collection="t")
        assert kept.value == {"n": 10}
        deleted = await kv.transform("n", lambda value: DELETE_CURRENT, collection="t")
        assert deleted.resulting_etag is ABSENT
        assert await store.get("n", collection="t") is None

    async def test_transform_gives_up_on_constant_conflict(self, store: AsyncKeyValue) -> None:
        kv = conditional(store)
        calls: list[int] = []

        async def meddling(value: dict[str, Any] | None) -> dict[str, Any]:
            calls.append(1)
            await store.put("key", {"other": len(calls)})  # another writer, every time
            return {"mine": True}

        with pytest.raises(ConcurrencyConflictError) as raised:
            await kv.transform("key", meddling, retries=3, backoff=0.001)
        assert len(calls) == 4
        assert raised.value.attempts == 4
        assert await store.get("key") == {"other": 4}

    async def test_entry_expiring_between_read_and_write(self, store: AsyncKeyValue) -> None:
        kv = conditional(store)
        await store.put_many(["key", "other"], [{"v": 1}, {"v": 1}], ttl=1.0)  # long enough to read them back
        started = monotonic()  # both expire before started + 1 s
        entry = await kv.get_entry("key")
        assert entry is not None
        other = await kv.get_entry("other")
        assert other is not None
        await sleep(max(0.0, started + 1.2 - monotonic()))
        # first calls after the expiry, before any read: without read-back (a store's quickest path) ...
        blind = await kv.put_if("key", {"v": 2}, etag=entry.etag, retrieve=False)
        assert (blind.satisfied, blind.actual_etag) == (False, ABSENT)
        assert not (await kv.delete_if("other", etag=other.etag, retrieve=False)).satisfied
        # ... and with it
        late = await kv.put_if("key", {"v": 2}, etag=entry.etag)
        assert not late.satisfied
        assert late.actual_etag is ABSENT
        assert await store.get("key") is None
        assert not (await kv.delete_if("key", etag=entry.etag)).satisfied
        assert await store.get("other") is None
        seen: list[dict[str, Any] | None] = []

        def count(value: dict[str, Any] | None) -> dict[str, Any]:
            seen.append(value)
            return {"n": 1}

        await store.put("counter", {"n": 41}, ttl=0.2)
        await sleep(0.4)
        assert (await kv.transform("counter", count)).value == {"n": 1}
        assert seen == [None]  # the expired value was never handed to the function

    # -- races ------------------------------------------------------------------------------------

    @pytest.fixture
    def race_store(self, store: AsyncKeyValue) -> AsyncKeyValue:
        """The store the races run on; a class whose test server is not atomic itself (moto) races elsewhere."""
        return store

    async def test_transform_race_within_process(self, race_store: AsyncKeyValue) -> None:
        """`race_tasks` tasks (async) or threads (sync) x `race_rounds` increment one counter: nothing is lost."""
        store = race_store
        kv = conditional(store)
        workers, rounds = self.race_tasks, self.race_rounds

        def increment(value: dict[str, Any] | None) -> dict[str, Any]:
            return {"n": (0 if value is None else value["n"]) + 1}

        async def worker(_: int) -> None:
            for _ in range(rounds):
                await kv.transform("counter", increment, collection="race", retries=200)

        if True:  # ASYNC
            await asyncio.gather(*(worker(n) for n in range(workers)))
        else:
            from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(worker, range(workers)))
        assert await store.get("counter", collection="race") == {"n": workers * rounds}

    async def test_put_if_absent_one_winner(self, race_store: AsyncKeyValue) -> None:
        store = race_store
        kv = conditional(store)
        workers = 16

        async def claim(n: int) -> bool:
            return await kv.put_if_absent("lock", {"owner": n}, collection="race")

        if True:  # ASYNC
            won = await asyncio.gather(*(claim(n) for n in range(workers)))
        else:
            from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

            with ThreadPoolExecutor(max_workers=workers) as pool:
                won = list(pool.map(claim, range(workers)))
        assert sum(won) == 1
        owner = won.index(True)
        assert await store.get("lock", collection="race") == {"owner": owner}

    if True:  # ASYNC
        # async: one run covers both twins (its workers are 4 async and 4 sync processes), so the sync suite,
        # async: generated from this one, does not repeat it

        async def test_transform_race_across_processes(
            self, race_store: AsyncKeyValue, request: pytest.FixtureRequest
        ) -> None:
            """8 processes (4 of each twin) x `race_increments` transforms on one key: none is lost."""
            store = race_store
            kv = conditional(store)
            if kv.atomicity is not Atomicity.ACROSS_PROCESSES:
                pytest.skip(f"conditional calls are atomic {kv.atomicity.value}, not across processes")
            try:
                options = request.getfixturevalue("store_options")
            except pytest.FixtureLookupError:  # a wrapper stack: its store's own test class races processes
                pytest.skip("no `store_options`: the store's own test class runs the cross-process race")
            spec = {
                "store": f"{type(store).__module__}:{type(store).__qualname__}",  # the worker opens each twin's
                "options": options,
                "collection": "race",
                "key": "across",
                "increments": self.race_increments,
                "retries": 10_000,
            }
            run_race(spec)
            counted = await store.get("across", collection="race")
            assert counted == {"n": 8 * self.race_increments}, f"8 x {self.race_increments} increments left {counted}"

"""The sync-twin generator: its rewrite rules, and that the committed sync tree is fresh."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import build_sync_library as generator  # noqa: E402


def convert(source: str) -> str:
    out = generator.convert(textwrap.dedent(source), "example.py")
    return out.split("run `make codegen`.\n", 1)[1]


def test_async_constructs_become_sync() -> None:
    out = convert(
        """
        async def fetch(store: AsyncKeyValue) -> list[int]:
            async with store.lock:
                value = await store.get("k")
            async for item in store.items():
                pass
            return [x async for x in store.stream()]
        """
    )
    assert "async" not in out
    assert "await" not in out
    assert "def fetch(store: KeyValue)" in out
    assert "with store.lock:" in out
    assert "for item in store.items():" in out
    assert "[x for x in store.stream()]" in out


def test_async_branch_keeps_the_else_branch() -> None:
    out = convert(
        """
        def run():
            if True:  # ASYNC
                a = 1
            else:
                b = 2
            if True:  # ASYNC
                only_async = 3
            if True:
                kept = 4
        """
    )
    assert "a = 1" not in out
    assert "b = 2" in out
    assert "only_async" not in out
    assert "kept = 4" in out


def test_module_and_name_renames() -> None:
    out = convert(
        """
        import asyncio
        from key_value.aio.stores.base import BaseStore
        import key_value.aio.protocols

        class Store(AsyncThing):
            async def __aenter__(self):
                self.lock = asyncio.Lock()
                await asyncio.sleep(1)
        """
    )
    assert "from key_value.sync.stores.base import BaseStore" in out
    assert "import key_value.sync.protocols" in out
    assert "class Store(Thing)" in out
    assert "def __enter__(self)" in out
    assert "threading.Lock()" in out
    assert "time.sleep(1)" in out
    assert "import threading" in out
    assert "import time" in out


def test_comments_and_docstrings_survive() -> None:
    out = convert(
        '''
        """Works with AsyncKeyValue."""
        # a leading comment
        x = 1  # an inline comment
        '''
    )
    assert '"""Works with KeyValue."""' in out
    assert "# a leading comment" in out
    assert "# an inline comment" in out


def test_comments_for_one_twin() -> None:
    out = convert(
        """
        def run():
            # async: only the event loop sees this
            # sync: threads share this
            x = 1  # async: an inline note for the async twin
            # a note for both
            return x
        """
    )
    assert "event loop" not in out
    assert "inline note" not in out
    assert "# threads share this" in out
    assert "sync:" not in out
    assert "# a note for both" in out


def test_generated_comments_do_not_name_the_other_twin() -> None:
    naming = re.compile(r"async twin|# (async|sync):", re.IGNORECASE)
    offenders: list[str] = []
    for path in sorted((ROOT / "key-value" / "key-value-sync").rglob("*.py")):
        with path.open("rb") as file:
            offenders.extend(
                f"{path.relative_to(ROOT)}:{token.start[0]}: {token.string}"
                for token in tokenize.tokenize(file.readline)
                if token.type == tokenize.COMMENT and token.start[0] > 3 and naming.search(token.string)
            )
    assert offenders == []


def test_every_async_module_has_a_twin() -> None:
    aio = ROOT / "key-value" / "key-value-aio"
    sync = ROOT / "key-value" / "key-value-sync"
    for aio_dir, sync_dir in generator.TREES:
        sources = {p.relative_to(aio / aio_dir) for p in (aio / aio_dir).rglob("*.py")}
        twins = {p.relative_to(sync / sync_dir) for p in (sync / sync_dir).rglob("*.py")}
        assert sources == twins


@pytest.mark.timeout(120)
def test_committed_sync_tree_is_fresh() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_sync_library.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

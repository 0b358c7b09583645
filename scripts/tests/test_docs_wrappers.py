"""docs/wrappers.md: every example runs as written, and the capability table says what the code does.

Examples run with top-level await, as in `python -m asyncio`. The table is checked by building each
wrapper over stores with every combination of optional segments and comparing `capabilities`.
"""

from __future__ import annotations

import ast
import asyncio
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import CodeType, ModuleType

import pytest
from cryptography.fernet import Fernet

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.wrappers.append_only import AppendOnlyWrapper
from key_value.aio.wrappers.base import ALL_SEGMENTS, BaseWrapper
from key_value.aio.wrappers.compression import CompressionWrapper
from key_value.aio.wrappers.default_value import DefaultValueWrapper
from key_value.aio.wrappers.encryption import FernetEncryptionWrapper
from key_value.aio.wrappers.fallback import FallbackWrapper
from key_value.aio.wrappers.immutable_cache import ImmutableCacheWrapper
from key_value.aio.wrappers.limit_size import LimitSizeWrapper
from key_value.aio.wrappers.logging import LoggingWrapper
from key_value.aio.wrappers.passthrough_cache import PassthroughCacheWrapper
from key_value.aio.wrappers.prefix_collections import PrefixCollectionsWrapper
from key_value.aio.wrappers.prefix_keys import PrefixKeysWrapper
from key_value.aio.wrappers.read_only import ReadOnlyWrapper
from key_value.aio.wrappers.retry import RetryWrapper
from key_value.aio.wrappers.routing import CollectionRoutingWrapper, RoutingWrapper
from key_value.aio.wrappers.single_collection import SingleCollectionWrapper
from key_value.aio.wrappers.statistics import StatisticsWrapper
from key_value.aio.wrappers.timeout import TimeoutWrapper
from key_value.aio.wrappers.ttl_clamp import TTLClampWrapper
from key_value.aio.wrappers.validated_cache import ValidatedCacheWrapper
from key_value.aio.wrappers.write_once import WriteOnceWrapper
from key_value.shared.capabilities import Capability

DOC = Path(__file__).resolve().parents[2] / "docs" / "wrappers.md"
_BLOCK = re.compile(r"^### (?P<title>.+?)\n.*?^```python\n(?P<code>.*?)^```", re.MULTILINE | re.DOTALL)
_TABLE = re.compile(r"<!-- capability-table: start -->\n(?P<table>.*?)<!-- capability-table: end -->", re.DOTALL)
_COLUMNS = {
    "keys": Capability.KEYS,
    "collections": Capability.COLLECTIONS,
    "destroy": Capability.DESTROY,
    "destroy_collection": Capability.DESTROY_COLLECTION,
    "cull": Capability.CULL,
}
_SEGMENT_COLUMNS = list(_COLUMNS)
#: The lifecycle column's wording: which of the stores a factory made (in order) the wrapper manages.
_LIFECYCLE = {
    "wrapped store": slice(0, 1),
    "primary and fallback": slice(0, 2),
    "primary and cache": slice(0, 2),
    "`default_store` only": slice(0, 1),
    "every store, once each": slice(0, None),
}

Factory = Callable[[Callable[[], AsyncKeyValue]], tuple[BaseWrapper, list[AsyncKeyValue]]]


def _one(build: Callable[[AsyncKeyValue], BaseWrapper]) -> Factory:
    def factory(make: Callable[[], AsyncKeyValue]) -> tuple[BaseWrapper, list[AsyncKeyValue]]:
        store = make()
        return build(store), [store]

    return factory


def _two(build: Callable[[AsyncKeyValue, AsyncKeyValue], BaseWrapper]) -> Factory:
    def factory(make: Callable[[], AsyncKeyValue]) -> tuple[BaseWrapper, list[AsyncKeyValue]]:
        first, second = make(), make()
        return build(first, second), [first, second]

    return factory


FACTORIES: dict[str, Factory] = {
    "CompressionWrapper": _one(CompressionWrapper),
    "DefaultValueWrapper": _one(lambda store: DefaultValueWrapper(store, default_value={})),
    "FernetEncryptionWrapper": _one(lambda store: FernetEncryptionWrapper(store, fernet=Fernet(Fernet.generate_key()))),
    "FallbackWrapper": _two(FallbackWrapper),
    "LimitSizeWrapper": _one(lambda store: LimitSizeWrapper(store, max_size=100)),
    "LoggingWrapper": _one(LoggingWrapper),
    "PassthroughCacheWrapper": _two(PassthroughCacheWrapper),
    "PrefixCollectionsWrapper": _one(lambda store: PrefixCollectionsWrapper(store, "p")),
    "PrefixKeysWrapper": _one(lambda store: PrefixKeysWrapper(store, "p")),
    "ReadOnlyWrapper": _one(ReadOnlyWrapper),
    "RetryWrapper": _one(RetryWrapper),
    "RoutingWrapper": _two(lambda default, other: RoutingWrapper(lambda name: other if name == "o" else None, default)),
    "CollectionRoutingWrapper": _two(lambda default, other: CollectionRoutingWrapper({"o": other}, default)),
    "SingleCollectionWrapper": _one(lambda store: SingleCollectionWrapper(store, "one")),
    "StatisticsWrapper": _one(StatisticsWrapper),
    "TimeoutWrapper": _one(TimeoutWrapper),
    "TTLClampWrapper": _one(lambda store: TTLClampWrapper(store, 1, 100)),
    "WriteOnceWrapper": _one(WriteOnceWrapper),
    "AppendOnlyWrapper": _one(AppendOnlyWrapper),
    "ValidatedCacheWrapper": _one(ValidatedCacheWrapper),
    "ImmutableCacheWrapper": _one(ImmutableCacheWrapper),
}


class Limited(BaseWrapper):
    """A MemoryStore that offers only the given segments, and the conditional one (ValidatedCacheWrapper needs it)."""

    supported_segments = ALL_SEGMENTS

    def __init__(self, segments: Capability) -> None:
        super().__init__(MemoryStore())
        self._segments = segments

    @property
    def capabilities(self) -> Capability:
        return super().capabilities & (self._segments | Capability.CONDITIONAL)


def _subsets() -> list[Capability]:
    flags = list(_COLUMNS.values())
    found: list[Capability] = []
    for mask in range(2 ** len(flags)):
        combined = Capability.NONE
        for index, flag in enumerate(flags):
            if mask >> index & 1:
                combined |= flag
        found.append(combined)
    return found


def table() -> dict[str, list[str]]:
    """{wrapper: [keys, collections, destroy, destroy_collection, cull, lifecycle] cells}."""
    match = _TABLE.search(DOC.read_text(encoding="utf-8"))
    assert match is not None, "the capability table markers are missing"
    rows = [line.strip().strip("|").split("|") for line in match["table"].strip().splitlines()]
    header = [cell.strip() for cell in rows[0]]
    assert header == ["wrapper", *_SEGMENT_COLUMNS, "async with / close"]
    return {row[0].strip(): [cell.strip() for cell in row[1:]] for row in rows[2:]}


def _needs(cell: str, column: str) -> Capability | None:
    """The inner segments a cell says the wrapper needs to offer its column; None for "never"."""
    if cell == "—":
        return None
    if cell == "✓":
        return _COLUMNS[column]
    via = re.fullmatch(r"\*via (?P<names>[a-z_, ]+)\*", cell)
    assert via is not None, f"unknown cell {cell!r}"
    needed = Capability.NONE
    for name in via["names"].split(","):
        needed |= _COLUMNS[name.strip()]
    return needed


def test_table_lists_every_wrapper() -> None:
    assert list(table()) == list(FACTORIES)


@pytest.mark.parametrize("name", list(FACTORIES))
def test_table_row_matches_the_code(name: str) -> None:
    cells = table()[name]
    for inner in _subsets():
        wrapper, _ = FACTORIES[name](lambda inner=inner: Limited(inner))
        for column, cell in zip(_SEGMENT_COLUMNS, cells[:-1], strict=True):
            needed = _needs(cell, column)
            expected = needed is not None and needed in inner
            offered = _COLUMNS[column] in wrapper.capabilities
            assert offered == expected, f"{name}.{column} over a store with {inner}: table says {cell!r}"
    full, stores = FACTORIES[name](MemoryStore)
    managed = stores[_LIFECYCLE[cells[-1]]]
    assert [id(store) for store in full.wrapped_stores] == [id(store) for store in managed]


def examples() -> dict[str, str]:
    """{section title: code} for the first python block of every `###` section."""
    return {match["title"]: match["code"] for match in _BLOCK.finditer(DOC.read_text(encoding="utf-8"))}


@pytest.mark.parametrize(("title", "code"), examples().items(), ids=list(examples()))
def test_example_runs(title: str, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: CodeType = compile(code, f"{DOC.name}: {title}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    # A registered module, so dataclasses and pydantic can resolve the example's annotations.
    module = ModuleType("docs_example_" + re.sub(r"\W", "_", title))
    monkeypatch.setitem(sys.modules, module.__name__, module)

    async def run() -> None:
        result = eval(compiled, module.__dict__)  # our own documentation
        if asyncio.iscoroutine(result):
            await result

    asyncio.run(run())


def test_every_wrapper_and_adapter_has_an_example() -> None:
    adapters = ["PydanticAdapter", "BaseModelAdapter", "DataclassAdapter", "RaiseOnMissingAdapter"]
    assert list(examples()) == [*FACTORIES, *adapters]

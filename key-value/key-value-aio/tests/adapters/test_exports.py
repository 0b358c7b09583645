"""The adapters live at py-key-value-aio's import paths; the package exports them on first use."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from key_value.aio import adapters
from key_value.aio.adapters.base import BasePydanticAdapter
from key_value.aio.adapters.base_model import BaseModelAdapter
from key_value.aio.adapters.dataclass import DataclassAdapter
from key_value.aio.adapters.pydantic import PydanticAdapter
from key_value.aio.adapters.pydantic.base import BasePydanticAdapter as CoreAdapter
from key_value.aio.adapters.raise_on_missing import RaiseOnMissingAdapter

EXPORTED = {
    "BaseModelAdapter": BaseModelAdapter,
    "DataclassAdapter": DataclassAdapter,
    "PydanticAdapter": PydanticAdapter,
    "RaiseOnMissingAdapter": RaiseOnMissingAdapter,
}


@pytest.mark.parametrize("name", EXPORTED)
def test_package_exports(name: str) -> None:
    assert getattr(adapters, name) is EXPORTED[name]
    assert name in adapters.__all__
    module = importlib.import_module(f"{EXPORTED[name].__module__.rsplit('.', 1)[0]}.adapter")
    assert getattr(module, name) is EXPORTED[name]


def test_one_core_under_both_paths() -> None:
    assert BasePydanticAdapter is CoreAdapter
    for adapter in (BaseModelAdapter, DataclassAdapter, PydanticAdapter):
        assert issubclass(adapter, BasePydanticAdapter)


@pytest.mark.parametrize("name", ["NoSuchAdapter", "adapter"])
def test_unknown_name(name: str) -> None:
    with pytest.raises(AttributeError, match=name):
        getattr(adapters, name)


def test_raise_on_missing_needs_no_pydantic() -> None:
    """With pydantic unimportable, the package and its pydantic-free adapter still import."""
    code = "\n".join(
        [
            "import sys; sys.modules['pydantic'] = None",
            "from key_value.aio.adapters import RaiseOnMissingAdapter",
            "try:",
            "    from key_value.aio.adapters import PydanticAdapter",
            "except ImportError:",
            "    print('ok')",
        ]
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "ok"

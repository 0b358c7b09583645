"""Dump the public API of an installed `key_value.aio` (or `key_value.sync`) package as JSON.

Run with the python of whichever environment should be described: ours (`uv run`) or py-key-value-aio's
own venv (`scripts/compat_env.py`). It imports every module under the root package, and for each one
records its public names; for each class defined in the package, its bases (by name, along the MRO),
its constructor and its public methods with every parameter's name, kind and default. The comparison
lives in `scripts/tests/test_api_surface.py`; this file only describes, so it runs on either package.

Usage: `python scripts/api_surface.py key_value.aio > surface.json`
"""

from __future__ import annotations

import enum
import importlib
import inspect
import json
import pkgutil
import sys
import types
import warnings
from typing import Any, TypeVar, cast

#: Parameter kinds by the names the report uses.
KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional-only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional-or-keyword",
    inspect.Parameter.VAR_POSITIONAL: "*args",
    inspect.Parameter.KEYWORD_ONLY: "keyword-only",
    inspect.Parameter.VAR_KEYWORD: "**kwargs",
}


def default_text(value: Any) -> str | None:
    """A stable text for a default: reprs of plain values, the qualified name of classes and functions."""
    if value is inspect.Parameter.empty:
        return None
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        return f"<{getattr(value, '__qualname__', repr(value))}>"
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    text = repr(value)
    if " at 0x" in text:  # an object whose repr is its address says nothing stable
        return f"<{type(value).__name__} instance>"
    return text


def signature(function: Any) -> list[dict[str, Any]] | None:
    try:
        found = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    return [
        {"name": parameter.name, "kind": KINDS[parameter.kind], "default": default_text(parameter.default)}
        for parameter in found.parameters.values()
        if parameter.name not in ("self", "cls")
    ]


def describe_class(cls: type, root: str, protocols: dict[str, type]) -> dict[str, Any]:
    methods: dict[str, Any] = {}
    for name in sorted(dir(cls)):
        if name.startswith("_") and name not in ("__init__", "__aenter__", "__aexit__", "__enter__", "__exit__"):
            continue
        owner = next((base for base in cls.__mro__ if name in vars(base)), None)
        if owner is None or not owner.__module__.startswith(root.split(".", maxsplit=1)[0]):
            continue  # inherited from object, Exception, a client library...
        attribute: object = inspect.getattr_static(owner, name)
        if isinstance(attribute, (staticmethod, classmethod)):
            attribute = cast("object", attribute.__func__)
        if isinstance(attribute, property):
            methods[name] = {"property": True}
        elif callable(attribute):
            methods[name] = {"parameters": signature(attribute), "async": inspect.iscoroutinefunction(attribute)}
    bases = [base.__name__ for base in cls.__mro__[1:] if base is not object]
    # A runtime-checkable protocol the class satisfies counts as a base: `isinstance` checks pass.
    bases += sorted(name for name, protocol in protocols.items() if name not in bases and _satisfies(cls, protocol))
    return {"kind": "class", "defined_in": f"{cls.__module__}:{cls.__qualname__}", "bases": bases, "methods": methods}


def _satisfies(cls: type, protocol: type) -> bool:
    try:
        return issubclass(cls, protocol)
    except TypeError:  # a protocol with data members cannot be checked against a class
        return False


def runtime_protocols(root: str) -> dict[str, type]:
    """The runtime-checkable protocols of `<root>.protocols.key_value`, by name."""
    try:
        module = importlib.import_module(f"{root}.protocols.key_value")
    except ImportError:
        return {}
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type) and getattr(value, "_is_runtime_protocol", False)
    }


def describe_module(module: types.ModuleType, root: str, protocols: dict[str, type]) -> dict[str, Any]:
    """Public names: `__all__`; else, in a package, every public name; in a plain module, what it defines."""
    exported = getattr(module, "__all__", None)
    is_package = hasattr(module, "__path__")
    if exported is not None:
        names = sorted(exported)
    else:
        names = sorted(
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and (is_package or getattr(value, "__module__", None) == module.__name__)
            and not isinstance(value, TypeVar)
        )
    described: dict[str, Any] = {}
    for name in names:
        value = getattr(module, name, None)
        if isinstance(value, types.ModuleType):
            continue
        if isinstance(value, type) and value.__module__.startswith("key_value"):
            described[name] = describe_class(value, root, protocols)
        elif callable(value) and getattr(value, "__module__", "").startswith("key_value"):
            defined_in = f"{value.__module__}:{getattr(value, '__qualname__', name)}"
            described[name] = {"kind": "function", "defined_in": defined_in, "parameters": signature(value)}
        elif exported is not None or getattr(value, "__module__", "").startswith("key_value"):
            described[name] = {"kind": "value"}
    return {"all": exported is not None, "names": described}


def walk(root: str) -> dict[str, Any]:
    package = importlib.import_module(root)
    protocols = runtime_protocols(root)
    modules: dict[str, Any] = {root: describe_module(package, root, protocols)}
    failed: dict[str, str] = {}
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{root}."):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = importlib.import_module(info.name)
        except Exception as error:  # a store whose client is not installed; reported, not fatal
            failed[info.name] = f"{type(error).__name__}: {error}"
            continue
        modules[info.name] = describe_module(module, root, protocols)
    return {"root": root, "modules": modules, "import_errors": failed}


def main() -> None:
    root = sys.argv[1] if len(sys.argv) > 1 else "key_value.aio"
    json.dump(walk(root), sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()

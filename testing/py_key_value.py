"""The real py-key-value-aio 0.4.x, in a virtual environment of its own, driven as a subprocess.

Cross-package tests write entries with it and read them with our stores, and the other way round:
`run(store, options, operations)` builds one of its stores in a fresh process (`py_key_value_driver.py`,
run by that venv's python), applies the operations in order and returns what each one gave. The venv
is created once per checkout (under `.cache/compat`, shared with `make consumers`' API comparison),
under a file lock, so parallel test workers wait for one install instead of racing it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".cache" / "compat" / "py-key-value-aio-0.4"
#: Every extra of the stores and helpers we have, so that their upstream modules import.
REQUIREMENT = (
    "py-key-value-aio[memory,disk,filetree,redis,valkey,memcached,postgresql,s3,dynamodb,pydantic,"
    "wrappers-encryption]==0.4.*"
)
DRIVER = Path(__file__).with_name("py_key_value_driver.py")


def _uv() -> list[str]:
    """uv as `uv run` announces it (`$UV`), else from PATH, else the copy `make uv` installs."""
    found = os.environ.get("UV") or shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def python() -> Path:
    """The python of the venv holding py-key-value-aio 0.4.x; created and filled on first use."""
    interpreter = VENV / "bin" / "python"
    marker = VENV / "installed.txt"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / f"{VENV.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if interpreter.exists() and marker.exists() and marker.read_text() == REQUIREMENT:
            return interpreter
        if VENV.exists():
            shutil.rmtree(VENV)
        subprocess.run([*_uv(), "venv", "--quiet", "--python", sys.executable, str(VENV)], check=True)
        subprocess.run([*_uv(), "pip", "install", "--quiet", "--python", str(interpreter), REQUIREMENT], check=True)
        marker.write_text(REQUIREMENT)
    return interpreter


def site_packages() -> Path:
    """Where the venv's packages are (to read py-key-value's installed source)."""
    (found,) = (VENV / "lib").glob("python3*/site-packages")
    return found


class UpstreamError(RuntimeError):
    """The driver failed: py-key-value raised, or the store could not be built."""


def run(store: str, options: dict[str, Any], operations: list[dict[str, Any]]) -> list[Any]:
    """Apply `operations` to py-key-value's `store` built with `options`; each operation's result, in order.

    Operations (dicts, `collection` optional everywhere):
    `{"op": "put", "key", "value", "ttl"?}`, `{"op": "put_many", "keys", "values", "ttl"?}`,
    `{"op": "get", "key"}` -> value or None, `{"op": "get_many", "keys"}` -> list,
    `{"op": "ttl", "key"}` -> [value, seconds or None], `{"op": "delete", "key"}` -> bool,
    `{"op": "keys"}` -> sorted list (stores that enumerate), `{"op": "collections"}` -> sorted list,
    `{"op": "sleep", "seconds"}`.
    See `py_key_value_driver.py` for the stores and their options.
    """
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PY_KEY_VALUE_DISABLE_BEARTYPE"] = "1"
    spec = json.dumps({"store": store, "options": options, "operations": operations})
    done = subprocess.run(
        [str(python()), str(DRIVER)],
        input=spec,
        capture_output=True,
        text=True,
        env=env,
        cwd=DRIVER.parent,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise UpstreamError(f"py-key-value driver failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return cast("list[Any]", json.loads(done.stdout))


__all__ = ["REQUIREMENT", "VENV", "UpstreamError", "python", "run", "site_packages"]

"""py-key-value's sanitizers and strategies give exactly py-key-value-aio 0.4.6's names.

`data/py_key_value_0_4_names.json` holds the answers py-key-value-aio 0.4.6 gave for every case below
(run in its own venv, the FileTree strategies for the directory `/tmp`); each case is computed again
with ours and must match, error cases included (upstream's `ValueError` is our `InvalidArgumentError`,
which is also a `ValueError`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from key_value.shared.compat.sanitization import (
    AlwaysHashStrategy,
    HashExcessLengthStrategy,
    HybridSanitizationStrategy,
)
from key_value.shared.compat.sanitize import (
    ALPHANUMERIC_CHARACTERS,
    HashFragmentMode,
    hash_excess_length,
    sanitize_characters_in_string,
    sanitize_string,
)
from key_value.shared.compat.strategies import (
    FileTreeV1CollectionSanitizationStrategy,
    FileTreeV1KeySanitizationStrategy,
    MemcachedV1KeySanitizationStrategy,
    S3CollectionSanitizationStrategy,
    S3KeySanitizationStrategy,
)
from key_value.shared.errors import BaseKeyValueError, InvalidArgumentError, InvalidKeyError

ANSWERS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "py_key_value_0_4_names.json").read_text(encoding="utf-8")
)["answers"]

NAMES = [
    "simple",
    "with space",
    "a::b",
    "ünïcödé-名前",
    "S_reserved",
    "x" * 300,
    "%%%",
    "-",
    "__",
    "a/b\\c",
    "dot.name",
    "🙂🙂🙂",
    "A" * 240,
    "B" * 241,
    "é" * 200,
    "mixed-Case_09",
    "",
]
FILE_CHARACTERS = ALPHANUMERIC_CHARACTERS + "_"


def _functions() -> dict[str, Callable[[str], Any]]:
    cases: dict[str, Callable[[str], Any]] = {}
    for mode in HashFragmentMode:
        for limit in (16, 40, 255):
            cases[f"ss-{mode.value}-{limit}"] = lambda v, m=mode, n=limit: sanitize_string(
                v, n, allowed_characters=FILE_CHARACTERS, hash_fragment_mode=m
            )
            cases[f"ssb-{mode.value}-{limit}"] = lambda v, m=mode, n=limit: sanitize_string(
                v, n, allowed_characters=None, hash_fragment_mode=m, length_is_bytes=True
            )
        for limit in (12, 40, 240):
            cases[f"hy-{mode.value}-{limit}"] = lambda v, m=mode, n=limit: HybridSanitizationStrategy(
                max_length=n, allowed_characters=ALPHANUMERIC_CHARACTERS, hash_fragment_mode=m
            ).sanitize(v)
            cases[f"hyn-{mode.value}-{limit}"] = lambda v, m=mode, n=limit: HybridSanitizationStrategy(
                max_length=n, hash_fragment_mode=m
            ).sanitize(v)
    cases |= {
        "hel": lambda v: hash_excess_length(v, 20),
        "helb": lambda v: hash_excess_length(v, 20, length_is_bytes=True),
        "sc": lambda v: sanitize_characters_in_string(v, ALPHANUMERIC_CHARACTERS, "_"),
        "hx": lambda v: HashExcessLengthStrategy(30).sanitize(v),
        "ah": lambda v: AlwaysHashStrategy(20).sanitize(v),
        "hxv": lambda v: HashExcessLengthStrategy(30).validate(v),
        "ftk": lambda v: FileTreeV1KeySanitizationStrategy("/tmp").sanitize(v),
        "ftc": lambda v: FileTreeV1CollectionSanitizationStrategy("/tmp").sanitize(v),
        "mc": lambda v: MemcachedV1KeySanitizationStrategy().sanitize(v),
        "s3k": lambda v: S3KeySanitizationStrategy().sanitize(v),
        "s3c": lambda v: S3CollectionSanitizationStrategy(30).sanitize(v),
    }
    return cases


CASES = [(f"{name}|{value}", function, value) for name, function in _functions().items() for value in NAMES]
UPSTREAM_ERRORS: dict[str, type[BaseKeyValueError]] = {
    "ValueError": InvalidArgumentError,
    "InvalidKeyError": InvalidKeyError,
}


def test_every_case_has_an_upstream_answer() -> None:
    assert {case for case, _, _ in CASES} == set(ANSWERS)


@pytest.mark.parametrize(("case", "function", "value"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_same_answer_as_py_key_value(case: str, function: Callable[[str], Any], value: str) -> None:
    expected = ANSWERS[case]
    if isinstance(expected, dict):
        error = UPSTREAM_ERRORS[expected["error"]]
        with pytest.raises(error):
            function(value)
        if expected["error"] == "ValueError":
            with pytest.raises(ValueError):  # noqa: PT011  (the builtin py-key-value raised)
                function(value)
    else:
        assert function(value) == expected

"""Cache keys: the quick binding and encoding give exactly the key the general path (Signature.bind and a
sorted json.dumps) gives, for any JSON-like arguments and any way of passing them."""

from __future__ import annotations

import hashlib
import inspect
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from key_value.shared.cache import MAX_READABLE_KEY, KeyMaker, _key_value  # pyright: ignore[reportPrivateUsage]


def general_key(maker: KeyMaker, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    bound = inspect.signature(func).bind(*args, **kwargs)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.pop("self", None)
    canonical = json.dumps(
        {name: _key_value(value, name) for name, value in arguments.items()},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    readable = f"{maker.prefix}:{canonical}"
    if len(readable) <= MAX_READABLE_KEY:
        return readable
    return f"{maker.prefix}:sha256:{hashlib.sha256(canonical.encode()).hexdigest()}"


def plain(zeta: Any, alpha: Any = 1, *, mid: Any = None) -> None:
    del zeta, alpha, mid


def method(self: Any, b: Any, a: Any = "x") -> None:
    del self, b, a


def variadic(a: Any, /, *rest: Any, **named: Any) -> None:
    del a, rest, named


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8,
)


@given(zeta=values, alpha=values, mid=values, style=st.integers(min_value=0, max_value=3))
def test_quick_key_matches_the_general_one(zeta: Any, alpha: Any, mid: Any, style: int) -> None:
    maker = KeyMaker(plain, namespace=None, key=None)
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((zeta,), {}),
        ((zeta, alpha), {"mid": mid}),
        ((), {"mid": mid, "zeta": zeta}),
        ((zeta,), {"alpha": alpha}),
    ]
    args, kwargs = calls[style]
    assert maker(args, kwargs) == general_key(maker, plain, args, kwargs)


@given(b=values, a=values)
def test_quick_key_of_a_method_leaves_self_out(b: Any, a: Any) -> None:
    maker = KeyMaker(method, namespace=None, key=None)
    assert maker((object(), b), {"a": a}) == general_key(maker, method, (object(), b), {"a": a})
    assert maker((object(), b, a), {}) == maker(("other instance", b), {"a": a})


@given(a=values, rest=st.lists(values, max_size=3), named=st.dictionaries(st.text(min_size=1, max_size=5), values))
def test_variadic_signature_takes_the_general_path(a: Any, rest: list[Any], named: dict[str, Any]) -> None:
    named.pop("a", None)
    maker = KeyMaker(variadic, namespace=None, key=None)
    assert maker((a, *rest), named) == general_key(maker, variadic, (a, *rest), named)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1, 2, 3), {}), ((1,), {"zeta": 2}), ((1,), {"unknown": 2})],
)
def test_calls_that_do_not_fit_raise_the_signature_error(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    maker = KeyMaker(plain, namespace=None, key=None)
    with pytest.raises(TypeError):
        maker(args, kwargs)

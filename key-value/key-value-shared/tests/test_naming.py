"""Name encodings are injective, path-safe and reversible where they promise to be."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from key_value.shared.naming import (
    compound_key,
    compound_prefix,
    decode_path_component,
    is_hashed_component,
    path_component,
    split_compound_key,
)

names = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=300)


@given(names, names)
def test_compound_key_round_trips(collection: str, key: str) -> None:
    compound = compound_key(collection, key)
    assert split_compound_key(compound) == (collection, key)
    assert compound.startswith(compound_prefix(collection))


@given(names, names, names, names)
def test_compound_key_injective(c1: str, k1: str, c2: str, k2: str) -> None:
    if (c1, k1) != (c2, k2):
        assert compound_key(c1, k1) != compound_key(c2, k2)


@given(names)
def test_path_component_is_safe(name: str) -> None:
    component = path_component(name)
    assert len(component.encode()) <= 200
    assert "/" not in component
    assert "\\" not in component
    assert component not in (".", "..")
    assert component == component.lower() or "%" in component or is_hashed_component(component)
    if not is_hashed_component(component):
        assert decode_path_component(component) == name


@given(names, names)
def test_path_component_injective(a: str, b: str) -> None:
    if a != b:
        assert path_component(a) != path_component(b)


def test_long_names_hash() -> None:
    component = path_component("k" * 1000)
    assert is_hashed_component(component)
    assert component.startswith("kkk")
    assert path_component("A") != path_component("a")

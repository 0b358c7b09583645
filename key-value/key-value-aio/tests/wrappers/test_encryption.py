"""FernetEncryptionWrapper: the contract around each inner store; ciphertexts bound to their place; bad data refused."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.stores.memory import MemoryStore
from key_value.aio.wrappers.base import BaseWrapper
from key_value.aio.wrappers.encryption import BaseEncryptionWrapper, FernetEncryptionWrapper
from key_value.aio.wrappers.encryption.fernet import derive_key
from key_value.aio.wrappers.prefix_collections import PrefixCollectionsWrapper
from key_value.shared.capabilities import DEFAULT_COLLECTION_NAME
from key_value.shared.errors import (
    CorruptedDataError,
    DecryptionError,
    EncryptionError,
    EncryptionVersionError,
    InvalidArgumentError,
    SerializationError,
)

from ..support.contract import ContractTests

KEY = Fernet.generate_key()
SECRET: dict[str, Any] = {"card": "4111-1111", "nested": {"pin": 1234}}


class TestFernetEncryption(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> FernetEncryptionWrapper:
        return FernetEncryptionWrapper(inner_store, fernet=Fernet(KEY))


class TestFernetEncryptionCustomDefault(ContractTests):
    """The inner store's own default collection is the one ciphertexts written with `collection=None` are bound to."""

    @pytest.fixture
    async def store(self) -> FernetEncryptionWrapper:
        return FernetEncryptionWrapper(MemoryStore(default_collection="custom"), fernet=Fernet(KEY))


class TestStackOfThree(ContractTests):
    @pytest.fixture
    async def store(self, inner_store: AsyncKeyValue) -> FernetEncryptionWrapper:
        layers: AsyncKeyValue = inner_store
        for _ in range(2):
            layers = FernetEncryptionWrapper(layers, fernet=Fernet(Fernet.generate_key()))
        return FernetEncryptionWrapper(layers, fernet=Fernet(KEY))


def encrypted(inner: MemoryStore) -> tuple[MemoryStore, FernetEncryptionWrapper]:
    return inner, FernetEncryptionWrapper(inner, fernet=Fernet(KEY))


async def test_stored_values_are_encrypted() -> None:
    inner, store = encrypted(MemoryStore())
    await store.put("k", SECRET)
    stored = await inner.get("k")
    assert stored is not None
    assert set(stored) == {"__encrypted_data__", "__encryption_version__"}
    assert stored["__encryption_version__"] == 2
    assert "4111" not in json.dumps(stored)
    assert await store.get("k") == SECRET


@pytest.mark.parametrize(
    ("source", "target"),
    [(("c", "a"), ("c", "b")), (("c", "a"), ("d", "a")), (("c", "a"), ("d", "b"))],
    ids=["other-key", "other-collection", "both"],
)
async def test_ciphertexts_are_bound_to_their_collection_and_key(
    source: tuple[str, str], target: tuple[str, str]
) -> None:
    inner, store = encrypted(MemoryStore())
    await store.put(source[1], SECRET, collection=source[0])
    stored = await inner.get(source[1], collection=source[0])
    assert stored is not None
    await inner.put(target[1], stored, collection=target[0])
    with pytest.raises(DecryptionError):
        await store.get(target[1], collection=target[0])
    with pytest.raises(DecryptionError):
        await store.get_many([target[1]], collection=target[0])
    with pytest.raises(DecryptionError):
        await store.ttl(target[1], collection=target[0])
    with pytest.raises(DecryptionError):
        await store.ttl_many([target[1]], collection=target[0])
    assert await store.get(source[1], collection=source[0]) == SECRET


async def test_none_is_bound_to_the_inner_stores_default_collection() -> None:
    inner, store = encrypted(MemoryStore(default_collection="custom"))
    await store.put("k", SECRET)
    assert await store.get("k", collection="custom") == SECRET
    await store.put("named", SECRET, collection="custom")
    assert await store.get("named") == SECRET
    stored = await inner.get("k")
    assert stored is not None
    await inner.put("k", stored, collection=DEFAULT_COLLECTION_NAME)  # the constant is not what None meant here
    with pytest.raises(DecryptionError):
        await store.get("k", collection=DEFAULT_COLLECTION_NAME)


async def test_none_is_bound_to_the_name_the_layer_below_resolves() -> None:
    inner = MemoryStore()
    store = FernetEncryptionWrapper(
        PrefixCollectionsWrapper(inner, "app", default_collection="main"), fernet=Fernet(KEY)
    )
    await store.put("k", SECRET)
    assert await store.get("k", collection="main") == SECRET
    assert await inner.collections() == ["app__main"]


async def test_none_is_bound_to_the_shared_default_when_the_store_names_none() -> None:
    class Anonymous(BaseWrapper):
        """Hides the wrapped store's default collection name."""

        @property
        def default_collection(self) -> str | None:
            return None

    inner = MemoryStore()
    store = FernetEncryptionWrapper(Anonymous(inner), fernet=Fernet(KEY))
    await store.put("k", SECRET)
    assert await store.get("k") == SECRET
    assert await store.get("k", collection=DEFAULT_COLLECTION_NAME) == SECRET


async def test_wrong_key_is_a_decryption_error() -> None:
    inner, store = encrypted(MemoryStore())
    await store.put("k", SECRET)
    other = FernetEncryptionWrapper(inner, fernet=Fernet(Fernet.generate_key()))
    with pytest.raises(DecryptionError):
        await other.get("k")


async def test_multifernet_reads_old_keys() -> None:
    inner, store = encrypted(MemoryStore())
    await store.put("k", SECRET)
    rotated = FernetEncryptionWrapper(inner, fernet=MultiFernet([Fernet(Fernet.generate_key()), Fernet(KEY)]))
    assert await rotated.get("k") == SECRET


def flip(text: str, position: int) -> str:
    """`text` with one base64 character changed at `position`."""
    replacement = "A" if text[position] != "A" else "B"
    return text[:position] + replacement + text[position + 1 :]


@pytest.mark.parametrize("position", [10, 40, -10], ids=["header", "body", "mac"])
async def test_tampered_ciphertext_is_refused(position: int) -> None:
    inner, store = encrypted(MemoryStore())
    await store.put("k", SECRET)
    stored = await inner.get("k")
    assert stored is not None
    token = base64.b64decode(stored["__encrypted_data__"]).decode()
    stored["__encrypted_data__"] = base64.b64encode(flip(token, position).encode()).decode()
    await inner.put("k", stored)
    with pytest.raises(DecryptionError):
        await store.get("k")


@pytest.mark.parametrize(
    "stored",
    [
        {"plain": "value"},
        {"__encrypted_data__": "!!not base64!!", "__encryption_version__": 2},
        {"__encrypted_data__": 5, "__encryption_version__": 2},
        {"__encrypted_data__": "", "__encryption_version__": "2"},
        {"__encrypted_data__": "", "__encryption_version__": 2, "extra": 1},
        {"__encrypted_data__": ""},
    ],
    ids=["plaintext", "bad-base64", "data-not-str", "version-not-int", "extra-field", "no-version"],
)
async def test_malformed_values_are_corrupted_data(stored: dict[str, Any]) -> None:
    inner, store = encrypted(MemoryStore())
    await inner.put("k", stored)
    with pytest.raises(CorruptedDataError):
        await store.get("k")


@pytest.mark.parametrize("plaintext", [b"not json", b"[1]", b'{"c":"default_collection","k":"k"}', b'{"v":{}}'])
async def test_decrypted_garbage_is_corrupted_data(plaintext: bytes) -> None:
    inner, store = encrypted(MemoryStore())
    token = Fernet(KEY).encrypt(plaintext)
    await inner.put("k", {"__encrypted_data__": base64.b64encode(token).decode(), "__encryption_version__": 2})
    with pytest.raises(CorruptedDataError):
        await store.get("k")


@pytest.mark.parametrize("version", [1, 3, 0])
async def test_unknown_versions_raise_version_error(version: int) -> None:
    inner, store = encrypted(MemoryStore())
    await store.put("k", SECRET)
    stored = await inner.get("k")
    assert stored is not None
    await inner.put("k", {**stored, "__encryption_version__": version})
    with pytest.raises(EncryptionVersionError):
        await store.get("k")


async def test_errors_read_as_missing_when_not_raising() -> None:
    inner = MemoryStore()
    store = FernetEncryptionWrapper(inner, fernet=Fernet(KEY), raise_on_decryption_error=False)
    await store.put("good", SECRET, ttl=60)
    await inner.put("plain", {"plain": 1}, ttl=60)
    good = await inner.get("good")
    assert good is not None
    await inner.put("moved", good, ttl=60)
    await inner.put("future", {**good, "__encryption_version__": 3}, ttl=60)
    keys = ["good", "plain", "moved", "future"]
    assert await store.get_many(keys) == [SECRET, None, None, None]
    assert await store.get("moved") is None
    assert await store.ttl("plain") == (None, None)
    results = await store.ttl_many(keys)
    assert [value for value, _ in results] == [SECRET, None, None, None]
    assert [remaining is None for _, remaining in results] == [False, True, True, True]


async def test_source_material_and_salt_derive_the_same_key() -> None:
    inner = MemoryStore()
    writer = FernetEncryptionWrapper(inner, source_material="correct horse", salt="tenant-1")
    reader = FernetEncryptionWrapper(inner, source_material="correct horse", salt="tenant-1")
    await writer.put("k", SECRET)
    assert await reader.get("k") == SECRET
    with pytest.raises(DecryptionError):
        await FernetEncryptionWrapper(inner, source_material="correct horse", salt="tenant-2").get("k")


async def test_key_derived_with_scrypt() -> None:
    """Pins the derivation: a key computed here with scrypt (n=2**17, r=8, p=1) reads what the wrapper derives."""
    scrypt = Scrypt(salt="sälted".encode(), length=32, n=2**17, r=8, p=1)
    expected = base64.urlsafe_b64encode(scrypt.derive("correct horse ✓".encode()))
    assert derive_key("correct horse ✓", "sälted") == expected
    inner = MemoryStore()
    await FernetEncryptionWrapper(inner, fernet=Fernet(expected)).put("k", SECRET)
    assert await FernetEncryptionWrapper(inner, source_material="correct horse ✓", salt="sälted").get("k") == SECRET


def test_derived_keys_depend_on_secret_and_salt() -> None:
    key = derive_key("secret", "salt")
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert derive_key("secret", "salt") == key
    assert derive_key("secret", "salt2") != key
    assert derive_key("secret2", "salt") != key


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"source_material": "secret"},
        {"salt": "salt"},
        {"source_material": "  ", "salt": "salt"},
        {"source_material": "secret", "salt": ""},
        {"source_material": "secret", "salt": "\ud800"},
        {"source_material": 5, "salt": "salt"},
        {"fernet": Fernet(KEY), "salt": "salt"},
        {"fernet": Fernet(KEY), "source_material": "secret", "salt": "salt"},
        {"fernet": KEY},
    ],
    ids=[
        "nothing",
        "no-salt",
        "no-secret",
        "blank-secret",
        "empty-salt",
        "surrogate-salt",
        "secret-not-str",
        "fernet-and-salt",
        "fernet-and-secret",
        "fernet-not-fernet",
    ],
)
def test_bad_options(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError):
        FernetEncryptionWrapper(MemoryStore(), **options)


async def test_bad_values_refused_before_encryption() -> None:
    inner, store = encrypted(MemoryStore())
    with pytest.raises(SerializationError):
        await store.put("k", {"bad": {1, 2}})
    with pytest.raises(SerializationError):
        await store.put_many(["a", "b"], [{"ok": 1}, {"bad": b"x"}])
    with pytest.raises(InvalidArgumentError):
        await store.put_many(["a", "b"], [{"ok": 1}])
    assert await inner.get_many(["k", "a", "b"]) == [None, None, None]


async def test_encryption_failures_are_encryption_errors() -> None:
    def refuse(data: bytes) -> bytes:
        raise RuntimeError("no cipher")

    def identity(data: bytes, version: int) -> bytes:
        return data

    inner = MemoryStore()
    store = BaseEncryptionWrapper(inner, refuse, identity, 1)
    with pytest.raises(EncryptionError):
        await store.put("k", {"v": 1})
    assert await inner.get("k") is None


@pytest.mark.parametrize("version", [0, -1, True, "1"])
def test_bad_encryption_version(version: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        BaseEncryptionWrapper(MemoryStore(), bytes, lambda data, _: data, version)

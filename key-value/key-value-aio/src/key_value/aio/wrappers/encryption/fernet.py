"""`FernetEncryptionWrapper`: values encrypted with Fernet (AES-128-CBC with HMAC-SHA256), bound to their key.

Give a `Fernet`/`MultiFernet` (MultiFernet rotates keys), or a secret `source_material` and a `salt`
from which the key is derived with scrypt (n=2**17, r=8, p=1: memory-hard, the OWASP minimum; about
half a second, once per wrapper). The format is version 2; py-key-value-aio's version 1 (PBKDF2 keys,
values not bound to their key) is refused with `EncryptionVersionError`: read such data with that
package and write it again through this wrapper.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from key_value.aio.protocols.key_value import AsyncKeyValue
from key_value.aio.wrappers.encryption.base import BaseEncryptionWrapper
from key_value.shared.errors import DecryptionError, EncryptionVersionError, InvalidArgumentError

#: The format version this wrapper writes and the only one it reads.
ENCRYPTION_VERSION = 2

_SCRYPT_COST = {"n": 2**17, "r": 8, "p": 1}


class FernetEncryptionWrapper(BaseEncryptionWrapper):
    """Encrypts every value with Fernet, from a given key or one derived from `source_material` and `salt`."""

    def __init__(
        self,
        key_value: AsyncKeyValue,
        *,
        fernet: Fernet | MultiFernet | None = None,
        source_material: str | None = None,
        salt: str | None = None,
        raise_on_decryption_error: bool = True,
    ) -> None:
        if fernet is not None:
            if source_material is not None or salt is not None:
                raise InvalidArgumentError("give either fernet, or source_material and salt, not both")
            if not isinstance(fernet, (Fernet, MultiFernet)):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise InvalidArgumentError(f"fernet must be a Fernet or MultiFernet, not {type(fernet).__name__}")
            cipher = fernet
        else:
            cipher = Fernet(derive_key(_secret("source_material", source_material), _secret("salt", salt)))

        def decrypt(data: bytes, version: int) -> bytes:
            if version != ENCRYPTION_VERSION:
                raise EncryptionVersionError(
                    f"unknown encryption format version {version}; this wrapper reads version {ENCRYPTION_VERSION}"
                )
            try:
                return cipher.decrypt(data)
            except InvalidToken as exc:
                raise DecryptionError("wrong key, or the ciphertext was altered") from exc

        super().__init__(key_value, cipher.encrypt, decrypt, ENCRYPTION_VERSION, raise_on_decryption_error)


def derive_key(source_material: str, salt: str) -> bytes:
    """A Fernet key derived from a secret and a salt with scrypt."""
    kdf = Scrypt(salt=salt.encode("utf-8"), length=32, **_SCRYPT_COST)
    return base64.urlsafe_b64encode(kdf.derive(source_material.encode("utf-8")))


def _secret(name: str, text: str | None) -> str:
    """`text` if it is a non-blank, UTF-8 encodable str; else `InvalidArgumentError`."""
    try:
        if isinstance(text, str) and text.strip() and text.encode("utf-8"):
            return text
    except UnicodeEncodeError:
        pass
    raise InvalidArgumentError(f"{name} must be a non-blank str (or give fernet instead)")

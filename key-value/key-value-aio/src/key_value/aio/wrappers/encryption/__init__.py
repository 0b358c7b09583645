"""Wrappers that encrypt values, each ciphertext bound to its collection and key."""

from key_value.aio.wrappers.encryption.base import BaseEncryptionWrapper
from key_value.aio.wrappers.encryption.fernet import FernetEncryptionWrapper

__all__ = ["BaseEncryptionWrapper", "FernetEncryptionWrapper"]

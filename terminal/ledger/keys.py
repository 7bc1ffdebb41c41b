"""The device key: Ed25519, generated on first start, stored as PEM with mode 0600 (DESIGN.md).

A key file that group or others may read or write is refused (`ConfigError`, exit 2) rather than
tightened: whoever could read it may already hold a copy, so the operator has to know; the message
gives the `chmod 600` that fixes the file (docs/security.md "Files, keys and untrusted input").
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from terminal.errors import LedgerError
from terminal.files import check_private_file, write_private_file

__all__ = ["DeviceKey", "key_id_of"]

# an Ed25519 PKCS#8 PEM is 119 bytes; anything much larger is not this file
_MAX_PEM = 4096


def key_id_of(public_raw: bytes) -> str:
    """platform-api.md 9101 `key_id`: hex of the first 8 bytes of SHA-256 of the raw public key."""
    return hashlib.sha256(public_raw).digest()[:8].hex()


@dataclass(frozen=True)
class DeviceKey:
    """The terminal's signing key."""

    private: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode("ascii")

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_raw)

    def sign_b64(self, data: bytes) -> str:
        """Base64 of the Ed25519 signature of `data` (deterministic: RFC 8032)."""
        return base64.b64encode(self.private.sign(data)).decode("ascii")

    @classmethod
    def load_or_create(cls, path: Path) -> DeviceKey:
        """Load the PEM at `path`, or create it (mode 0600) when it does not exist."""
        try:
            with path.open("rb") as f:
                check_private_file(path, os.fstat(f.fileno()).st_mode, "device key")
                pem = f.read(_MAX_PEM + 1)
        except FileNotFoundError:
            return cls._create(path)
        except OSError as exc:
            raise LedgerError(
                f"device key {path} cannot be read ({exc.strerror}): check its owner and mode 0600"
            ) from None
        if len(pem) > _MAX_PEM:
            raise LedgerError(f"device key {path} is larger than a PEM key: restore it from backup")
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except ValueError:
            raise LedgerError(
                f"device key {path} is not a PEM private key: restore it from backup; a new key "
                "means a new enrolment"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise LedgerError(f"device key {path} is not an Ed25519 key")
        return cls(key)

    @classmethod
    def _create(cls, path: Path) -> DeviceKey:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private_file(path, pem)
        return cls(key)

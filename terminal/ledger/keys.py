"""The device key: Ed25519, generated on first start, stored as PEM with mode 0600 (DESIGN.md)."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from terminal.errors import LedgerError

__all__ = ["DeviceKey", "key_id_of"]


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
            pem = path.read_bytes()
        except FileNotFoundError:
            return cls._create(path)
        except OSError as exc:
            raise LedgerError(
                f"device key {path} cannot be read ({exc.strerror}): check its owner and mode 0600"
            ) from None
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
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        return cls(key)

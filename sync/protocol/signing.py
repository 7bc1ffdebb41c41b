"""The device signature of a ledger entry (platform-api.md "Settlement upload": `ledger.sig`).

A terminal signs the raw 32 bytes of its entry's SHA-256 `hash` with its Ed25519 device key; the
terminal's own `ledger verify` and the platform's upload check both ask `verify_entry_signature`.
"""

from __future__ import annotations

import base64
import binascii
import functools

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = ["verify_entry_signature"]


@functools.lru_cache(maxsize=4096)
def _public_key(public_key_b64: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))


def verify_entry_signature(public_key_b64: str, hash_hex: str, sig_b64: str) -> bool:
    """True when `sig_b64` is the Ed25519 signature, by the key `public_key_b64` (base64 of the
    raw 32 bytes), of the entry hash `hash_hex`; False for a bad signature, key or encoding."""
    try:
        _public_key(public_key_b64).verify(
            base64.b64decode(sig_b64, validate=True), bytes.fromhex(hash_hex)
        )
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True

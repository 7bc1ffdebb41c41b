"""The device key signs with libsodium: the signatures must be OpenSSL's, byte for byte."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.ledger.keys import DeviceKey, verify_signature

KEY = DeviceKey(Ed25519PrivateKey.generate())


@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_a_signature_is_the_one_openssl_makes(data: bytes) -> None:
    ours = KEY.sign_b64(data)
    assert base64.b64decode(ours) == KEY.private.sign(data)  # Ed25519 is deterministic
    assert verify_signature(KEY.public_raw, ours, data)
    assert not verify_signature(KEY.public_raw, ours, data + b"x")


def test_a_key_loaded_from_its_pem_signs_the_same(tmp_path: Path) -> None:
    path = tmp_path / "device_key.pem"
    created = DeviceKey.load_or_create(path)
    loaded = DeviceKey.load_or_create(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    digest = os.urandom(32)
    assert loaded.sign_b64(digest) == created.sign_b64(digest)
    assert loaded.public_raw == created.public_raw

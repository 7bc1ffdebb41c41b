"""The device key signs entry hashes: deterministic Ed25519 signatures that the one entry check
(`sync.protocol.signing.verify_entry_signature`) accepts, and refuses for anything else."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.protocol.signing import verify_entry_signature
from terminal.ledger.keys import DeviceKey

KEY = DeviceKey(Ed25519PrivateKey.generate())
OTHER = DeviceKey(Ed25519PrivateKey.generate())


@settings(max_examples=200)
@given(st.binary(min_size=32, max_size=32))
def test_a_signed_hash_verifies_and_signing_it_again_gives_the_same_bytes(digest: bytes) -> None:
    sig = KEY.sign_b64(digest)
    assert KEY.sign_b64(digest) == sig  # Ed25519 is deterministic (RFC 8032)
    assert len(base64.b64decode(sig)) == 64
    assert verify_entry_signature(KEY.public_b64, digest.hex(), sig)


@settings(max_examples=100)
@given(st.binary(min_size=32, max_size=32), st.integers(0, 31))
def test_a_signature_of_another_hash_or_by_another_key_is_refused(digest: bytes, i: int) -> None:
    sig = KEY.sign_b64(digest)
    changed = bytearray(digest)
    changed[i] ^= 1
    assert not verify_entry_signature(KEY.public_b64, bytes(changed).hex(), sig)
    assert not verify_entry_signature(OTHER.public_b64, digest.hex(), sig)


def test_what_is_not_a_signature_or_a_key_is_refused_not_raised() -> None:
    digest = os.urandom(32).hex()
    sig = KEY.sign_b64(bytes.fromhex(digest))
    assert not verify_entry_signature(KEY.public_b64, digest, "not base64!")
    assert not verify_entry_signature(KEY.public_b64, digest, sig[:-4])
    assert not verify_entry_signature(KEY.public_b64, "zz", sig)
    assert not verify_entry_signature("AAAA", digest, sig)


def test_a_key_loaded_from_its_pem_signs_the_same(tmp_path: Path) -> None:
    path = tmp_path / "device_key.pem"
    created = DeviceKey.load_or_create(path)
    loaded = DeviceKey.load_or_create(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    digest = os.urandom(32)
    assert loaded.sign_b64(digest) == created.sign_b64(digest)
    assert loaded.public_raw == created.public_raw

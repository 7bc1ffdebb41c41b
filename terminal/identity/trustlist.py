"""The e-card trust list (ecard-qr.md "Trust list"): the issuer keys a terminal accepts.

An entry medpos cannot use (unknown algorithm, a key of the wrong kind, a kid that is not the first
8 bytes of SHA-256 over its own key) is skipped with a warning; a document malformed as a whole is
a `TrustListError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from terminal.errors import IdentityError

__all__ = ["TrustKey", "TrustList", "TrustListError", "is_int", "kid_of", "parse_trust_list"]

log = logging.getLogger(__name__)


class TrustListError(IdentityError):
    """A trust-list document is malformed as a whole (not one unusable entry)."""

    def __init__(self, message: str) -> None:
        super().__init__("trust_list", message)


@dataclass(frozen=True, slots=True)
class TrustKey:
    kid: bytes
    alg: str
    issuer: str
    not_before: int
    not_after: int
    key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True, slots=True)
class TrustList:
    version: int
    issued_at: int
    by_kid: Mapping[bytes, tuple[TrustKey, ...]]
    skipped: tuple[str, ...] = ()

    def __len__(self) -> int:
        return sum(len(keys) for keys in self.by_kid.values())


def kid_of(spki_der: bytes) -> bytes:
    """The key id: the first 8 bytes of SHA-256 over the SubjectPublicKeyInfo (DER)."""
    return hashlib.sha256(spki_der).digest()[:8]


def is_int(value: object) -> bool:
    """An integer that is not a bool (JSON and CBOR integers)."""
    return isinstance(value, int) and not isinstance(value, bool)


def parse_trust_list(doc: object, source: str = "trust list") -> TrustList:
    """A trust-list document → the keys medpos can use; unusable entries are skipped and logged."""
    if not isinstance(doc, Mapping):
        raise TrustListError(f"{source}: expected a JSON object with version, issued_at and keys")
    for field in ("version", "issued_at"):
        if not is_int(doc.get(field)):
            raise TrustListError(f"{source}: {field} must be an integer")
    keys = doc.get("keys")
    if not isinstance(keys, list):
        raise TrustListError(f"{source}: keys must be a list (it may be empty)")
    by_kid: dict[bytes, list[TrustKey]] = {}
    skipped: list[str] = []
    for i, entry in enumerate(keys):
        try:
            key = _trust_key(entry)
        except ValueError as exc:
            note = f"{source}: keys[{i}] skipped: {exc}"
            log.warning("%s", note)
            skipped.append(note)
            continue
        by_kid.setdefault(key.kid, []).append(key)
    return TrustList(
        doc["version"],
        doc["issued_at"],
        {kid: tuple(found) for kid, found in by_kid.items()},
        tuple(skipped),
    )


def _trust_key(entry: object) -> TrustKey:
    if not isinstance(entry, Mapping):
        raise ValueError("not an object")
    alg, issuer = entry.get("alg"), entry.get("issuer")
    if alg not in ("ES256", "EdDSA"):
        raise ValueError(f"alg {alg!r} is not ES256 or EdDSA")
    if not isinstance(issuer, str):
        raise ValueError("issuer must be text")
    for field in ("not_before", "not_after"):
        if not is_int(entry.get(field)):
            raise ValueError(f"{field} must be an integer")
    try:
        kid = base64.b64decode(str(entry.get("kid")), validate=True)
        spki = base64.b64decode(str(entry.get("spki")), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"kid or spki is not base64: {exc}") from None
    try:
        public = serialization.load_der_public_key(spki)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"spki is not a public key: {exc}") from None
    if alg == "EdDSA" and not isinstance(public, ed25519.Ed25519PublicKey):
        raise ValueError("an EdDSA entry must hold an Ed25519 key")
    if alg == "ES256" and not (
        isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1)
    ):
        raise ValueError("an ES256 entry must hold a P-256 key")
    if kid != kid_of(spki):
        raise ValueError("kid is not the first 8 bytes of SHA-256 over spki")
    assert isinstance(public, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey)
    return TrustKey(kid, alg, issuer, entry["not_before"], entry["not_after"], public)

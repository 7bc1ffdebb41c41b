"""The e-card issuer side (ecard-qr.md "Minting"): issuer keys, trust-list entries, signed codes.

For demos, tests and the reference platform; a terminal never mints. `mint_ecard` builds exactly
what `verify_ecard` reads: COSE_Sign1 (tag 18) with alg and kid in the protected header, a CWT
payload, zlib, Base45, the `ESC1:` prefix.
"""

from __future__ import annotations

import base64
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import base45
import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from terminal.errors import InvalidInputError
from terminal.identity.ecard import (
    CLAIM_CTI,
    CLAIM_ECARD,
    CLAIM_EXP,
    CLAIM_IAT,
    CLAIM_ISS,
    ECARD_TEXT_FIELDS,
    HDR_ALG,
    HDR_KID,
    PREFIX,
    TAG_COSE_SIGN1,
    kid_of,
)

__all__ = ["IssuerKey", "generate_issuer_key", "load_issuer_key", "mint_ecard", "trust_entry"]

IssuerPrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True, slots=True)
class IssuerKey:
    private: IssuerPrivateKey

    @property
    def alg(self) -> str:
        return "EdDSA" if isinstance(self.private, ed25519.Ed25519PrivateKey) else "ES256"

    @property
    def spki(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def kid(self) -> bytes:
        return kid_of(self.spki)

    def pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def sign(self, message: bytes) -> bytes:
        if isinstance(self.private, ed25519.Ed25519PrivateKey):
            return self.private.sign(message)
        r, s = decode_dss_signature(self.private.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def generate_issuer_key(alg: str = "ES256") -> IssuerKey:
    """A new issuer key: ES256 (P-256) or EdDSA (Ed25519)."""
    if alg == "EdDSA":
        return IssuerKey(ed25519.Ed25519PrivateKey.generate())
    if alg == "ES256":
        return IssuerKey(ec.generate_private_key(ec.SECP256R1()))
    raise InvalidInputError("--alg", "alg", f"{alg!r}: choose ES256 or EdDSA")


def load_issuer_key(pem: bytes, source: str) -> IssuerKey:
    """An issuer private key from PEM (PKCS#8 or traditional, unencrypted)."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            source, "key", f"not an unencrypted PEM private key ({exc})"
        ) from None
    if isinstance(key, ed25519.Ed25519PrivateKey) or (
        isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
    ):
        return IssuerKey(key)
    raise InvalidInputError(source, "key", "an issuer key is P-256 (ES256) or Ed25519 (EdDSA)")


def trust_entry(key: IssuerKey, issuer: str, not_before: int, not_after: int) -> dict[str, Any]:
    """The key's trust-list entry (ecard-qr.md "Trust list")."""
    return {
        "kid": base64.b64encode(key.kid).decode(),
        "alg": key.alg,
        "issuer": issuer,
        "spki": base64.b64encode(key.spki).decode(),
        "not_before": not_before,
        "not_after": not_after,
    }


def mint_ecard(
    key: IssuerKey,
    claims: Mapping[str, Any],
    *,
    iat: int,
    ttl: int = 300,
    cti: bytes | None = None,
    source: str = "claims",
) -> str:
    """The `ESC1:` text of a code for `claims` (the ecard map, with an optional `iss`).

    `iss` defaults to `CN-` + the person's `insuplc_admdvs`.
    """
    if not isinstance(claims, Mapping):
        raise InvalidInputError(source, "", "expected a JSON object (the ecard map)")
    ecard = {k: v for k, v in claims.items() if k != "iss"}
    for field in ECARD_TEXT_FIELDS:
        if not isinstance(ecard.get(field), str):
            raise InvalidInputError(source, field, "required, as text")
    iss = claims.get("iss", f"CN-{ecard['insuplc_admdvs']}")
    if not isinstance(iss, str):
        raise InvalidInputError(source, "iss", "must be text such as CN-330100")
    payload = cbor2.dumps(
        {
            CLAIM_ISS: iss,
            CLAIM_IAT: iat,
            CLAIM_EXP: iat + ttl,
            CLAIM_CTI: cti if cti is not None else os.urandom(16),
            CLAIM_ECARD: ecard,
        }
    )
    alg = -8 if key.alg == "EdDSA" else -7
    protected = cbor2.dumps({HDR_ALG: alg, HDR_KID: key.kid})
    signature = key.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    cose = cbor2.dumps(cbor2.CBORTag(TAG_COSE_SIGN1, [protected, {}, payload, signature]))
    encoded: bytes = base45.b45encode(zlib.compress(cose, 9))
    return PREFIX + encoded.decode()

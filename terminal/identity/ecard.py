"""E-card QR codes, verified offline (ecard-qr.md): the layers and the 13 checks (the trust list is
in `trustlist`).

`verify_ecard(text, trust, now=…)` runs the checks in the spec's order and raises
`EcardError(code)` at the first that fails, with a sentence for the cashier; only a code that passes
all of them becomes a `VerifiedEcard`. Pure apart from the signature arithmetic: no clock (pass
`now`), no database (the replay store is a `seen(cti) -> bool` callable), no file.

Choices where the spec is silent (docs/ecard.md): a zero-length protected header is the empty map
of RFC 9052, so it fails `alg`, not `cose`; a kid that is not a byte string finds no key
(`kid_unknown`); a present `psn_no` must be text (`cose`); a trust-list entry whose kid is not the
first 8 bytes of SHA-256 over its own key is skipped with a warning, like any entry medpos cannot
use; a birth date after the day of `now` fails `id_check`.
"""

from __future__ import annotations

import base64
import io
import logging
import struct
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from terminal.errors import IdentityError
from terminal.identity.hotlist import HotlistIndex, hotlist_match
from terminal.identity.model import CERT_ECARD, Identity
from terminal.identity.trustlist import (
    TrustKey,
    TrustList,
    TrustListError,
    is_int,
    kid_of,
    parse_trust_list,
)
from terminal.settlement import birth_date, id_check_ok

__all__ = [
    "ALGS",
    "ECARD_MESSAGES",
    "PREFIX",
    "EcardError",
    "TrustKey",
    "TrustList",
    "TrustListError",
    "VerifiedEcard",
    "kid_of",
    "parse_trust_list",
    "verify_ecard",
]

log = logging.getLogger(__name__)

PREFIX = "ESC1:"
ALGS = {-7: "ES256", -8: "EdDSA"}
HDR_ALG, HDR_KID = 1, 4
CLAIM_ISS, CLAIM_EXP, CLAIM_IAT, CLAIM_CTI, CLAIM_ECARD = 1, 4, 6, 7, -65537
TAG_COSE_SIGN1, TAG_CWT = 18, 61
ECARD_TEXT_FIELDS = ("card_no", "psn_cert", "name", "insuplc_admdvs", "insutype")
MAX_INFLATED = 64 * 1024  # an e-card payload is a few hundred bytes; refuse zlib bombs
# The most a QR code holds in alphanumeric mode (version 40-L), the mode of the Base45 alphabet:
# a longer text did not come from an e-card code (check 2, `base45`, "alphabet and length").
MAX_TEXT = 4296
# A COSE_Sign1 holding a CWT with its `ecard` map nests 4 deep; cbor2's own default is 400.
MAX_CBOR_DEPTH = 16

# one sentence per error code: what happened and what the cashier does
ECARD_MESSAGES = {
    "prefix": "this is not an e-card code: ask the customer to open the e-card QR code",
    "base45": "this code is damaged (not Base45): ask the customer to refresh it and scan again",
    "zlib": "this code is damaged (bad compressed data): ask the customer to refresh it",
    "cose": "this QR code is not an e-card: ask the customer to open the e-card QR code",
    "alg": "this code is signed in a way medpos does not accept: ask for the physical card",
    "kid_unknown": "this code's issuer is not in the trust list: sync the terminal, or ask for "
    "the physical card",
    "key_not_valid": "this code's issuer key is not valid for it: ask the customer to refresh the "
    "code, or use the physical card",
    "signature": "this code's signature is wrong (forged or damaged): do not accept it; ask for "
    "the physical card",
    "not_yet_valid": "this code is dated in the future: check the terminal's clock, or ask the "
    "customer to refresh the code",
    "expired": "this code has expired: ask the customer to refresh it",
    "replay": "this code was already used on this terminal: ask the customer to refresh it",
    "id_check": "the ID number in this code is invalid: do not settle; use the physical card",
    "hotlisted": "this card is blocked by the platform: do not settle; send the customer to the "
    "insurance office",
    "no_code": "no QR code was found in the image: hold the phone steady, closer, and brighter",
    "trust_list_stale": "the e-card trust list has not been confirmed with the platform for too "
    "long: sync the terminal; physical cards still work",
    "no_trust_list": "this terminal holds no e-card trust list yet: sync with the platform; "
    "physical cards still work",
}


class EcardError(IdentityError):
    """An e-card code failed check `code` (ecard-qr.md's table); the message is for the cashier."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        message = ECARD_MESSAGES[code]
        super().__init__(code, f"{message} ({detail})" if detail else message)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class VerifiedEcard:
    """A code that passed every check: the `ecard` fields and the token's own claims."""

    ecard: Mapping[str, Any]
    iss: str
    kid: bytes
    iat: int
    exp: int
    cti: bytes
    alg: str

    def as_json(self) -> dict[str, Any]:
        """`medpos ecard verify`'s output: the ecard fields at the top level plus the claims."""
        out = dict(self.ecard)
        out.update(
            iss=self.iss,
            kid=base64.b64encode(self.kid).decode(),
            iat=self.iat,
            exp=self.exp,
            alg=self.alg,
        )
        return out

    def identity(self) -> Identity:
        """The person for checkout, recorded as identified by e-card (`mdtrt_cert_type` 01)."""
        e = self.ecard
        return Identity(
            psn_cert=e["psn_cert"],
            name=e["name"],
            mdtrt_cert_type=CERT_ECARD,
            mdtrt_cert_no=self.cti.hex(),  # platform-api.md: an e-card sale names its code
            card_no=e["card_no"],
            insuplc_admdvs=e["insuplc_admdvs"],
            insutype=e["insutype"],
            psn_no=e.get("psn_no"),
            authenticated=True,
            ecard_cti=self.cti,
            ecard_exp=self.exp,
        )


# -- the layers --------------------------------------------------------------------------------


def _one_cbor_item(data: bytes) -> Any:
    """Exactly one CBOR item and nothing after it, else `cose`."""
    stream = io.BytesIO(data)
    try:
        item = cbor2.CBORDecoder(stream, max_depth=MAX_CBOR_DEPTH).decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise EcardError("cose", f"not CBOR: {exc}") from None
    if stream.tell() != len(data):
        raise EcardError("cose", "bytes after the CBOR item")
    return item


_B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_VALUES = bytes(_B45.find(chr(c)) % 256 if chr(c) in _B45 else 0xFF for c in range(256))


def b45decode(text: str) -> bytes:
    """RFC 9285 Base45, strictly: ValueError on a character outside the alphabet, a length of
    3n+1, or a group whose value does not fit its bytes.

    The `base45` package (used to encode) decodes in a Python loop at about 60 ns a character and
    forgives a trailing newline; this decoder does the checks in C-level calls, about twice as fast
    on an e-card code, and forgives nothing. A property test holds the two equal on valid input.
    """
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("a character outside the Base45 alphabet") from None
    values = raw.translate(_B45_VALUES)
    if b"\xff" in values:
        raise ValueError("a character outside the Base45 alphabet")
    full, rest = divmod(len(values), 3)
    if rest == 1:
        raise ValueError(f"a length of {len(values)} (3n+1) is not Base45")
    words = [
        a + 45 * b + 2025 * c
        for a, b, c in zip(values[0::3], values[1::3], values[2::3], strict=False)
    ][:full]
    if words and max(words) > 0xFFFF:
        raise ValueError("a group of three characters above 65535")
    out = struct.pack(f">{len(words)}H", *words)
    if rest == 2:
        last = values[-2] + 45 * values[-1]
        if last > 0xFF:
            raise ValueError("a final pair above 255")
        out += bytes((last,))
    return out


def _cose_bytes(text: object) -> bytes:
    """Checks 1-3: prefix, Base45, zlib → the COSE bytes."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise EcardError("prefix")
    if len(text) > MAX_TEXT:
        raise EcardError("base45", f"{len(text)} characters, more than a QR code holds")
    try:
        raw = b45decode(text[len(PREFIX) :])
    except ValueError as exc:
        raise EcardError("base45", str(exc)) from None
    if not raw.startswith(b"\x78"):
        return bytes(raw)
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(raw, MAX_INFLATED)
    except zlib.error as exc:
        raise EcardError("zlib", str(exc)) from None
    if inflater.unconsumed_tail:
        raise EcardError("zlib", f"inflates past {MAX_INFLATED} bytes")
    if not inflater.eof:
        raise EcardError("zlib", "the stream is cut short")
    if inflater.unused_data:
        raise EcardError("zlib", "bytes after the stream")
    return out


@dataclass(frozen=True, slots=True)
class _Parsed:
    protected_raw: bytes
    protected: Mapping[Any, Any]
    unprotected: Mapping[Any, Any]
    payload_raw: bytes
    signature: bytes
    claims: Mapping[Any, Any]
    ecard: Mapping[str, Any]


def _parse_cose(data: bytes) -> _Parsed:
    """Check 4: one COSE_Sign1 holding a CWT with an e-card, every type right."""
    item = _one_cbor_item(data)
    if isinstance(item, cbor2.CBORTag) and item.tag == TAG_CWT:
        item = item.value
    if isinstance(item, cbor2.CBORTag) and item.tag == TAG_COSE_SIGN1:
        item = item.value
    if not isinstance(item, list | tuple) or len(item) != 4:
        raise EcardError("cose", "not a COSE_Sign1 array of four")
    protected_raw, unprotected, payload_raw, signature = item
    if not isinstance(protected_raw, bytes):
        raise EcardError("cose", "the protected header is not a byte string")
    protected = _one_cbor_item(protected_raw) if protected_raw else {}
    if not isinstance(protected, Mapping):
        raise EcardError("cose", "the protected header is not a map")
    if not isinstance(unprotected, Mapping):
        raise EcardError("cose", "the unprotected header is not a map")
    if not isinstance(payload_raw, bytes) or not isinstance(signature, bytes):
        raise EcardError("cose", "payload and signature must be byte strings")
    claims = _one_cbor_item(payload_raw)
    if not isinstance(claims, Mapping):
        raise EcardError("cose", "the payload is not a claims map")
    if not isinstance(claims.get(CLAIM_ISS), str):
        raise EcardError("cose", "iss (1) must be text")
    for key, name in ((CLAIM_EXP, "exp"), (CLAIM_IAT, "iat")):
        if not is_int(claims.get(key)):
            raise EcardError("cose", f"{name} ({key}) must be an integer")
    cti = claims.get(CLAIM_CTI)
    if not isinstance(cti, bytes) or len(cti) != 16:
        raise EcardError("cose", "cti (7) must be 16 bytes")
    ecard = claims.get(CLAIM_ECARD)
    if not isinstance(ecard, Mapping):
        raise EcardError("cose", "no ecard map (-65537)")
    for field in ECARD_TEXT_FIELDS:
        if not isinstance(ecard.get(field), str):
            raise EcardError("cose", f"ecard.{field} must be text")
    if "psn_no" in ecard and not isinstance(ecard["psn_no"], str):
        raise EcardError("cose", "ecard.psn_no must be text when present")
    return _Parsed(protected_raw, protected, unprotected, payload_raw, signature, claims, ecard)


def _signed_bytes(parsed: _Parsed) -> bytes:
    return cbor2.dumps(["Signature1", parsed.protected_raw, b"", parsed.payload_raw])


def _signature_ok(key: TrustKey, message: bytes, signature: bytes) -> bool:
    try:
        if isinstance(key.key, ed25519.Ed25519PublicKey):
            key.key.verify(signature, message)
        else:
            if len(signature) != 64:
                return False
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            key.key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


# -- the checks --------------------------------------------------------------------------------


def verify_ecard(
    text: object,
    trust: TrustList,
    *,
    now: int,
    seen: Callable[[bytes], bool] | None = None,
    hotlist: Mapping[str, Any] | HotlistIndex | None = None,
    tolerance_s: int = 300,
    max_lifetime_s: int = 300,
) -> VerifiedEcard:
    """Run ecard-qr.md's 13 checks in order; the first failure raises `EcardError(code)`."""
    parsed = _parse_cose(_cose_bytes(text))  # checks 1-4
    alg_id = parsed.protected.get(HDR_ALG)  # 5: alg only from the protected header
    alg = ALGS.get(alg_id) if isinstance(alg_id, int) else None
    if alg is None:
        raise EcardError("alg", f"alg {alg_id!r}")
    kid = parsed.protected.get(HDR_KID, parsed.unprotected.get(HDR_KID))
    candidates: Sequence[TrustKey] = trust.by_kid.get(kid, ()) if isinstance(kid, bytes) else ()
    if not candidates:  # 6
        raise EcardError("kid_unknown")
    assert isinstance(kid, bytes)
    claims = parsed.claims
    iss: str = claims[CLAIM_ISS]
    iat: int = claims[CLAIM_IAT]
    exp: int = claims[CLAIM_EXP]
    usable = [k for k in candidates if k.alg == alg and k.not_before <= iat <= k.not_after]
    if not usable:  # 7
        raise EcardError("key_not_valid", "outside the key's validity, or another alg")
    message = _signed_bytes(parsed)
    verified = [k for k in usable if _signature_ok(k, message, parsed.signature)]
    if not verified:  # 8
        raise EcardError("signature")
    if not any(k.issuer == iss for k in verified):
        raise EcardError("key_not_valid", f"iss {iss} is not the key's issuer")
    if iat > now + tolerance_s:  # 9
        raise EcardError("not_yet_valid")
    if exp < now - tolerance_s or exp - iat > max_lifetime_s:  # 10
        raise EcardError("expired")
    cti: bytes = claims[CLAIM_CTI]
    if seen is not None and seen(cti):  # 11
        raise EcardError("replay")
    ecard = parsed.ecard
    psn_cert: str = ecard["psn_cert"]
    born = birth_date(psn_cert)
    today = datetime.fromtimestamp(now, UTC).date()
    if not id_check_ok(psn_cert) or born is None or born > today:  # 12
        raise EcardError("id_check")
    if hotlist_match(hotlist, card_no=ecard["card_no"], card_sn=None, psn_cert=psn_cert):  # 13
        raise EcardError("hotlisted")
    fields = {k: v for k, v in ecard.items() if isinstance(k, str) and isinstance(v, str | int)}
    return VerifiedEcard(fields, iss, kid, iat, exp, cti, alg)

"""E-card verification benchmark (issue "E-card QR", section Measure, third figure).

Verification of a decoded code (prefix, Base45, zlib, COSE/CWT parsing, trust-list lookup, key
validity, signature, clock, replay, ID number and hotlist checks) against a raw signature
verification of the same code (cryptography's `verify` on the same Sig_structure bytes and the
signature already in the form the library takes). Target ≤ 2.5×, for ES256 and for EdDSA.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from terminal.identity.ecard import (
    TrustList,
    _cose_bytes,
    _parse_cose,
    parse_trust_list,
    verify_ecard,
)
from terminal.identity.hotlist import HotlistIndex
from terminal.identity.issuer import generate_issuer_key, mint_ecard, trust_entry

TARGET = 2.5
CLAIMS = {
    "card_no": "HA1046913",
    "psn_cert": "330102197001011235",
    "name": "阿依古丽·买买提明·托合提尼亚孜",
    "insuplc_admdvs": "330100",
    "insutype": "310",
    "psn_no": "33010000000000000001",
}
HOTLIST = {
    "version": 1,
    "issued_at": 0,
    "entries": [{"kind": "card_no", "value": f"HX{i:07d}", "reason": "lost"} for i in range(1000)],
}


def _median_us(fn: Callable[[], object], rounds: int = 7, n: int = 300) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(samples)


def _raw_verifier(public: object, text: str) -> Callable[[], None]:
    """Only the signature check of `text`, in the form cryptography takes it."""
    parsed = _parse_cose(_cose_bytes(text))
    message = cbor2.dumps(["Signature1", parsed.protected_raw, b"", parsed.payload_raw])
    sig = parsed.signature
    if isinstance(public, ed25519.Ed25519PublicKey):
        return lambda: public.verify(sig, message)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    return lambda: public.verify(der, message, ec.ECDSA(hashes.SHA256()))


def main(argv: list[str]) -> int:
    missed = False
    now = 1_790_000_000
    hotlist = HotlistIndex(HOTLIST)  # indexed once per version, as the terminal holds it
    for alg in ("ES256", "EdDSA"):
        key = generate_issuer_key(alg)
        others = [generate_issuer_key(alg) for _ in range(20)]  # a realistic trust list
        entries = [trust_entry(k, "CN-330100", 0, 2**40) for k in [*others, key]]
        trust = parse_trust_list({"version": 1, "issued_at": 0, "keys": entries})
        text = mint_ecard(key, CLAIMS, iat=now)
        seen: set[bytes] = set()

        def full(text: str = text, trust: TrustList = trust, seen: set[bytes] = seen) -> object:
            return verify_ecard(text, trust, now=now, seen=seen.__contains__, hotlist=hotlist)

        raw = _raw_verifier(key.private.public_key(), text)
        full_us, raw_us = _median_us(full), _median_us(raw)
        ratio = full_us / raw_us
        ok = ratio <= TARGET
        missed |= not ok
        print(
            f"ecard verify {alg}: {full_us:.1f} µs vs raw signature {raw_us:.1f} µs = "
            f"{ratio:.2f}× (target ≤ {TARGET}×) {'PASS' if ok else 'MISS'}; code {len(text)} chars"
        )
    return 1 if missed else 0

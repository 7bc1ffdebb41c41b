"""ecard-qr.md: every layer and check, one failing case per error code, and fuzzing."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable
from typing import Any

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terminal.identity.ecard import (
    ECARD_MESSAGES,
    EcardError,
    TrustList,
    TrustListError,
    b45decode,
    kid_of,
    parse_trust_list,
    verify_ecard,
)
from terminal.identity.issuer import IssuerKey, generate_issuer_key, mint_ecard, trust_entry
from terminal.identity.model import CERT_ECARD
from tests.support.profiles import examples

NOW = 1_790_000_000
CLAIMS = {
    "card_no": "HA1046913",
    "psn_cert": "330102197001011235",
    "name": "张伟",
    "insuplc_admdvs": "330100",
    "insutype": "310",
}
ES256 = generate_issuer_key("ES256")
EDDSA = generate_issuer_key("EdDSA")
OTHER = generate_issuer_key("ES256")


def trust_of(
    *keys: IssuerKey, issuer: str = "CN-330100", nb: int = 0, na: int = 2**40
) -> TrustList:
    return parse_trust_list(
        {"version": 1, "issued_at": 0, "keys": [trust_entry(k, issuer, nb, na) for k in keys]}
    )


TRUST = trust_of(ES256, EDDSA)


def cose_text(
    key: IssuerKey = ES256,
    *,
    claims: dict[Any, Any] | None = None,
    protected: dict[Any, Any] | None = None,
    unprotected: dict[Any, Any] | None = None,
    tag: int | None = 18,
    cwt: bool = False,
    compress: bool = True,
    sign: Callable[[bytes], bytes] | None = None,
    iat: int = NOW,
    exp: int | None = None,
) -> str:
    """Build a code layer by layer, so any layer can be made wrong."""
    payload_map = (
        claims
        if claims is not None
        else {1: "CN-330100", 6: iat, 4: exp if exp is not None else iat + 300, 7: b"\x01" * 16}
    )
    if claims is None:
        payload_map[-65537] = dict(CLAIMS)
    payload = cbor2.dumps(payload_map)
    prot = cbor2.dumps(
        protected if protected is not None else {1: -8 if key.alg == "EdDSA" else -7, 4: key.kid}
    )
    signature = (sign or key.sign)(cbor2.dumps(["Signature1", prot, b"", payload]))
    body: Any = [prot, unprotected or {}, payload, signature]
    if tag is not None:
        body = cbor2.CBORTag(tag, body)
    if cwt:
        body = cbor2.CBORTag(61, body)
    raw = cbor2.dumps(body)
    if compress:
        raw = zlib.compress(raw)
    text: str = base45.b45encode(raw).decode()
    return "ESC1:" + text


def code_of(text: object, trust: TrustList = TRUST, **kwargs: Any) -> str:
    with pytest.raises(EcardError) as err:
        verify_ecard(text, trust, now=NOW, **kwargs)
    assert str(err.value).startswith(ECARD_MESSAGES[err.value.code])
    return err.value.code


# -- what passes ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", [ES256, EDDSA], ids=["ES256", "EdDSA"])
def test_a_minted_code_verifies_and_identifies_by_ecard(key: IssuerKey) -> None:
    text = mint_ecard(key, {**CLAIMS, "psn_no": "33010000000000000001"}, iat=NOW)
    verified = verify_ecard(text, TRUST, now=NOW)
    out = verified.as_json()
    assert out["psn_cert"] == CLAIMS["psn_cert"] and out["name"] == "张伟"
    assert out["iss"] == "CN-330100" and out["alg"] == key.alg
    assert out["kid"] == base64.b64encode(key.kid).decode()
    assert (out["iat"], out["exp"]) == (NOW, NOW + 300)
    identity = verified.identity()
    assert identity.mdtrt_cert_type == CERT_ECARD == "01"
    assert identity.card_no == "HA1046913" and identity.mdtrt_cert_no == verified.cti.hex()
    assert identity.ecard_cti == verified.cti and len(verified.cti) == 16


@pytest.mark.parametrize(
    "variant",
    [
        {"tag": None},
        {"cwt": True},
        {"tag": None, "cwt": True},
        {"compress": False},
        {"protected": {1: -7}, "unprotected": {4: ES256.kid}},
    ],
    ids=["untagged", "cwt-tag", "cwt-untagged", "uncompressed", "kid-unprotected"],
)
def test_every_accepted_container_form_verifies(variant: dict[str, Any]) -> None:
    assert verify_ecard(cose_text(**variant), TRUST, now=NOW).iss == "CN-330100"


def test_the_protected_kid_wins_over_the_unprotected_one() -> None:
    text = cose_text(protected={1: -7, 4: ES256.kid}, unprotected={4: b"wrongkid"})
    assert verify_ecard(text, TRUST, now=NOW).kid == ES256.kid
    text = cose_text(protected={1: -7, 4: b"wrongkid"}, unprotected={4: ES256.kid})
    assert code_of(text) == "kid_unknown"


def test_two_keys_sharing_a_kid_are_both_tried() -> None:
    # the same kid listed twice, the first entry outside its validity: the second verifies
    keys = [trust_entry(ES256, "CN-330100", 0, 1), trust_entry(ES256, "CN-330100", 0, 2**40)]
    trust = parse_trust_list({"version": 1, "issued_at": 0, "keys": keys})
    assert len(trust.by_kid[ES256.kid]) == 2
    assert verify_ecard(cose_text(), trust, now=NOW).kid == ES256.kid


def test_key_validity_is_inclusive_at_both_ends() -> None:
    assert verify_ecard(cose_text(), trust_of(ES256, nb=NOW, na=NOW), now=NOW)
    assert code_of(cose_text(), trust_of(ES256, nb=NOW + 1)) == "key_not_valid"
    assert code_of(cose_text(), trust_of(ES256, na=NOW - 1)) == "key_not_valid"


def test_clock_tolerance_bounds_both_directions() -> None:
    assert verify_ecard(cose_text(iat=NOW + 300), TRUST, now=NOW)
    assert code_of(cose_text(iat=NOW + 301)) == "not_yet_valid"
    assert verify_ecard(cose_text(iat=NOW - 600), TRUST, now=NOW)  # exp = now - 300
    assert code_of(cose_text(iat=NOW - 601)) == "expired"
    assert code_of(cose_text(exp=NOW + 301)) == "expired"  # lives 301 s
    assert verify_ecard(cose_text(iat=NOW + 400), TRUST, now=NOW, tolerance_s=400)


def test_an_empty_key_list_is_valid_and_knows_no_kid() -> None:
    trust = parse_trust_list({"version": 3, "issued_at": 5, "keys": []})
    assert len(trust) == 0 and code_of(cose_text(), trust) == "kid_unknown"


def test_unusable_trust_list_entries_are_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()

    def spki_entry(public: Any, alg: str) -> dict[str, Any]:
        der = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {
            "kid": base64.b64encode(kid_of(der)).decode(),
            "alg": alg,
            "issuer": "CN-330100",
            "spki": base64.b64encode(der).decode(),
            "not_before": 0,
            "not_after": 2**40,
        }

    wrong_kid = {**trust_entry(ES256, "CN-330100", 0, 2**40), "kid": "AAAAAAAAAAA="}
    keys = [
        spki_entry(p384, "ES256"),
        spki_entry(rsa_key, "PS256"),
        {**trust_entry(EDDSA, "CN-330100", 0, 2**40), "alg": "ES256"},
        {**trust_entry(ES256, "CN-330100", 0, 2**40), "spki": "not base64!"},
        wrong_kid,
        "not an object",
        trust_entry(EDDSA, "CN-330100", 0, 2**40),
    ]
    trust = parse_trust_list({"version": 1, "issued_at": 0, "keys": keys})
    assert len(trust) == 1 and len(trust.skipped) == 6
    assert "keys[0] skipped" in caplog.text
    assert verify_ecard(mint_ecard(EDDSA, CLAIMS, iat=NOW), trust, now=NOW)


@pytest.mark.parametrize(
    "doc", [[], {"version": "1", "issued_at": 0, "keys": []}, {"version": 1, "issued_at": 0}]
)
def test_a_malformed_trust_list_document_is_refused_whole(doc: object) -> None:
    with pytest.raises(TrustListError):
        parse_trust_list(doc)


# -- one failing case per error code, in the spec's order -----------------------------------


def _mutate_signature(data: bytes) -> bytes:
    return bytes([data[0] ^ 1]) + data[1:]


CASES: list[tuple[str, Callable[[], object]]] = [
    ("prefix", lambda: "HC1:" + cose_text()[5:]),
    ("prefix", lambda: "esc1:" + cose_text()[5:]),
    ("prefix", lambda: b"ESC1:"),
    ("base45", lambda: "ESC1:abc"),
    ("base45", lambda: "ESC1:" + base45.b45encode(b"abcd").decode() + "A"),  # length 3n+1
    ("base45", lambda: cose_text() + "\n"),  # a newline is not in the alphabet
    ("base45", lambda: "ESC1:GGW"),  # 65536 does not fit two bytes
    ("zlib", lambda: "ESC1:" + base45.b45encode(b"\x78\x9c" + b"\x00" * 10).decode()),
    ("zlib", lambda: "ESC1:" + base45.b45encode(zlib.compress(b"abc") + b"x").decode()),
    ("zlib", lambda: "ESC1:" + base45.b45encode(zlib.compress(b"a" * 100)[:-6]).decode()),
    ("cose", lambda: "ESC1:" + base45.b45encode(zlib.compress(b"\xff\xff")).decode()),
    ("cose", lambda: "ESC1:" + base45.b45encode(cbor2.dumps([1, 2, 3])).decode()),
    ("cose", lambda: "ESC1:" + base45.b45encode(cbor2.dumps(cbor2.CBORTag(98, []))).decode()),
    ("cose", lambda: cose_text(claims={1: "CN-330100", 4: 1.5, 6: NOW, 7: b"1" * 16})),
    ("cose", lambda: cose_text(claims={1: "CN-330100", 4: NOW, 6: NOW, 7: b"1" * 15})),
    (
        "cose",
        lambda: cose_text(
            claims={1: "CN-330100", 4: NOW, 6: NOW, 7: b"1" * 16, -65537: {"card_no": 1}}
        ),
    ),
    (
        "cose",  # an EU COVID certificate's shape: a hcert claim, no ecard
        lambda: cose_text(claims={1: "DE", 4: NOW, 6: NOW, -260: {1: {"v": []}}}),
    ),
    ("alg", lambda: cose_text(protected={1: -37, 4: ES256.kid})),
    ("alg", lambda: cose_text(protected={4: ES256.kid}, unprotected={1: -7})),
    ("alg", lambda: cose_text(protected={1: "ES256", 4: ES256.kid})),
    ("kid_unknown", lambda: cose_text(OTHER)),
    ("kid_unknown", lambda: cose_text(protected={1: -7})),
    ("kid_unknown", lambda: cose_text(protected={1: -7, 4: "text kid"})),
    ("key_not_valid", lambda: cose_text(protected={1: -8, 4: ES256.kid})),  # alg mismatch
    ("key_not_valid", lambda: cose_text(iat=2**41)),
    ("signature", lambda: cose_text(sign=lambda m: _mutate_signature(ES256.sign(m)))),
    ("signature", lambda: cose_text(sign=lambda m: ES256.sign(m)[:63])),
    ("signature", lambda: cose_text(EDDSA, sign=lambda m: b"\x00" * 64)),
    ("not_yet_valid", lambda: cose_text(iat=NOW + 3600)),
    ("expired", lambda: cose_text(iat=NOW - 3600)),
    ("expired", lambda: cose_text(iat=NOW, exp=NOW + 86400)),
]


@pytest.mark.parametrize(
    ("expected", "build"), CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(CASES)]
)
def test_each_failure_has_its_code(expected: str, build: Callable[[], object]) -> None:
    assert code_of(build()) == expected


def test_an_issuer_other_than_the_keys_is_key_not_valid() -> None:
    assert code_of(mint_ecard(ES256, {**CLAIMS, "iss": "CN-110100"}, iat=NOW)) == "key_not_valid"


def test_a_code_seen_before_is_a_replay() -> None:
    text = mint_ecard(ES256, CLAIMS, iat=NOW)
    seen: set[bytes] = set()
    verified = verify_ecard(text, TRUST, now=NOW, seen=seen.__contains__)
    seen.add(verified.cti)
    assert code_of(text, seen=seen.__contains__) == "replay"


@pytest.mark.parametrize(
    "psn_cert",
    ["330102197001011234", "330102197002301235", "33010219700101123", "330102209901011232"],
    ids=["check-char", "feb-30", "17-chars", "born-in-2099"],
)
def test_a_bad_id_number_is_id_check(psn_cert: str) -> None:
    assert code_of(mint_ecard(ES256, {**CLAIMS, "psn_cert": psn_cert}, iat=NOW)) == "id_check"


@pytest.mark.parametrize(
    "entry",
    [
        {"kind": "card_no", "value": "HA1046913"},
        {"kind": "psn_cert", "value": "330102197001011235"},
    ],
)
def test_a_hotlisted_card_or_person_is_refused(entry: dict[str, str]) -> None:
    hotlist = {"version": 1, "issued_at": 0, "entries": [{**entry, "reason": "lost"}]}
    assert code_of(mint_ecard(ES256, CLAIMS, iat=NOW), hotlist=hotlist) == "hotlisted"
    # a card_sn entry names a physical card only
    sn = {"version": 1, "entries": [{"kind": "card_sn", "value": "HA1046913"}]}
    assert verify_ecard(mint_ecard(ES256, CLAIMS, iat=NOW), TRUST, now=NOW, hotlist=sn)


# -- fuzzing: nothing crashes, everything ends in a code ----------------------------------


VALID = mint_ecard(ES256, CLAIMS, iat=NOW)
VALID_RAW = base45.b45decode(VALID[5:])
COSE_RAW = zlib.decompress(VALID_RAW)
CODES = set(ECARD_MESSAGES)


def _ends_in_a_code(text: object) -> None:
    try:
        verify_ecard(text, TRUST, now=NOW)
    except EcardError as exc:
        assert exc.code in CODES


FUZZ = settings(max_examples=examples(2500), deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_behind_the_prefix_end_in_a_code(data: bytes) -> None:
    _ends_in_a_code("ESC1:" + base45.b45encode(data).decode())
    _ends_in_a_code("ESC1:" + base45.b45encode(zlib.compress(data)).decode())


@FUZZ
@given(st.text(max_size=600))
def test_random_strings_end_in_a_code(text: str) -> None:
    _ends_in_a_code(text)
    _ends_in_a_code("ESC1:" + text)


@FUZZ
@given(st.data())
def test_mutated_valid_codes_end_in_a_code(data: st.DataObject) -> None:
    layer = data.draw(st.sampled_from(["text", "zlib", "cose"]))
    source = {"text": VALID.encode(), "zlib": VALID_RAW, "cose": COSE_RAW}[layer]
    blob = bytearray(source)
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        i = data.draw(st.integers(0, len(blob) - 1))
        if action == "flip":
            blob[i] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "cut":
            del blob[i : i + data.draw(st.integers(1, 8))]
        else:
            blob[i:i] = data.draw(st.binary(min_size=1, max_size=8))
        if not blob:
            blob = bytearray(b"\x00")
    if layer == "text":
        _ends_in_a_code(blob.decode("latin-1"))
    elif layer == "zlib":
        _ends_in_a_code("ESC1:" + base45.b45encode(bytes(blob)).decode())
    else:
        _ends_in_a_code("ESC1:" + base45.b45encode(zlib.compress(bytes(blob))).decode())


@FUZZ
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
        lambda inner: (
            st.lists(inner, max_size=5)
            | st.dictionaries(st.integers(-70000, 10) | st.text(max_size=8), inner, max_size=6)
        ),
        max_leaves=25,
    )
)
def test_random_cbor_structures_end_in_a_code(item: Any) -> None:
    for wrapped in (item, cbor2.CBORTag(18, item), [b"\xa1\x01\x26", {}, cbor2.dumps(item), b""]):
        _ends_in_a_code("ESC1:" + base45.b45encode(cbor2.dumps(wrapped)).decode())


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_the_base45_decoder_inverts_the_librarys_encoder(data: bytes) -> None:
    assert b45decode(base45.b45encode(data).decode()) == data


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:a\n~é", max_size=40))
def test_the_base45_decoder_accepts_exactly_what_rfc_9285_allows(text: str) -> None:
    try:
        expected: bytes | None = base45.b45decode(text)
    except ValueError:
        expected = None
    if text.endswith("\n"):
        expected = None  # the library forgives a trailing newline; the RFC does not
    try:
        got: bytes | None = b45decode(text)
    except ValueError:
        got = None
    assert got == expected

"""sync/protocol: the envelope and its signature, msgids, signed reference data."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from sync.protocol.canonical import canonical_json
from sync.protocol.envelope import (
    MsgidSource,
    build_request,
    cainfo_ok,
    envelope_shape_error,
    signed_bytes,
)
from sync.protocol.refdata import RefdataError, sign_refdata, verify_refdata

KEY = ed25519.Ed25519PrivateKey.generate()
RAW = KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
AT = datetime(2026, 11, 25, 9, 30, 5)


def sign(data: bytes) -> str:
    return base64.b64encode(KEY.sign(data)).decode()


def request(**extra: Any) -> dict[str, Any]:
    return build_request(
        infno="2102",
        msgid="H33010000001D0001202611250930050000",
        dev_no="H33010000001D0001",
        key_id="00" * 8,
        inf_time=AT,
        input={"txn_id": "H33010000001D0001-1", "名": "张伟"},
        sign=sign,
        **extra,
    )


def test_cainfo_signs_the_canonical_envelope_without_itself() -> None:
    env = request(opter="c01")
    assert env["inf_time"] == "2026-11-25 09:30:05" and env["signtype"] == "ED25519"
    assert signed_bytes(env) == canonical_json({k: v for k, v in env.items() if k != "cainfo"})
    assert "名" in signed_bytes(env).decode("utf-8")  # non-ASCII as itself
    assert cainfo_ok(env, RAW)
    for field, value in (("input", {"txn_id": "other"}), ("opter", "c02"), ("cainfo", "AAAA")):
        assert not cainfo_ok({**env, field: value}, RAW), field
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    assert not cainfo_ok(
        env, other.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"infno": None}, "infno: missing"),
        ({"msgid": 5}, "msgid: must be a string"),
        ({"input": "x"}, "input: must be an object"),
        ({"cainfo": None}, "cainfo: missing"),
    ],
)
def test_a_malformed_envelope_names_the_field(change: dict[str, Any], named: str) -> None:
    env = request()
    for key, value in change.items():
        if value is None:
            del env[key]
        else:
            env[key] = value
    assert envelope_shape_error(env) == named
    assert envelope_shape_error(request()) is None
    assert envelope_shape_error([]) == "the message is not a JSON object"


def test_msgids_are_unique_across_sources_and_shaped_as_the_spec_says() -> None:
    blocks = iter(range(1, 1000))
    first = MsgidSource("H33010000001D0001", lambda: AT, lambda: next(blocks))
    ids = [first.next() for _ in range(300)]
    # a second process (or a restart) in the same second draws its own blocks
    second = MsgidSource("H33010000001D0001", lambda: AT, lambda: next(blocks))
    ids += [second.next() for _ in range(50)]
    assert len(set(ids)) == 350
    assert ids[0] == "H33010000001D0001" + "20261125093005" + "0100"
    assert all(len(i) == len("H33010000001D0001") + 14 + 4 for i in ids)


def test_refdata_signature_covers_every_field_but_sig() -> None:
    obj = sign_refdata(
        {
            "kind": "hotlist",
            "version": 3,
            "base_version": None,
            "issued_at": 1,
            "body": {"entries": []},
        },
        KEY,
    )
    assert verify_refdata(obj, KEY.public_key(), "hotlist")["version"] == 3
    with pytest.raises(RefdataError, match="signature is wrong"):
        verify_refdata({**obj, "version": 4}, KEY.public_key())
    with pytest.raises(RefdataError, match="expected trustlist"):
        verify_refdata(obj, KEY.public_key(), "trustlist")
    with pytest.raises(RefdataError, match="version must be an integer"):
        verify_refdata({**obj, "version": "3"}, KEY.public_key())

"""sync/protocol: the envelope and its signature, msgids, signed reference data."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from sync.client.http import encode_batch
from sync.protocol.canonical import canonical_json
from sync.protocol.envelope import (
    INF_TIME_FORMAT,
    MsgidSource,
    build_request,
    cainfo_ok,
    envelope_shape_error,
    parse_inf_time,
    signed_bytes,
)
from sync.protocol.refdata import RefdataError, sign_refdata, verify_refdata
from sync.protocol.upload import entry_hash

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


# -- the shortcuts that reuse canonical JSON already written -----------------------------------


def test_floats_are_refused_wherever_they_hide() -> None:
    class Money(dict[str, Any]):
        pass

    for doc in (
        {"a": [1, {"b": (2, 0.5)}]},
        Money(x=[1.0]),
        [True, None, "1.5", {"c": {"d": 3.25}}],
    ):
        with pytest.raises(TypeError, match="no floats"):
            canonical_json(doc)
    assert canonical_json({"a": [1, True, None, "1.50", (2,)]}) == b'{"a":[1,true,null,"1.50",[2]]}'


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"note": "\x00medpos:serialised\x00"},  # the placeholder's own text, elsewhere
        {"z": {"input": {"txn_id": "H33010000001D0001-1", "名": "张伟"}}},
    ],
)
def test_an_envelope_signed_over_its_input_as_written_is_signed_over_the_same_bytes(
    extra: dict[str, Any],
) -> None:
    env = {**request(), **extra}
    env["cainfo"] = sign(signed_bytes(env))
    written = canonical_json(env["input"])
    assert signed_bytes(env, input_json=written) == signed_bytes(env)
    public = ed25519.Ed25519PublicKey.from_public_bytes(RAW)
    assert cainfo_ok(env, public, input_json=written) and cainfo_ok(env, RAW)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        # the same `"ledger":{…}` text once more, deeper in the document
        {"claim": {"ledger": {"hash": "ab", "prev_hash": "00", "seq": 2, "sig": "c2ln"}}},
        {"claim": {"note": '"ledger":{"hash":"ab","prev_hash":"00","seq":2,"sig":"c2ln"}'}},
    ],
)
def test_the_entry_hash_from_the_input_as_written_is_the_entry_hash(
    extra: dict[str, Any],
) -> None:
    upload = {
        "txn_id": "H33010000001D0001-2",
        "ledger": {"hash": "ab", "prev_hash": "00", "seq": 2, "sig": "c2ln"},
        "名": "张伟",
        **extra,
    }
    assert entry_hash(upload, canonical=canonical_json(upload)) == entry_hash(upload)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-25 09:30:05",
        "2024-02-29 23:59:59",
        "2026-02-29 00:00:00",
        "2026-13-01 00:00:00",
        "2026-01-01 24:00:00",
        "2026-01-01 00:00:60",
        "0000-01-01 00:00:00",
        "2026-1-5 9:3:5",
        "2026-01-01T00:00:00",
        "2026-01-01 00:00",
        "",
    ],
)
def test_inf_time_is_read_as_strptime_reads_it(text: str) -> None:
    def read(parse: Any) -> Any:
        try:
            return parse(text)
        except ValueError:
            return ValueError

    assert read(parse_inf_time) == read(lambda t: datetime.strptime(t, INF_TIME_FORMAT))


def test_a_batch_body_reads_back_as_the_envelopes() -> None:
    envelopes = [request(), {**request(opter="c02"), "input": {"名": "李娜", "n": 2}}]
    assert json.loads(encode_batch(envelopes)) == {"messages": envelopes}


def test_the_terminal_lets_an_idle_connection_go_before_the_hub_does() -> None:
    """Otherwise a request can go out on a connection the hub is closing at that moment (seen
    as "Server disconnected without sending a response" in the fleet benchmark)."""
    from sync.client.http import KEEPALIVE_S
    from sync.hub.app import HUB_KEEPALIVE_S

    assert 0 < KEEPALIVE_S < HUB_KEEPALIVE_S


def test_refdata_request_headers_sign_the_canonical_request_with_the_device_key() -> None:
    from sync.protocol.refdata import refdata_request_bytes, refdata_request_headers

    def sign(data: bytes) -> str:
        return base64.b64encode(KEY.sign(data)).decode()

    headers = refdata_request_headers("H1", "persons", None, 1_790_000_000, sign)
    assert headers["X-Dev-No"] == "H1" and headers["X-Dev-Time"] == "1790000000"
    signed = b'{"dev_no":"H1","kind":"persons","since":null,"time":1790000000}'
    assert refdata_request_bytes("H1", "persons", None, 1_790_000_000) == signed
    KEY.public_key().verify(base64.b64decode(headers["X-Dev-Sig"]), signed)  # raises if wrong
    assert refdata_request_bytes("H1", "persons", 3, 1) != refdata_request_bytes("H1", "x", 3, 1)


def test_json_beyond_the_depth_and_digit_limits_is_refused() -> None:
    from sync.protocol.limits import JsonLimitError, load_limited_json

    def nested(levels: int) -> bytes:
        return b"[" * levels + b"]" * levels

    assert load_limited_json(nested(32)) == json.loads(nested(32))
    assert load_limited_json(b'{"a": ' + nested(31) + b"}")["a"] == json.loads(nested(31))
    for body in (nested(33), b'{"a": ' + nested(32) + b"}", nested(100_000)):
        with pytest.raises(JsonLimitError, match="32 levels"):
            load_limited_json(body)
    assert load_limited_json(b"[" + b"9" * 30 + b", -1.5]") == [int("9" * 30), -1.5]
    for body in (b"9" * 31, b"[-" + b"1" * 31 + b"]", b'{"q": 1.' + b"0" * 30 + b"}"):
        with pytest.raises(JsonLimitError, match="30 digits"):
            load_limited_json(body)
    assert load_limited_json(b'{"qty": "' + b"1" * 40 + b'"}') == {"qty": "1" * 40}  # a string
    # a long run of digits in a string does not hide a long number after it, nor make one
    with pytest.raises(JsonLimitError, match="30 digits"):
        load_limited_json(b'{"h": "' + b"0" * 64 + b'", "n":\n ' + b"1" * 31 + b"}")
    assert load_limited_json(b'["1e' + b"0" * 40 + b'", 1e' + b"0" * 27 + b"]")[1] == 1.0
    with pytest.raises(ValueError):
        load_limited_json(b"[NaN]")

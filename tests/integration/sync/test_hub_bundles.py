"""Bundles at the platform over a real SQLite file (sync/hub/bundles.py) and their format
(sync/protocol/bundle.py): checked whole before anything is stored, answered as a batch 500 at a
time, old `inf_time`s taken and future ones still `clock_skew`, idempotent."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import text

from sync.hub.bundles import BundleRefused, answer_bundle
from sync.hub.db import migrate, open_engine
from sync.hub.service import Hub
from sync.protocol.bundle import BundleError, bundle_name, check_answer, check_bundle, make_bundle
from sync.protocol.envelope import build_request

DEV = "H33010000001D0009"
ZONE = ZoneInfo("Asia/Shanghai")


class Device:
    def __init__(self, hub: Hub) -> None:
        self.key = ed25519.Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.n = 0
        enrol = {
            "code": hub.enrol_code(DEV),
            "public_key": base64.b64encode(raw).decode(),
            "key_id": hashlib.sha256(raw).hexdigest()[:16],
            "fixmedins_code": "P33010000001",
            "dev_name": "bundle test",
        }
        _, answer = hub.call(self.message("9101", enrol, datetime.now(ZONE), signed=False))
        assert answer["infcode"] == 0, answer

    def message(
        self, infno: str, data: dict[str, Any], at: datetime, *, signed: bool = True
    ) -> dict[str, Any]:
        self.n += 1
        return build_request(
            infno=infno,
            msgid=f"{DEV}{at:%Y%m%d%H%M%S}{self.n:04d}",
            dev_no=DEV,
            key_id="",
            inf_time=at,
            input=data,
            sign=(lambda b: base64.b64encode(self.key.sign(b)).decode()) if signed else None,
        )

    def sign_in(self, at: datetime) -> dict[str, Any]:
        return self.message("9001", {"opter": "1001", "opter_name": "王芳"}, at)


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    engine = open_engine(str(tmp_path / "hub.db"))
    migrate(engine)
    hub = Hub(engine)
    hub.keygen()
    return hub


def _stored(hub: Hub) -> int:
    with hub.engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM messages")).scalar_one())


def test_days_old_messages_are_answered_and_future_ones_are_clock_skew(hub: Hub) -> None:
    device = Device(hub)
    now = datetime.now(ZONE)
    old, future = (
        device.sign_in(now - timedelta(days=3)),
        device.sign_in(now + timedelta(minutes=6)),
    )
    answer = check_answer(
        answer_bundle(hub, make_bundle(DEV, "2026-12-07 09:00:00", [old, future]))
    )
    assert [r["infcode"] for r in answer["results"]] == [0, -1]
    assert answer["results"][1]["err_msg"].startswith("clock_skew")
    # over /batch the same old message would be clock_skew: only a bundle takes it
    _, batch = hub.batch({"messages": [device.sign_in(now - timedelta(days=3))]})
    assert batch["results"][0]["err_msg"].startswith("clock_skew")
    # the same bundle again: the stored answers, nothing new stored
    stored = _stored(hub)
    again = answer_bundle(hub, make_bundle(DEV, "2026-12-07 09:00:00", [old, future]))
    assert again["results"][0] == answer["results"][0] and _stored(hub) == stored


def test_one_bad_signature_refuses_the_bundle_whole_naming_the_message(hub: Hub) -> None:
    device = Device(hub)
    now = datetime.now(ZONE)
    messages = [device.sign_in(now) for _ in range(3)]
    messages[1]["input"]["opter_name"] = "李四"  # edited after signing
    stored = _stored(hub)
    with pytest.raises(BundleRefused) as refused:
        answer_bundle(hub, make_bundle(DEV, "2026-12-07 09:00:00", messages))
    assert (refused.value.index, refused.value.msgid) == (1, messages[1]["msgid"])
    assert "bad_signature" in str(refused.value) and _stored(hub) == stored
    bundle = make_bundle(DEV, "2026-12-07 09:00:00", [device.sign_in(now)])
    bundle["messages"][0]["dev_no"] = "H33010000001D0001"
    with pytest.raises(BundleRefused, match="message 0"):
        answer_bundle(hub, {**bundle, "sha256": make_bundle(DEV, "", bundle["messages"])["sha256"]})


def test_a_bundle_is_answered_in_order_chunk_by_chunk(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sync.hub.bundles

    monkeypatch.setattr(sync.hub.bundles, "BUNDLE_CHUNK", 2)  # 500 in production
    device = Device(hub)
    now = datetime.now(ZONE)
    messages = [device.sign_in(now) for _ in range(5)]
    answer = answer_bundle(hub, make_bundle(DEV, "2026-12-07 09:00:00", messages))
    assert len(answer["results"]) == 5 and all(r["infcode"] == 0 for r in answer["results"])
    assert _stored(hub) == 5  # every sign-in, once (the enrolment is kept as the device)


def test_an_edited_bundle_fails_its_sha256_and_names_are_by_seq() -> None:
    upload = {"input": {"ledger": {"seq": 7}}}
    bundle = make_bundle(DEV, "2026-12-07 09:00:00", [upload, {"input": {"ledger": {"seq": 9}}}])
    assert bundle_name(DEV, bundle["messages"]) == f"{DEV}-7-9.medpos.json"
    bundle["messages"][0]["input"]["ledger"]["seq"] = 8
    with pytest.raises(BundleError, match="sha256"):
        check_bundle(bundle)
    with pytest.raises(BundleError, match="format"):
        check_bundle({**bundle, "format": "medpos-bundle/2"})

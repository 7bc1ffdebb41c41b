"""A real hub process on loopback with a SQLite file, and real terminals syncing to it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import HIGH_LIMITS, free_port
from tests.integration.sync.conftest import (
    DEV_NO,
    FakeTerminal,
    NoTransport,
    Platform,
    lines,
    medpos,
    terminal_config,
)


def device_headers(config: Path, kind: str, since: int | None) -> dict[str, str]:
    """The signed headers of the terminal of `config` for a refdata request (it is enrolled)."""
    import time

    from sync.protocol.refdata import refdata_request_headers
    from terminal.bootstrap import open_terminal
    from terminal.config import load_config

    service = open_terminal(load_config(config, env={}))
    try:
        return refdata_request_headers(
            service.config.terminal.dev_no,
            kind,
            since,
            int(time.time()),
            service.ledger.key.sign_b64,
        )
    finally:
        service.ledger.close()


def test_enrol_sync_reference_data_then_every_sale_is_acknowledged_once(
    platform: Platform, make_config: Callable[..., Path], demo_dir: Path
) -> None:
    config = terminal_config(make_config, platform, "t1")
    enrolled = medpos(config, "enrol", "--code", platform.enrol_code())
    assert enrolled.returncode == 0, enrolled.stderr
    assert lines(enrolled.stdout)[0]["root_public_key"] == platform.root
    signin = medpos(config, "signin", "--operator", "c01", "--name", "王芳")
    assert lines(signin.stdout)[0]["platform"] is True and lines(signin.stdout)[0]["sign_no"]
    # the enrolment fetched the reference data at once (before anything could be sold)
    refdata = {r["kind"]: r for r in lines(enrolled.stdout)[0]["refdata"]}
    assert refdata["catalogue"]["outcome"] == "stored" and refdata["policy"]["version"] == 1
    first = medpos(config, "sync", "--once")
    assert first.returncode == 0, first.stderr
    refdata = {r["kind"]: r for r in lines(first.stdout)[0]["refdata"]}
    # nothing to upload yet, but the platform answered: online
    assert lines(first.stdout)[0]["status"]["online"] is True, first.stdout
    assert refdata["catalogue"]["outcome"] == "current" and refdata["policy"]["version"] == 1
    sold = medpos(
        config, "checkout", "--claim", str(demo_dir / "claim-pharmacy.json"), "--repeat", "120"
    )
    assert sold.returncode == 0, sold.stderr
    sales = lines(sold.stdout)
    # enrolled and online: each sale asked the platform for the accumulators first (1101)
    import sqlite3

    db = sqlite3.connect(config.parent / "var" / "medpos.db")
    try:
        assert db.execute("SELECT COUNT(*), SUM(offline) FROM txns").fetchone() == (120, 0)
    finally:
        db.close()
    refund = medpos(
        config, "refund", sales[3]["txn_id"], "--reason", "returned", "--operator", "sup01"
    )
    assert refund.returncode == 0, refund.stderr
    done = medpos(config, "sync", "--once")
    assert done.returncode == 0, done.stderr
    report = lines(done.stdout)[0]
    assert report["upload"]["acked"] == {"accepted": 121}, report
    assert report["status"]["queue"] == 0 and report["status"]["alert"] is None
    # a second pass has nothing to send, and the hub holds each sale once
    again = lines(medpos(config, "sync", "--once").stdout)[0]
    assert again["upload"]["sent"] == 0

    count, distinct, accepted = platform.scalars(
        "SELECT COUNT(*), COUNT(DISTINCT txn_id), "
        "SUM(CASE WHEN status = 'accepted' THEN 1 ELSE 0 END) FROM entries"
    )
    assert count == distinct == accepted == 121
    # the platform gone with nothing to upload: the failed refresh shows offline, with why
    gone = make_config(
        "t1.toml", risk=HIGH_LIMITS, platform={"url": f"http://127.0.0.1:{free_port()}"}
    )
    offline = lines(medpos(gone, "sync", "--once").stdout)[0]
    assert offline["upload"]["sent"] == 0 and offline["refdata_error"], offline
    assert offline["status"]["online"] is False and offline["status"]["last_error"], offline


def test_the_same_upload_twice_returns_the_stored_acknowledgement(
    platform: Platform, make_config: Callable[..., Path], demo_dir: Path
) -> None:
    config = terminal_config(make_config, platform, "t2")
    assert medpos(config, "enrol", "--code", platform.enrol_code()).returncode == 0
    assert medpos(config, "sync", "--once").returncode == 0
    assert (
        medpos(config, "checkout", "--claim", str(demo_dir / "claim-pharmacy.json")).returncode == 0
    )
    # build the envelope as the terminal does, and send it twice by hand with new msgids
    from terminal.bootstrap import open_terminal
    from terminal.checkout.syncing import SyncService
    from terminal.config import load_config

    service = open_terminal(load_config(config, env={}))
    try:
        sync = SyncService(service.ledger, service.config, service.clock, NoTransport())
        upload = service.ledger.upload_input(f"{DEV_NO}-1")
        first = httpx.post(platform.url + "/fsi/api/call", json=sync.envelope("2102", upload))
        second = httpx.post(platform.url + "/fsi/api/call", json=sync.envelope("2102", upload))
        changed = {**upload, "offline": not upload["offline"]}
        third = httpx.post(platform.url + "/fsi/api/call", json=sync.envelope("2102", changed))
    finally:
        service.ledger.close()
    a, b = first.json()["output"]["setlinfo"], second.json()["output"]["setlinfo"]
    assert a == b and a["status"] == "accepted"
    assert third.json()["output"]["setlinfo"] == {
        "txn_id": f"{DEV_NO}-1",
        "setl_id": "",
        "status": "rejected",
        "reason": "txn_id_reused",
    }


def test_envelope_refusals_in_the_specs_order(
    platform: Platform, make_config: Callable[..., Path]
) -> None:
    config = terminal_config(make_config, platform, "t3")
    from terminal.bootstrap import open_terminal
    from terminal.checkout.syncing import SyncService
    from terminal.config import load_config

    service = open_terminal(load_config(config, env={}))
    try:
        sync = SyncService(service.ledger, service.config, service.clock, NoTransport())
        env = sync.envelope("9001", {"opter": "c01", "opter_name": "王"})
        unknown = httpx.post(platform.url + "/fsi/api/call", json=env).json()
        assert unknown["infcode"] == -1 and unknown["err_msg"].startswith("unknown_device")
        bad = httpx.post(platform.url + "/fsi/api/call", content=b"{not json")
        assert bad.status_code == 400 and bad.json()["infcode"] == -1
        missing = {k: v for k, v in env.items() if k != "msgid"}
        shape = httpx.post(platform.url + "/fsi/api/call", json=missing)
        assert shape.status_code == 400 and shape.json()["err_msg"] == "msgid: missing"
    finally:
        service.ledger.close()
    assert medpos(config, "enrol", "--code", platform.enrol_code()).returncode == 0
    service = open_terminal(load_config(config, env={}))
    try:
        sync = SyncService(service.ledger, service.config, service.clock, NoTransport())
        env = sync.envelope("9001", {"opter": "c01", "opter_name": "王"})
        forged = {**env, "opter": "c02"}
        assert (
            httpx.post(platform.url + "/fsi/api/call", json=forged)
            .json()["err_msg"]
            .startswith("bad_signature")
        )
        ok = httpx.post(platform.url + "/fsi/api/call", json=env).json()
        assert ok["infcode"] == 0 and ok["output"]["sign_no"]
        same = httpx.post(platform.url + "/fsi/api/call", json=env).json()
        assert same["output"] == ok["output"]  # the stored answer
        reused = sync.envelope("9001", {"opter": "c03", "opter_name": "李"})
        reused["msgid"] = env["msgid"]
        from sync.protocol.envelope import signed_bytes

        reused["cainfo"] = service.ledger.key.sign_b64(signed_bytes(reused))
        assert (
            httpx.post(platform.url + "/fsi/api/call", json=reused)
            .json()["err_msg"]
            .startswith("msgid_reused")
        )
        skewed = sync.envelope("9001", {"opter": "c01", "opter_name": "王"})
        skewed["inf_time"] = "2020-01-01 00:00:00"
        skewed["cainfo"] = service.ledger.key.sign_b64(signed_bytes(skewed))
        assert (
            httpx.post(platform.url + "/fsi/api/call", json=skewed)
            .json()["err_msg"]
            .startswith("clock_skew")
        )
    finally:
        service.ledger.close()
    # a used code does not enrol again
    code = platform.enrol_code()
    assert medpos(config, "enrol", "--code", code).returncode == 0
    again = medpos(config, "enrol", "--code", code)
    assert again.returncode == 1 and "bad_code" in again.stderr


def test_two_hub_processes_sent_the_same_sales_at_once_store_each_once(
    platform: Platform, make_config: Callable[..., Path], demo_dir: Path
) -> None:
    import threading

    from tests.integration.sync.conftest import start_hub

    port2 = free_port()
    second_hub = start_hub(platform.config, platform.db, port2)
    urls = [platform.url, f"http://127.0.0.1:{port2}"]
    try:
        config = terminal_config(make_config, platform, "t4")
        assert medpos(config, "enrol", "--code", platform.enrol_code()).returncode == 0
        assert medpos(config, "sync", "--once").returncode == 0
        claim = str(demo_dir / "claim-pharmacy.json")
        assert medpos(config, "checkout", "--claim", claim, "--repeat", "20").returncode == 0
        from terminal.bootstrap import open_terminal
        from terminal.checkout.syncing import SyncService
        from terminal.config import load_config

        service = open_terminal(load_config(config, env={}))
        try:
            sync = SyncService(service.ledger, service.config, service.clock, NoTransport())
            plan = []
            for seq in range(1, 21):
                upload = service.ledger.upload_input(f"{DEV_NO}-{seq}")
                plan.append([sync.envelope("2102", upload) for _ in urls])
        finally:
            service.ledger.close()
        answers: dict[tuple[int, int], Any] = {}
        for seq, envelopes in enumerate(plan, start=1):
            barrier = threading.Barrier(len(urls))

            def send(i: int, envelope: Any, seq: int = seq, barrier: Any = barrier) -> None:
                barrier.wait()
                reply = httpx.post(urls[i] + "/fsi/api/call", json=envelope, timeout=30)
                answers[(seq, i)] = reply.json()["output"]["setlinfo"]

            threads = [threading.Thread(target=send, args=(i, e)) for i, e in enumerate(envelopes)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        for seq in range(1, 21):
            assert answers[(seq, 0)] == answers[(seq, 1)], seq
            assert answers[(seq, 0)]["status"] == "accepted"
        assert platform.scalars("SELECT COUNT(*), COUNT(DISTINCT txn_id) FROM entries") == (20, 20)
    finally:
        second_hub.terminate()
        second_hub.wait(timeout=20)


def test_hotlist_updates_arrive_as_signed_deltas_and_presettlement_records_nothing(
    platform: Platform, make_config: Callable[..., Path], demo_dir: Path, tmp_path: Path
) -> None:
    import sqlite3

    config = terminal_config(make_config, platform, "t5")
    first = {"entries": [{"kind": "card_no", "value": "HA0000001", "reason": "lost"}]}
    (tmp_path / "h1.json").write_text(json.dumps(first))
    assert platform.admin("publish", "--hotlist", str(tmp_path / "h1.json")).returncode == 0
    assert medpos(config, "enrol", "--code", platform.enrol_code()).returncode == 0
    assert medpos(config, "sync", "--once").returncode == 0
    second = {"entries": [{"kind": "psn_cert", "value": "11010519491231002X", "reason": "x"}]}
    (tmp_path / "h2.json").write_text(json.dumps(second))
    assert platform.admin("publish", "--hotlist", str(tmp_path / "h2.json")).returncode == 0
    delta = httpx.get(
        platform.url + "/fsi/api/refdata/hotlist",
        params={"since": 1},
        headers=device_headers(config, "hotlist", 1),
    ).json()
    assert delta["base_version"] == 1 and delta["body"]["removed"] == [
        {"kind": "card_no", "value": "HA0000001"}
    ]
    assert (
        httpx.get(
            platform.url + "/fsi/api/refdata/hotlist",
            params={"since": 2},
            headers=device_headers(config, "hotlist", 2),
        ).status_code
        == 304
    )
    synced = lines(medpos(config, "sync", "--once").stdout)[0]
    assert {"kind": "hotlist", "outcome": "stored", "version": 2} in synced["refdata"]
    db = sqlite3.connect(config.parent / "var" / "medpos.db")
    try:
        held = json.loads(
            db.execute("SELECT body FROM refdata WHERE kind = 'hotlist'").fetchone()[0]
        )
    finally:
        db.close()
    assert held["entries"] == second["entries"] and held["version"] == 2

    from terminal.bootstrap import open_terminal
    from terminal.checkout.syncing import SyncService
    from terminal.config import load_config

    claim = json.loads((demo_dir / "claim-pharmacy.json").read_text())
    service = open_terminal(load_config(config, env={}))
    try:
        sync = SyncService(service.ledger, service.config, service.clock, NoTransport())
        env = sync.envelope("2101", {"claim": claim})
        answer = httpx.post(platform.url + "/fsi/api/call", json=env).json()
    finally:
        service.ledger.close()
    assert answer["infcode"] == 0, answer
    assert set(answer["output"]["result"]["setlinfo"]) >= {"fund_pay_sumamt", "acct_pay"}
    assert platform.scalars("SELECT COUNT(*) FROM entries") == (0,)


def test_the_migrations_build_exactly_the_schema_the_code_uses(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from sync.hub.db import migrate, open_engine
    from sync.hub.schema import metadata
    from tests.integration.sync.conftest import hub_database

    for backend in ("sqlite", "postgresql"):
        engine = open_engine(hub_database(backend, request, tmp_path))
        try:
            migrate(engine)
            migrate(engine)  # idempotent
            with engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"include_object": _no_partition})
                assert compare_metadata(context, metadata) == [], backend
        finally:
            engine.dispose()


def _no_partition(obj: Any, name: str | None, kind: str, reflected: bool, _: Any) -> bool:
    """Not a month's partition (`entries_yyyymm`, `trace_codes_yyyymm`) nor its indexes: the
    schema names the partitioned tables; their months are made as time goes."""
    table = obj if kind == "table" else getattr(obj, "table", None)
    tail = str(getattr(table, "name", "")).rsplit("_", 1)[-1]
    return not (reflected and len(tail) == 6 and tail.isdigit())


def test_a_refund_gives_the_platforms_accumulators_back(
    platform: Platform, make_config: Callable[..., Path], demo_dir: Path
) -> None:
    from sync.client.http import HttpPlatform, platform_client
    from terminal.bootstrap import open_terminal
    from terminal.checkout.syncing import SyncService
    from terminal.config import load_config

    config = terminal_config(make_config, platform, "t6")
    assert medpos(config, "enrol", "--code", platform.enrol_code()).returncode == 0
    assert medpos(config, "sync", "--once").returncode == 0
    claim = json.loads((demo_dir / "claim-pharmacy.json").read_text())
    psn_cert = claim["person"]["psn_cert"]

    def platform_accumulators() -> Any:
        service = open_terminal(load_config(config, env={}))
        transport = HttpPlatform(platform_client(platform.url))
        try:
            found = SyncService(
                service.ledger, service.config, service.clock, transport
            ).fetch_person(psn_cert, 10)
        finally:
            transport.close()
            service.ledger.close()
        assert found is not None
        return found["accumulators"]

    before = platform_accumulators()
    sale = lines(
        medpos(config, "checkout", "--claim", str(demo_dir / "claim-pharmacy.json")).stdout
    )[0]
    assert medpos(config, "sync", "--once").returncode == 0
    assert platform_accumulators() != before
    refund = medpos(config, "refund", sale["txn_id"], "--reason", "back", "--operator", "s1")
    assert refund.returncode == 0, refund.stderr
    synced = lines(medpos(config, "sync", "--once").stdout)[0]
    assert synced["upload"]["acked"] == {"accepted": 1}
    assert platform_accumulators() == before


def test_a_batch_is_answered_message_by_message(
    platform: Platform, sale_input: dict[str, Any]
) -> None:
    from datetime import datetime

    fake = FakeTerminal(platform, "H33010000002D0001", sale_input)
    first = fake.envelope("2102", fake.upload())
    skewed = fake.envelope("9001", {"opter": "c01"}, inf_time=datetime(2020, 1, 1))
    second = fake.envelope("2102", fake.upload())
    reused = fake.envelope("9001", {"opter": "c02"}, msgid=second["msgid"])
    answers = fake.post(first, skewed, second, first, reused)
    assert [a["infcode"] for a in answers] == [0, -1, 0, 0, -1]
    assert answers[1]["err_msg"].startswith("clock_skew")
    assert answers[4]["err_msg"].startswith("msgid_reused")
    assert answers[3] == answers[0]  # the same message again: the stored answer
    # (settled: the second is adjusted, the fake's claim not having advanced the accumulators)
    assert {answers[i]["output"]["setlinfo"]["status"] for i in (0, 2)} <= {"accepted", "adjusted"}
    # the refused messages left nothing behind; the others are stored once
    assert platform.scalars("SELECT COUNT(*) FROM messages WHERE dev_no = 'H33010000002D0001'") == (
        2,
    )
    assert platform.scalars(
        "SELECT COUNT(*), COUNT(DISTINCT txn_id) FROM entries WHERE dev_no = 'H33010000002D0001'"
    ) == (2, 2)
    # each answer's chain head is the last seq stored by then: one held for a gap counts
    assert [answers[i]["output"]["chain_head"]["seq"] for i in (0, 2, 3)] == [1, 2, 1]
    third, fourth, fifth = fake.upload(), fake.upload(), fake.upload()
    envs = [fake.envelope("2102", u) for u in (fifth, third, fourth)]
    later = fake.post(*envs, envs[0])
    held = [a["output"]["setlinfo"]["status"] == "held" for a in later]
    assert held == [True, False, False, True]  # the fifth waited; sent again: its stored answer
    assert [a["output"]["chain_head"]["seq"] for a in later] == [5, 5, 5, 5]


def test_a_reversal_from_another_terminal_that_arrives_first_settles_with_its_original(
    platform: Platform, sale_input: dict[str, Any]
) -> None:
    seller = FakeTerminal(platform, "H33010000002D0001", sale_input)
    refunder = FakeTerminal(platform, "H33010000002D0002", sale_input)
    person = {"psn_cert": sale_input["claim"]["person"]["psn_cert"]}

    def accumulators() -> Any:
        [answer] = seller.post(seller.envelope("1101", person))
        return answer["output"]["accumulators"]

    before = accumulators()
    sale = seller.upload()
    reversal = refunder.reversal(sale["txn_id"])
    [held] = refunder.post(refunder.envelope("2103", reversal))
    assert held["output"]["setlinfo"]["status"] == "held"
    # the original settles it, and the same reversal sent again in that batch says so
    answers = seller.post(seller.envelope("2102", sale), refunder.envelope("2103", reversal))
    assert [a["output"]["setlinfo"]["status"] for a in answers] == ["accepted", "accepted"]
    assert accumulators() == before
    # the refunder's chain went on past the held reversal all the while
    [next_sale] = refunder.post(refunder.envelope("2102", refunder.upload()))
    assert next_sale["output"]["setlinfo"]["status"] == "accepted"


def test_a_message_reversal_cancels_a_sign_in_at_the_messages_time(
    platform: Platform, sale_input: dict[str, Any]
) -> None:
    """2601: a sign-in whose answer never came is cancelled, stamped like a 9002 sign-out (the
    time the hub took the message); a settlement cannot be reversed this way."""
    dev = "H33010000002D0002"
    fake = FakeTerminal(platform, dev, sale_input)
    sign_in = fake.envelope("9001", {"opter": "c01", "opter_name": "王"})
    (signed_in,) = fake.post(sign_in)
    sign_no = signed_in["output"]["sign_no"]
    cancel = fake.envelope("2601", {"omsgid": sign_in["msgid"], "oinfno": "9001"})
    unknown = fake.envelope("2601", {"omsgid": "no-such-message", "oinfno": "9001"})
    settlement = fake.envelope("2601", {"omsgid": sign_in["msgid"], "oinfno": "2102"})
    answers = fake.post(cancel, unknown, settlement)
    assert [a["infcode"] for a in answers] == [0, 0, -1]
    assert answers[0]["output"] == {"omsgid": sign_in["msgid"], "found": True, "cancelled": True}
    assert answers[1]["output"]["found"] is False
    assert "2103/2208/2305" in answers[2]["err_msg"]
    (signed_out_at,) = platform.scalars(
        f"SELECT signed_out_at FROM sign_ins WHERE sign_no = '{sign_no}'"
    )
    assert platform.scalars(
        f"SELECT received_at FROM messages WHERE msgid = '{cancel['msgid']}'"
    ) == (signed_out_at,)

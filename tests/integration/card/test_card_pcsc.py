"""Cards through real pcscd + vpcd + the virtual card and PSAM, via pyscard."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from drivers.card.errors import CardError
from drivers.card.virtual import VpcdClient
from terminal.errors import IdentityError
from terminal.identity.card import identity_from_card, read_card_data
from tests.conftest import MEDPOS, medpos_env
from tests.integration.card.conftest import CARD_READER, PEOPLE, SAM_READER, wait_for


@pytest.mark.parametrize("style", ["exact", "t0", "lax"])
def test_a_card_reads_and_authenticates_through_pcscd(
    insert: Callable[..., VpcdClient],
    psam: VpcdClient,
    demo: Callable[..., dict[str, Any]],
    today: date,
    style: str,
) -> None:
    card = insert(demo(0, answer_style=style))
    read = read_card_data(CARD_READER, SAM_READER)
    assert read.authenticated and read.terminal_no == "330100000001"
    assert (read.psn_cert, read.psn_name, read.card_no) == (
        PEOPLE[0]["psn_cert"],
        "张伟",
        "HA1046913",
    )
    assert read.card_sn.startswith("330100D156000005") and len(read.card_sn) == 32
    identity = identity_from_card(read, None, today)
    assert (identity.mdtrt_cert_type, identity.mdtrt_cert_no, identity.card_sn) == (
        "03",
        "HA1046913",
        read.card_sn,
    )
    if style == "exact":
        assert card.apdus + psam.apdus == 27


def test_a_long_name_is_joined_from_its_extension(
    insert: Callable[..., VpcdClient], psam: VpcdClient, demo: Callable[..., dict[str, Any]]
) -> None:
    insert(demo(1))
    assert read_card_data(CARD_READER, SAM_READER).psn_name == PEOPLE[1]["name"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"counterfeit": True}, "counterfeit"),
        ({"expired": True}, "expired"),
        ({"version": "4.00"}, "unsupported_version"),
        ({"category": "9"}, "unsupported_category"),
    ],
)
def test_each_bad_card_is_refused_with_its_reason(
    insert: Callable[..., VpcdClient],
    psam: VpcdClient,
    demo: Callable[..., dict[str, Any]],
    today: date,
    changes: dict[str, Any],
    reason: str,
) -> None:
    insert(demo(0, **changes))
    try:
        read = read_card_data(CARD_READER, SAM_READER)
        identity_from_card(read, None, today)
    except (CardError, IdentityError) as exc:
        assert getattr(exc, "reason", getattr(exc, "code", None)) == reason
    else:
        raise AssertionError("the card was accepted")


def test_a_hotlisted_card_is_refused(
    insert: Callable[..., VpcdClient],
    psam: VpcdClient,
    demo: Callable[..., dict[str, Any]],
    today: date,
) -> None:
    insert(demo(0))
    read = read_card_data(CARD_READER, SAM_READER)
    for kind, value in (
        ("card_no", read.card_no),
        ("card_sn", read.card_sn.lower()),
        ("psn_cert", read.psn_cert),
    ):
        hotlist = {"version": 1, "entries": [{"kind": kind, "value": value, "reason": "lost"}]}
        with pytest.raises(IdentityError) as err:
            identity_from_card(read, hotlist, today)
        assert err.value.code == "hotlisted"


def test_without_a_psam_the_holder_is_unread_and_not_settleable(
    insert: Callable[..., VpcdClient], demo: Callable[..., dict[str, Any]], today: date
) -> None:
    insert(demo(0))
    read = read_card_data(CARD_READER, None)
    assert read.psn_cert is None and not read.authenticated
    with pytest.raises(IdentityError) as err:
        identity_from_card(read, None, today)
    assert err.value.code == "holder_unread"


def test_pin_wrong_then_blocked(
    insert: Callable[..., VpcdClient], psam: VpcdClient, demo: Callable[..., dict[str, Any]]
) -> None:
    insert(demo(0, pin="123456"))
    assert read_card_data(CARD_READER, SAM_READER, pin="123456").authenticated
    for left in (2, 1):
        with pytest.raises(CardError) as err:
            read_card_data(CARD_READER, SAM_READER, pin="000000")
        assert err.value.reason == "pin_wrong" and f"{left} tries left" in str(err.value)
    with pytest.raises(CardError) as err:
        read_card_data(CARD_READER, SAM_READER, pin="000000")
    assert err.value.reason in ("pin_blocked", "pin_wrong")


def test_removal_at_every_apdu_of_a_read_gives_no_identity(
    insert: Callable[..., VpcdClient], psam: VpcdClient, demo: Callable[..., dict[str, Any]]
) -> None:
    for k in range(1, 22):  # the 21 card APDUs of a 3.00 read
        client = insert(demo(0), pull_at=k)
        try:
            with pytest.raises(CardError) as err:
                read_card_data(CARD_READER, SAM_READER)
            assert err.value.reason in ("card_removed", "no_card"), (k, err.value)
        finally:
            client.close()
            wait_for(CARD_READER, False)


def test_card_read_command_json_and_basinfo(
    insert: Callable[..., VpcdClient],
    psam: VpcdClient,
    demo: Callable[..., dict[str, Any]],
    tmp_path: Path,
    make_config: Callable[..., Path],
) -> None:
    insert(demo(0))
    env = medpos_env(make_config())
    done = subprocess.run(
        [MEDPOS, "card", "read"], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout)
    assert out["psn_cert"] == PEOPLE[0]["psn_cert"] and out["authenticated"] is True
    assert out["dev_no"] == "H33010000001D0001" and out["issuing_region"] == "330100"
    line = subprocess.run(
        [MEDPOS, "card", "read", "--format", "basinfo"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    ).stdout.strip()
    fields = line.split("|")
    assert len(fields) == 11 and fields[1] == PEOPLE[0]["psn_cert"] and fields[4] == "张伟"
    nopsam = subprocess.run(
        [MEDPOS, "card", "read", "--sam", ""], capture_output=True, text=True, env=env, check=False
    )
    assert nopsam.returncode == 0 and json.loads(nopsam.stdout)["psn_cert"] is None


def test_checkout_by_card_records_the_card_identity(
    insert: Callable[..., VpcdClient],
    psam: VpcdClient,
    demo: Callable[..., dict[str, Any]],
    tmp_path: Path,
    make_config: Callable[..., Path],
) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from terminal.demo import demo_basket, demo_people

    person = demo_people(datetime.now(ZoneInfo("Asia/Shanghai")).date())[0]
    insert(card_doc_for(person))
    basket = tmp_path / "basket.json"
    basket.write_text(json.dumps(demo_basket("pharmacy")), encoding="utf-8")
    env = medpos_env(make_config())
    done = subprocess.run(
        [MEDPOS, "checkout", "--card", "--basket", str(basket)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sale = json.loads(done.stdout)
    import sqlite3

    row = (
        sqlite3.connect(tmp_path / "var" / "medpos.db")
        .execute(
            "SELECT mdtrt_cert_type, mdtrt_cert_no, card_no, card_sn, psn_name FROM txns "
            "WHERE txn_id = ?",
            (sale["txn_id"],),
        )
        .fetchone()
    )
    assert row[0] == "03" and row[1] == row[2] == person.card_no
    assert row[3].startswith("330100D156000005") and row[4] == person.name


def card_doc_for(person: Any) -> dict[str, Any]:
    from terminal.demo.cards import demo_card_doc

    return demo_card_doc(person, 0x20000001, date.today())


def test_card_watch_reports_insertion_and_removal(
    insert: Callable[..., VpcdClient],
    demo: Callable[..., dict[str, Any]],
    make_config: Callable[..., Path],
) -> None:
    env = medpos_env(make_config())
    watch = subprocess.Popen(
        [MEDPOS, "card", "watch", "--reader", CARD_READER, "--count", "3"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert watch.stdout is not None
    try:
        first = json.loads(watch.stdout.readline())
        assert first == {"event": "reader_added", "reader": CARD_READER}
        client = insert(demo(0))
        inserted = json.loads(watch.stdout.readline())
        assert inserted["event"] == "card_inserted" and inserted["atr"]
        client.close()
        removed = json.loads(watch.stdout.readline())
        assert removed == {"event": "card_removed", "reader": CARD_READER}
        assert watch.wait(timeout=10) == 0
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait(timeout=10)
        watch.stdout.close()


def test_the_pin_never_reaches_the_log(
    insert: Callable[..., VpcdClient],
    psam: VpcdClient,
    demo: Callable[..., dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    insert(demo(0, pin="246813"))
    with caplog.at_level(logging.DEBUG, logger="drivers.card"):
        read_card_data(CARD_READER, SAM_READER, pin="246813")
    text = caplog.text
    assert "00200000" in text  # the VERIFY command was logged, without its data
    assert "246813" not in text and "24681" not in text


def test_the_demo_card_set_is_written_and_served_by_vcard(
    pcscd: None, tmp_path: Path, make_config: Callable[..., Path], today: date
) -> None:
    env = medpos_env(make_config())
    done = subprocess.run(
        [MEDPOS, "vcard", "demo", str(tmp_path / "cards")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    files = sorted(p.name for p in (tmp_path / "cards").iterdir())
    assert {"psam.json", "card-v2.json", "card-counterfeit.json", "card-expired.json"} <= set(files)
    serve = [
        subprocess.Popen(
            [MEDPOS, "vcard", "serve", "--card", str(tmp_path / "cards" / f), "--slot", slot],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for f, slot in (("psam.json", "1"), (files[0], "0"))
    ]
    try:
        for proc in serve:
            assert proc.stdout is not None and "inserted" in proc.stdout.readline()
        wait_for(CARD_READER, True)
        wait_for(SAM_READER, True)
        read = read_card_data(CARD_READER, SAM_READER)
        assert read.authenticated and read.card_no == files[0][5:14]
    finally:
        for proc in serve:
            proc.terminate()
            proc.wait(timeout=10)
            assert proc.stdout is not None
            proc.stdout.close()
        wait_for(CARD_READER, False)
        wait_for(SAM_READER, False)  # the PSAM's process too, before the next test's PSAM


def test_every_demo_card_reads_as_its_person(
    insert: Callable[..., VpcdClient], psam: VpcdClient, today: date
) -> None:
    from terminal.demo import demo_people
    from terminal.demo.cards import demo_card_doc

    for i, person in enumerate(demo_people(today)):
        client = insert(demo_card_doc(person, 0x30000001 + i, today))
        read = read_card_data(CARD_READER, SAM_READER)
        identity = identity_from_card(read, None, today)
        assert (identity.psn_cert, identity.name, identity.card_no) == (
            person.psn_cert,
            person.name,
            person.card_no,
        )
        assert (read.sex, read.ethnicity, read.birthplace) == (
            person.sex,
            person.ethnicity,
            person.birthplace,
        )
        client.close()
        wait_for(CARD_READER, False)


def test_a_terminal_that_requires_the_pin_asks_for_it(
    insert: Callable[..., VpcdClient],
    psam: VpcdClient,
    tmp_path: Path,
    make_config: Callable[..., Path],
    today: date,
) -> None:
    from terminal.demo import demo_basket, demo_people
    from terminal.demo.cards import demo_card_doc

    person = demo_people(today)[0]
    insert(demo_card_doc(person, 0x40000001, today, pin="135790"))
    basket = tmp_path / "basket.json"
    basket.write_text(json.dumps(demo_basket("pharmacy")), encoding="utf-8")
    env = medpos_env(make_config(card={"require_pin": True}))
    args = [MEDPOS, "checkout", "--card", "--basket", str(basket)]
    refused = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    assert refused.returncode == 4 and json.loads(refused.stdout)["error"] == "pin_required"
    wrong = subprocess.run(
        [*args, "--pin-stdin"],
        input="000000\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert wrong.returncode == 4 and json.loads(wrong.stdout)["error"] == "pin_wrong"
    assert "000000" not in wrong.stdout + wrong.stderr
    done = subprocess.run(
        [*args, "--pin-stdin"],
        input="135790\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_waiting_for_a_change_ends_when_the_card_goes_in_not_at_the_timeout(
    insert: Callable[..., VpcdClient], demo: Callable[..., dict[str, Any]]
) -> None:
    import threading
    import time

    from drivers.card.pcsc import card_atr, wait_for_change

    assert card_atr(CARD_READER) is None
    later = threading.Timer(0.3, lambda: insert(demo(0)))
    later.start()
    started = time.monotonic()
    wait_for_change({CARD_READER: False}, 60.0)  # the card, not the minute, ends the wait
    waited = time.monotonic() - started
    later.join()
    assert waited < 30.0
    assert wait_for(CARD_READER, True)
    # what the caller saw is stale already (a card is in): the wait ends at once
    started = time.monotonic()
    wait_for_change({CARD_READER: False}, 60.0)
    assert time.monotonic() - started < 30.0

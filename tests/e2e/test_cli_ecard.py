"""`medpos ecard keygen | mint | verify` and `medpos checkout --ecard` from the outside."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from terminal.demo import demo_basket, demo_people
from terminal.demo.ecard import demo_ecard_claims, demo_issuer_key
from terminal.identity.issuer import mint_ecard
from tests.conftest import HIGH_LIMITS
from tests.support.cli import as_process, in_process, lines

CLAIMS = {
    "card_no": "HA1046913",
    "psn_cert": "330102197001011235",
    "name": "张伟",
    "insuplc_admdvs": "330100",
    "insutype": "310",
}


@pytest.fixture
def issuer(tmp_path: Path, config_path: Path) -> Path:
    done = in_process(
        config_path, "ecard", "keygen", "--out", str(tmp_path / "keys"), "--alg", "EdDSA"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["entry"]["alg"] == "EdDSA"
    key = tmp_path / "keys" / "issuer.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    (tmp_path / "claims.json").write_text(json.dumps(CLAIMS, ensure_ascii=False))
    return tmp_path / "keys"


def mint(config: Path, keys: Path, *extra: str) -> str:
    done = in_process(
        config,
        "ecard",
        "mint",
        "--key",
        str(keys / "issuer.pem"),
        "--claims",
        str(keys.parent / "claims.json"),
        *extra,
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout.strip()
    assert text.startswith("ESC1:")
    return text


def test_keygen_mint_verify_round_trip(config_path: Path, issuer: Path) -> None:
    text = mint(config_path, issuer)
    done = as_process(
        config_path, "ecard", "verify", "--trust-list", str(issuer / "issuer.trust-list.json"), text
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["psn_cert"] == CLAIMS["psn_cert"] and out["alg"] == "EdDSA"
    assert out["iss"] == "CN-330100" and out["exp"] - out["iat"] == 300


def test_verify_failures_print_the_code_and_exit_1(config_path: Path, issuer: Path) -> None:
    trust = str(issuer / "issuer.trust-list.json")
    text = mint(config_path, issuer, "--iat", "1700000000")
    done = in_process(config_path, "ecard", "verify", "--trust-list", trust, text)
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"] in ("expired", "key_not_valid")
    text = mint(config_path, issuer)
    late = str(int(time.time()) + 3600)
    done = in_process(config_path, "ecard", "verify", "--trust-list", trust, "--now", late, text)
    assert done.returncode == 1 and json.loads(done.stdout)["error"] == "expired"
    done = in_process(config_path, "ecard", "verify", "--trust-list", trust, "HC1:abc")
    assert done.returncode == 1
    assert json.loads(done.stdout) == {
        "error": "prefix",
        "message": "this is not an e-card code: ask the customer to open the e-card QR code",
    }
    hotlist = issuer / "hotlist.json"
    hotlist.write_text(
        json.dumps(
            {
                "version": 1,
                "issued_at": 0,
                "entries": [{"kind": "card_no", "value": CLAIMS["card_no"], "reason": "lost"}],
            }
        )
    )
    done = in_process(
        config_path, "ecard", "verify", "--trust-list", trust, "--hotlist", str(hotlist), text
    )
    assert done.returncode == 1 and json.loads(done.stdout)["error"] == "hotlisted"


def test_a_replay_db_remembers_codes_across_restarts(
    config_path: Path, issuer: Path, tmp_path: Path
) -> None:
    trust = str(issuer / "issuer.trust-list.json")
    replay = str(tmp_path / "replay.db")
    text = mint(config_path, issuer)
    first = in_process(
        config_path, "ecard", "verify", "--trust-list", trust, "--replay-db", replay, text
    )
    assert first.returncode == 0, first.stdout
    # without --replay-db nothing is recorded, so the same code verifies again
    again = in_process(config_path, "ecard", "verify", "--trust-list", trust, text)
    assert again.returncode == 0
    second = in_process(
        config_path, "ecard", "verify", "--trust-list", trust, "--replay-db", replay, text
    )
    assert second.returncode == 1 and json.loads(second.stdout)["error"] == "replay"


def test_bad_inputs_name_the_file(config_path: Path, issuer: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1, "keys": []}')
    done = in_process(config_path, "ecard", "verify", "--trust-list", str(bad), "ESC1:")
    assert done.returncode == 2 and "issued_at" in json.loads(done.stdout)["message"]
    done = in_process(config_path, "ecard", "mint", "--key", str(bad), "--claims", str(bad))
    assert done.returncode == 2 and str(bad) in done.stderr
    (tmp_path / "claims-bad.json").write_text(json.dumps({"card_no": "X"}))
    done = in_process(
        config_path,
        "ecard",
        "mint",
        "--key",
        str(issuer / "issuer.pem"),
        "--claims",
        str(tmp_path / "claims-bad.json"),
    )
    assert done.returncode == 2 and "psn_cert" in done.stderr
    done = in_process(config_path, "ecard", "keygen", "--out", str(issuer))
    assert done.returncode == 2 and "exists" in done.stderr


@pytest.fixture
def demo_terminal(make_config: Callable[..., Path], tmp_path: Path) -> Path:
    config = make_config(risk=HIGH_LIMITS)
    basket = tmp_path / "basket.json"
    basket.write_text(json.dumps(demo_basket("pharmacy"), ensure_ascii=False))
    done = in_process(
        config, "report", "day"
    )  # first start: seeds the demo data and the trust list
    assert done.returncode == 0, done.stderr
    return config


def demo_code(config: Path, index: int = 0, **claims: str) -> str:
    person = demo_people(date.today())[index]
    key = demo_issuer_key(config.parent / "var")
    return mint_ecard(key, {**demo_ecard_claims(person), **claims}, iat=int(time.time()))


def test_checkout_by_ecard_records_type_01_and_uses_the_code_once(
    demo_terminal: Path, tmp_path: Path
) -> None:
    basket = str(tmp_path / "basket.json")
    text = demo_code(demo_terminal)
    done = in_process(demo_terminal, "checkout", "--ecard", text, "--basket", basket)
    assert done.returncode == 0, done.stderr
    sale = lines(done.stdout)[0]
    db = sqlite3.connect(demo_terminal.parent / "var" / "medpos.db")
    try:
        row = db.execute(
            "SELECT mdtrt_cert_type, mdtrt_cert_no, card_no FROM txns WHERE txn_id = ?",
            (sale["txn_id"],),
        ).fetchone()
    finally:
        db.close()
    person = demo_people(date.today())[0]
    # platform-api.md: an e-card sale names the code's cti (hex) and the card number
    assert row[0] == "01" and len(row[1]) == 32 and row[2] == person.card_no
    # the same code again, in a new process: a replay, and nothing written
    again = in_process(demo_terminal, "checkout", "--ecard", text, "--basket", basket)
    assert again.returncode == 4 and lines(again.stdout)[0]["error"] == "replay"
    # a fresh code for the same person sells
    fresh = as_process(  # the installed command, the code on its standard input
        demo_terminal,
        "checkout",
        "--ecard",
        "-",
        "--basket",
        basket,
        stdin=demo_code(demo_terminal) + "\n",
    )
    assert fresh.returncode == 0, fresh.stderr


def test_checkout_by_ecard_refuses_a_forged_or_unknown_code(
    demo_terminal: Path, tmp_path: Path
) -> None:
    basket = str(tmp_path / "basket.json")
    text = demo_code(demo_terminal)
    forged = text[:-6] + ("AAAAAA" if not text.endswith("AAAAAA") else "BBBBBB")
    done = in_process(demo_terminal, "checkout", "--ecard", forged, "--basket", basket)
    assert done.returncode == 4
    assert lines(done.stdout)[0]["error"] in ("signature", "zlib", "cose", "base45")
    stranger = demo_code(demo_terminal, psn_cert="11010519491231002X", card_no="BJ0000001")
    done = in_process(demo_terminal, "checkout", "--ecard", stranger, "--basket", basket)
    assert done.returncode == 1 and lines(done.stdout)[0]["error"] == "unknown_person"


def test_ecard_checkout_stops_when_the_trust_list_is_too_old(
    demo_terminal: Path, tmp_path: Path
) -> None:
    text = demo_code(demo_terminal)
    db = sqlite3.connect(demo_terminal.parent / "var" / "medpos.db")
    try:
        with db:
            db.execute(
                "UPDATE refdata SET confirmed_at = '2020-01-01T00:00:00+08:00' "
                "WHERE kind = 'trustlist'"
            )
    finally:
        db.close()
    done = in_process(
        demo_terminal, "checkout", "--ecard", text, "--basket", str(tmp_path / "basket.json")
    )
    assert done.returncode == 4
    refusal = lines(done.stdout)[0]
    assert refusal["error"] == "trust_list_stale" and "sync" in refusal["message"]


def test_verify_reads_the_code_from_a_photographed_image(
    config_path: Path, issuer: Path, tmp_path: Path
) -> None:
    import cv2
    import numpy as np

    from drivers.qr.synth import photograph, render_qr

    trust = str(issuer / "issuer.trust-list.json")
    png = tmp_path / "code.png"
    text = mint(config_path, issuer, "--png", str(png))
    assert png.stat().st_size > 0
    shot = tmp_path / "shot.jpg"
    frame = photograph(render_qr(text, 6), np.random.default_rng(3), kind="perspective")
    cv2.imwrite(str(shot), frame)
    for image in (png, shot):
        done = in_process(
            config_path, "ecard", "verify", "--trust-list", trust, "--image", str(image)
        )
        assert done.returncode == 0, (image, done.stdout)
        assert json.loads(done.stdout)["card_no"] == CLAIMS["card_no"]
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200), 255, np.uint8))
    done = in_process(config_path, "ecard", "verify", "--trust-list", trust, "--image", str(blank))
    assert done.returncode == 1 and json.loads(done.stdout)["error"] == "no_code"

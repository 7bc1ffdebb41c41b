"""The whole e-card chain: mint → render with qrcode → photograph with every distortion → read
back through the camera pipeline → verify offline; and the scanner and virtual-phone sources."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from drivers.qr.capture import FolderSource, QrReader
from drivers.qr.synth import KINDS, photograph, render_qr
from terminal.identity.ecard import parse_trust_list, verify_ecard
from terminal.identity.issuer import generate_issuer_key, mint_ecard, trust_entry
from tests.conftest import MEDPOS, medpos_env

NOW = 1_790_000_000
PEOPLE = [
    ("HA1046913", "330102197001011235", "张伟"),
    ("HA1046926", "11010519491231002X", "阿依古丽·买买提明·托合提尼亚孜"),
]


def test_minted_codes_survive_every_distortion_and_verify(tmp_path: Path) -> None:
    keys = [generate_issuer_key("ES256"), generate_issuer_key("EdDSA")]
    trust = parse_trust_list(
        {
            "version": 1,
            "issued_at": 0,
            "keys": [trust_entry(k, "CN-330100", 0, 2**40) for k in keys],
        }
    )
    minted = []
    for i, kind in enumerate(KINDS):
        card_no, psn_cert, name = PEOPLE[i % 2]
        claims = {
            "card_no": card_no,
            "psn_cert": psn_cert,
            "name": name,
            "insuplc_admdvs": "330100",
            "insutype": "310",
        }
        text = mint_ecard(keys[i % 2], claims, iat=NOW + i)
        frame = photograph(render_qr(text, 6), np.random.default_rng(i), kind=kind)
        cv2.imwrite(str(tmp_path / f"{i:02d}-{kind}.png"), frame)
        minted.append(text)
    with QrReader(FolderSource(tmp_path), dedup_seconds=0) as reader:
        events = list(reader.events(timeout=60))
    assert [e["text"] for e in events] == minted
    seen: set[bytes] = set()
    for event in events:
        verified = verify_ecard(event["text"], trust, now=NOW + 20, seen=seen.__contains__)
        assert verified.cti not in seen
        seen.add(verified.cti)
        assert verified.identity().mdtrt_cert_type == "01"
    assert len(seen) == len(KINDS)


def _env(config: Path) -> dict[str, str]:
    env = medpos_env(config)
    return env


def test_qr_watch_reads_a_keyboard_wedge_scanner_on_stdin(config_path: Path) -> None:
    lines = "ESC1:ABC\r\n\nESC1:DEF\n6901234567892\n"
    done = subprocess.run(
        [MEDPOS, "qr", "watch", "--scanner", "--count", "3"],
        input=lines,
        capture_output=True,
        text=True,
        env=_env(config_path),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["text"] for e in events] == ["ESC1:ABC", "ESC1:DEF", "6901234567892"]
    assert {e["source"] for e in events} == {"scanner"}


def test_qr_watch_on_the_embedded_default_reads_the_virtual_phone(
    make_config: Callable[..., Path],
) -> None:
    config = make_config()
    done = subprocess.run(
        [MEDPOS, "qr", "watch", "--count", "1"],
        capture_output=True,
        text=True,
        env=_env(config),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    event = json.loads(done.stdout.splitlines()[0])
    assert event["source"] == "virtual phone" and event["text"].startswith("ESC1:")
    # the code verifies against the demo trust list seeded in the same data directory
    conn = sqlite3.connect(config.parent / "var" / "medpos.db")
    try:
        body = conn.execute("SELECT body FROM refdata WHERE kind = 'trustlist'").fetchone()[0]
    finally:
        conn.close()
    verified = verify_ecard(event["text"], parse_trust_list(json.loads(body)), now=int(time.time()))
    assert verified.ecard["insuplc_admdvs"] == "330100"


def test_qr_watch_without_a_source_says_what_to_give(make_config: Callable[..., Path]) -> None:
    config = make_config(qr={"source": "none"})
    done = subprocess.run(
        [MEDPOS, "qr", "watch"],
        capture_output=True,
        text=True,
        env=_env(config),
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "--scanner" in done.stderr

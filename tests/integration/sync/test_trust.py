"""The platform as the anchor outside the terminal (platform-api.md "Trust rules"), against a real
hub process: the chain head in every acknowledgement finds a database restored from an older
copy; `ledger verify --platform` finds entries cut off and re-signed with the device key; a
freshly enrolled terminal sells with the platform's catalogue; `sync --once` says when the
platform could not be reached."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from terminal.config import load_config
from terminal.ledger import SqliteLedger, entry_hash
from tests.conftest import free_port
from tests.integration.sync.conftest import Platform, lines, medpos, terminal_config

pytestmark = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)


def _enrolled(platform: Platform, make_config: Callable[..., Path]) -> tuple[Path, Path]:
    """A terminal enrolled with `platform`: its config and database path."""
    config = terminal_config(make_config, platform, "t1")
    enrolled = medpos(config, "enrol", "--code", platform.enrol_code())
    assert enrolled.returncode == 0, enrolled.stderr
    return config, load_config(config, env={}).db_path


def _sell(config: Path, demo_dir: Path, n: int) -> None:
    claim = str(demo_dir / "claim-pharmacy.json")
    sold = medpos(config, "checkout", "--claim", claim, "--repeat", str(n))
    assert sold.returncode == 0, sold.stderr


def _copy(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (its WAL included)."""
    src, dst = sqlite3.connect(str(source)), sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def test_an_enrolled_terminal_sells_with_the_platforms_catalogue(
    platform: Platform, make_config: Callable[..., Path], demo_dir: Path
) -> None:
    # the enrolment fetched the reference data: the sale names the platform's catalogue version
    # (before, the seeded version 0 went up and every such sale was `rejected unknown_catalogue`)
    config, _ = _enrolled(platform, make_config)
    _sell(config, demo_dir, 2)
    synced = medpos(config, "sync", "--once")
    assert synced.returncode == 0, synced.stderr
    assert lines(synced.stdout)[0]["upload"]["acked"] == {"accepted": 2}, synced.stdout


def test_sync_once_exits_1_when_the_platform_cannot_be_reached(
    platform: Platform, make_config: Callable[..., Path]
) -> None:
    config, _ = _enrolled(platform, make_config)
    gone = make_config(
        "t1.toml", platform={"url": f"http://127.0.0.1:{free_port()}"}
    )  # nothing to upload, the platform gone
    offline = medpos(gone, "sync", "--once")
    assert offline.returncode == 1, offline.stdout
    assert lines(offline.stdout)[0]["status"]["online"] is False


def test_a_database_restored_from_an_older_copy_stops_insurance_sales(
    platform: Platform, make_config: Callable[..., Path], demo_dir: Path, tmp_path: Path
) -> None:
    config, db = _enrolled(platform, make_config)
    _sell(config, demo_dir, 2)
    assert medpos(config, "sync", "--once").returncode == 0
    _copy(db, tmp_path / "backup.db")  # the nightly copy
    _sell(config, demo_dir, 2)
    assert medpos(config, "sync", "--once").returncode == 0
    # the disk died; the older copy is put back (its sales 1 and 2 acknowledged, 3 and 4 gone)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(tmp_path / "backup.db", db)

    synced = medpos(config, "sync", "--once")
    assert synced.returncode == 3, (synced.stdout, synced.stderr)
    assert "restored from an older copy" in synced.stderr
    status = lines(medpos(config, "sync", "status").stdout)[0]
    assert status["rolled_back"]["platform"]["seq"] == 4, status
    assert status["rolled_back"]["local"]["seq"] == 2, status
    claim = str(demo_dir / "claim-pharmacy.json")
    refused = medpos(config, "checkout", "--claim", claim)
    assert refused.returncode == 4, (refused.stdout, refused.stderr)
    assert "rolled_back" in refused.stdout + refused.stderr
    self_pay = medpos(config, "checkout", "--claim", claim, "--self-pay")
    assert self_pay.returncode == 0, self_pay.stderr  # no insurance: still sold


def test_verify_platform_finds_uploaded_entries_cut_and_resigned(
    platform: Platform, make_config: Callable[..., Path], demo_dir: Path
) -> None:
    config, db = _enrolled(platform, make_config)
    _sell(config, demo_dir, 4)
    assert medpos(config, "sync", "--once").returncode == 0
    assert medpos(config, "ledger", "verify", "--platform").returncode == 0

    # someone with the database and the device key: entry 4 cut off, entry 3 changed and
    # re-signed, the local anchors made to agree
    dev_no = load_config(config, env={}).terminal.dev_no
    raw = sqlite3.connect(str(db), isolation_level=None)
    for trigger in ("ledger_no_update", "ledger_no_delete"):
        raw.execute(f"DROP TRIGGER {trigger}")
    for table in ("ledger", "txns", "txn_lines", "txn_accumulators", "acks"):
        raw.execute(f"DELETE FROM {table} WHERE seq = 4")
    raw.execute("UPDATE txns SET psn_cash_pay = psn_cash_pay + 100 WHERE seq = 3")
    with SqliteLedger.open(db, dev_no=dev_no) as ledger:
        upload = ledger.upload_input(f"{dev_no}-3")
        digest = entry_hash(upload)
        sig = ledger.key.sign_b64(bytes.fromhex(digest))
    raw.execute("UPDATE ledger SET hash = ?, sig = ? WHERE seq = 3", (digest, sig))
    for key, value in (("head_seq", "3"), ("head_hash", digest), ("last_acked_seq", "3")):
        raw.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
    raw.close()

    plain = medpos(config, "ledger", "verify")
    assert plain.returncode == 0, plain.stdout  # every local check holds
    checked = medpos(config, "ledger", "verify", "--platform", "--json")
    assert checked.returncode == 1, checked.stdout
    report = lines(checked.stdout)[0]
    assert (report["bad_seq"], report["anchor"]) == (3, "platform"), report
    assert "changed after it was uploaded" in report["problem"], report

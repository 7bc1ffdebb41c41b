"""The `medpos` command from the outside: settle-and-commit, refusals, refund, day close, verify.

The first test runs the installed `medpos` as processes; the others call its `main` in this
process (tests/support/cli.py): the same exit codes, JSON lines and messages, on real files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HIGH_LIMITS
from tests.support.cli import as_process, in_process, lines


def test_checkout_repeat_prints_one_line_per_commit_and_the_ledger_verifies(
    make_config: Callable[..., Path], claim_file: Path
) -> None:
    config = make_config(risk=HIGH_LIMITS)
    done = as_process(config, "checkout", "--claim", str(claim_file), "--repeat", "3")
    assert done.returncode == 0, done.stderr
    out = lines(done.stdout)
    assert [o["seq"] for o in out] == [1, 2, 3]
    assert set(out[0]) == {"txn_id", "seq", "hash", "setlinfo"}
    assert all(isinstance(v, str) for v in out[0]["setlinfo"].values())
    verify = as_process(config, "ledger", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "3 entries" in verify.stdout


def test_an_invalid_claim_exits_2_naming_file_and_field_and_writes_nothing(
    make_config: Callable[..., Path], claim_file: Path, tmp_path: Path
) -> None:
    config = make_config(risk=HIGH_LIMITS)
    claim = json.loads(claim_file.read_text(encoding="utf-8"))
    claim["basket"][0]["qty"] = "-1"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(claim), encoding="utf-8")
    done = in_process(config, "checkout", "--claim", str(bad))
    assert done.returncode == 2
    assert f"{bad}: basket[0].qty" in done.stderr
    not_json = tmp_path / "broken.json"
    not_json.write_text("{", encoding="utf-8")
    done = in_process(config, "checkout", "--claim", str(not_json))
    assert done.returncode == 2 and "not valid JSON" in done.stderr
    db = tmp_path / "var" / "medpos.db"
    if db.exists():
        assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM txns").fetchone()[0] == 0


def test_an_offline_limit_exits_4_with_the_refusal(
    make_config: Callable[..., Path], claim_file: Path
) -> None:
    config = make_config(risk={"offline_max_sales_per_person_day": 1})
    assert in_process(config, "checkout", "--claim", str(claim_file)).returncode == 0
    done = in_process(config, "checkout", "--claim", str(claim_file))
    assert done.returncode == 4
    assert lines(done.stdout) == [
        {"error": "offline_person_count", "message": lines(done.stdout)[0]["message"]}
    ]
    assert "offline insurance sales today" in done.stderr


def test_no_scheme_exits_3(
    make_config: Callable[..., Path], claim_file: Path, tmp_path: Path
) -> None:
    config = make_config(risk=HIGH_LIMITS)
    claim = json.loads(claim_file.read_text(encoding="utf-8"))
    claim["person"]["insuplc_admdvs"] = "110100"
    other = tmp_path / "beijing.json"
    other.write_text(json.dumps(claim), encoding="utf-8")
    done = in_process(config, "checkout", "--claim", str(other))
    assert done.returncode == 3, done.stderr
    assert "no scheme" in done.stderr


def test_refund_day_close_report_and_verify(
    make_config: Callable[..., Path], claim_file: Path
) -> None:
    config = make_config(risk=HIGH_LIMITS)
    sales = lines(
        in_process(config, "checkout", "--claim", str(claim_file), "--repeat", "2").stdout
    )
    refund = in_process(
        config, "refund", sales[0]["txn_id"], "--reason", "returned", "--operator", "sup01"
    )
    assert refund.returncode == 0, refund.stderr
    assert lines(refund.stdout)[0]["orig_txn_id"] == sales[0]["txn_id"]
    again = in_process(config, "refund", sales[0]["txn_id"], "--reason", "x", "--operator", "sup01")
    assert again.returncode == 1 and "already refunded" in again.stderr
    live = lines(in_process(config, "report", "day").stdout)[0]
    assert live["closed"] is False and live["sale_count"] == 2 and live["reversal_count"] == 1
    closed = in_process(config, "day", "close", "--operator", "sup01")
    assert closed.returncode == 0, closed.stderr
    closure = lines(closed.stdout)[0]
    assert closure["fund_pay_sumamt"] == sales[1]["setlinfo"]["fund_pay_sumamt"]
    assert lines(in_process(config, "report", "day").stdout)[0]["hash"] == closure["hash"]
    assert in_process(config, "day", "close").returncode == 1
    assert in_process(config, "ledger", "verify").returncode == 0


def test_a_tampered_ledger_fails_verify_naming_the_seq(
    make_config: Callable[..., Path], claim_file: Path, tmp_path: Path
) -> None:
    config = make_config(risk=HIGH_LIMITS)
    in_process(config, "checkout", "--claim", str(claim_file), "--repeat", "3")
    db = tmp_path / "var" / "medpos.db"
    sqlite3.connect(db, isolation_level=None).execute(
        "UPDATE txns SET acct_pay = acct_pay + 1 WHERE seq = 2"
    )
    done = in_process(config, "ledger", "verify")
    assert done.returncode == 1
    assert "seq 2" in done.stdout


def test_a_bad_config_stops_with_exit_2(tmp_path: Path, claim_file: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[risk]\nmax_sync_age_h = 'x'\n", encoding="utf-8")
    done = in_process(bad, "checkout", "--claim", str(claim_file))
    assert done.returncode == 2
    assert "max_sync_age_h: expected an integer" in done.stderr


@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    """A real 2 MiB file system (tmpfs) for the terminal's data directory."""
    if os.geteuid() != 0:
        pytest.fail("mounting a small tmpfs needs root: run the suite as root (CI does)")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(directory: Path) -> None:
    """Write zeros until the file system refuses: the disk is full."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


def test_a_full_disk_gives_a_clear_error_and_no_partial_sale(
    make_config: Callable[..., Path], claim_file: Path, small_disk: Path
) -> None:
    config = make_config(risk=HIGH_LIMITS, terminal={"data_dir": str(small_disk)})
    assert in_process(config, "checkout", "--claim", str(claim_file)).returncode == 0
    _fill(small_disk)
    done = in_process(config, "checkout", "--claim", str(claim_file), "--repeat", "50")
    assert done.returncode == 1, done.stderr
    assert "disk full" in done.stderr and "nothing was written" in done.stderr
    printed = len(lines(done.stdout))
    (small_disk / "filler").unlink()
    db = small_disk / "medpos.db"
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM txns").fetchone()[0] == 1 + printed
    assert in_process(config, "ledger", "verify").returncode == 0


def test_a_read_only_file_system_gives_a_clear_error_and_no_partial_sale(
    make_config: Callable[..., Path], claim_file: Path, small_disk: Path
) -> None:
    config = make_config(risk=HIGH_LIMITS, terminal={"data_dir": str(small_disk)})
    assert in_process(config, "checkout", "--claim", str(claim_file)).returncode == 0
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        done = in_process(config, "checkout", "--claim", str(claim_file))
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    assert done.returncode == 1, done.stderr
    assert "read-only" in done.stderr or "cannot open" in done.stderr, done.stderr
    db = small_disk / "medpos.db"
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM txns").fetchone()[0] == 1


def test_a_locked_database_gives_a_clear_error_and_no_partial_sale(
    make_config: Callable[..., Path], claim_file: Path, tmp_path: Path
) -> None:
    config = make_config(risk=HIGH_LIMITS)
    assert in_process(config, "checkout", "--claim", str(claim_file)).returncode == 0
    holder = sqlite3.connect(tmp_path / "var" / "medpos.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        done = in_process(config, "checkout", "--claim", str(claim_file))
    finally:
        holder.execute("ROLLBACK")
    assert done.returncode == 1
    assert "busy" in done.stderr and "try again" in done.stderr
    assert holder.execute("SELECT COUNT(*) FROM txns").fetchone()[0] == 1


def test_operator_sign_in_and_out_are_audited_offline(make_config: Callable[..., Path]) -> None:
    config = make_config()
    signed = in_process(config, "signin", "--operator", "c01", "--name", "王芳")
    assert signed.returncode == 0, signed.stderr
    assert lines(signed.stdout)[0] == {"operator": "c01", "sign_no": "", "platform": False}
    assert in_process(config, "signout", "--operator", "c01").returncode == 0
    db = sqlite3.connect(config.parent / "var" / "medpos.db")
    try:
        kinds = [r[0] for r in db.execute("SELECT kind FROM audit WHERE actor = 'c01' ORDER BY id")]
    finally:
        db.close()
    assert kinds == ["sign_in", "sign_out"]
    assert in_process(config, "signin", "--operator", " ").returncode == 2

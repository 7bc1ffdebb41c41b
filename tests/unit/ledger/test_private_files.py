"""The device key, the databases and the tokens medpos writes are private (mode 0600); a key
file open to others is refused with the `chmod` that fixes it (docs/security.md "Files, keys and
untrusted input")."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.errors import ConfigError
from terminal.files import create_private_database, write_private_file
from terminal.ledger import SqliteLedger
from terminal.ledger.keys import DeviceKey


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common default umask (022), under which files are born 0644 unless asked otherwise."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_terminal_has_its_key_its_database_and_its_wal_private(tmp_path: Path) -> None:
    db = tmp_path / "data" / "medpos.db"
    with SqliteLedger.open(db, dev_no="T1") as ledger:
        ledger.conn.execute("CREATE TABLE probe (x)")  # a write: the -wal and -shm exist now
        ledger.conn.commit()
        files = [db, db.with_name("medpos.db-wal"), db.with_name("medpos.db-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    assert mode(tmp_path / "data" / "device_key.pem") == 0o600


def test_a_device_key_readable_by_others_is_refused_with_the_chmod_that_fixes_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "device_key.pem"
    DeviceKey.load_or_create(path)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError) as refused:
        DeviceKey.load_or_create(path)
    assert f"chmod 600 {path}" in str(refused.value)
    assert "0644" in str(refused.value)
    os.chmod(path, 0o600)
    DeviceKey.load_or_create(path)  # fixed as the message says


@pytest.mark.parametrize("loose", [0o640, 0o604, 0o620, 0o602])
def test_a_device_key_open_to_group_or_others_in_any_way_is_refused(
    tmp_path: Path, loose: int
) -> None:
    path = tmp_path / "device_key.pem"
    DeviceKey.load_or_create(path)
    os.chmod(path, loose)
    with pytest.raises(ConfigError, match="chmod 600"):
        DeviceKey.load_or_create(path)


def test_a_ledger_on_a_key_open_to_others_is_not_opened(tmp_path: Path) -> None:
    db = tmp_path / "medpos.db"
    SqliteLedger.open(db, dev_no="T1").close()
    os.chmod(tmp_path / "device_key.pem", 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        SqliteLedger.open(db, dev_no="T1")


def test_a_database_found_open_to_others_is_tightened_at_open(tmp_path: Path) -> None:
    db = tmp_path / "medpos.db"
    SqliteLedger.open(db, dev_no="T1").close()
    os.chmod(db, 0o644)
    (tmp_path / "medpos.db-wal").write_bytes(b"")
    os.chmod(tmp_path / "medpos.db-wal", 0o666)
    create_private_database(db)
    assert mode(db) == 0o600
    assert mode(tmp_path / "medpos.db-wal") == 0o600


def test_a_private_file_is_written_0600_even_over_a_looser_leftover(tmp_path: Path) -> None:
    path = tmp_path / "hub-enrol-code"
    (tmp_path / "hub-enrol-code.tmp").write_text("old")
    os.chmod(tmp_path / "hub-enrol-code.tmp", 0o666)
    write_private_file(path, b"ABCD\n")
    assert path.read_bytes() == b"ABCD\n"
    assert mode(path) == 0o600
    assert not (tmp_path / "hub-enrol-code.tmp").exists()

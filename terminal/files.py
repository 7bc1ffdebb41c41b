"""Private files: the device key, the databases and tokens medpos writes are mode 0600.

SQLite creates a database's `-wal`, `-shm` and `-journal` files with the mode of the database
file itself (its unix VFS copies it), so creating the database file 0600 before SQLite opens it
makes all of them 0600 without touching the process-wide umask. A database file medpos owns that
is found with a looser mode is tightened at open and a warning logged (its contents are personal
data, but not a secret that may already have leaked); a key file is refused instead
(`terminal/ledger/keys.py`). docs/security.md "Files, keys and untrusted input".
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from terminal.errors import ConfigError, LedgerError

__all__ = ["check_private_file", "create_private_database", "write_private_file"]

log = logging.getLogger(__name__)

PRIVATE = 0o600
# what group and others may do to a private file: nothing
_NOT_PRIVATE = 0o077
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def check_private_file(path: Path, mode: int, what: str) -> None:
    """ConfigError when `mode` (a file's st_mode) lets group or others read or write `path`."""
    if os.name == "posix" and mode & _NOT_PRIVATE:
        raise ConfigError(
            f"{what} {path} is open to group or others (mode {mode & 0o777:04o}): run "
            f"`chmod 600 {path}` as its owner, and replace the key if someone else may have "
            "copied it"
        )


def create_private_database(path: Path) -> None:
    """Create the SQLite file `path` empty with mode 0600 when it does not exist, and tighten it
    and its side files to 0600 when they do (an empty file is a new database to SQLite)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        pass
    else:
        os.close(fd)
        return
    if os.name != "posix":  # pragma: no cover - medpos runs on Linux
        return
    for file in (path, *(path.with_name(path.name + s) for s in _SQLITE_SIDE_FILES)):
        try:
            mode = file.stat().st_mode
            if mode & _NOT_PRIVATE:
                os.chmod(file, PRIVATE)
                log.warning("%s was mode %04o: tightened to 0600", file, mode & 0o777)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise LedgerError(
                f"{file} is open to group or others and cannot be made private "
                f"({exc.strerror}): run `chmod 600 {file}` as its owner"
            ) from None


def write_private_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` (mode 0600) through a temporary file renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, PRIVATE)  # a leftover .tmp from before may have had another mode
    os.replace(tmp, path)

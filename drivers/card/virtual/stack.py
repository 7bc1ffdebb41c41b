"""Starting what the virtual card stack needs: pcscd with the vpcd driver (FIELD-NOTES.md)."""

from __future__ import annotations

import shutil
import subprocess
import time

from drivers.card.errors import ReaderError
from drivers.card.pcsc import list_readers

__all__ = ["ensure_pcscd"]

VPCD_READER = "Virtual PCD 00 00"


def _ready() -> bool:
    try:
        return VPCD_READER in list_readers()
    except ReaderError:
        return False


def ensure_pcscd(timeout_s: float = 20.0) -> subprocess.Popen[bytes] | None:
    """Start `pcscd --foreground` when no vpcd reader is visible; the process to stop, or None.

    A pcscd that exits at once (the one stopped just before still holds its socket) is started
    again until `timeout_s` has passed."""
    if _ready():
        return None
    binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
    deadline = time.monotonic() + timeout_s
    proc: subprocess.Popen[bytes] | None = None
    while time.monotonic() < deadline:
        if proc is None or proc.poll() is not None:
            try:
                proc = subprocess.Popen(
                    [binary, "--foreground"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            except FileNotFoundError:
                raise ReaderError(
                    "pcscd is not installed: `apt-get install pcscd vsmartcard-vpcd` (make setup "
                    "does)"
                ) from None
        if _ready():
            return proc
        time.sleep(0.1)
    if proc is not None:
        proc.terminate()
        proc.wait(timeout=10)
    raise ReaderError("pcscd shows no 'Virtual PCD' reader: install vsmartcard-vpcd")

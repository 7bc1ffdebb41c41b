"""python-escpos's printer database, kept between processes (docs/printer.md).

At import, python-escpos reads its `capabilities.json` (96 KB) with PyYAML's pure-Python loader,
some 0.3 s of CPU, and caches what it read as a pickle in a directory it makes with `mkdtemp()`
for that process alone: no later process finds it, and each leaves a 70 KB file in the temporary
directory. Before the first import, `keep_capabilities` writes that pickle once per user and
library version, from the same file read as JSON (the same objects: JSON is YAML; a test compares
them), atomically, into a directory only this user may write, and points the library at it
(its own `ESCPOS_CAPABILITIES_PICKLE_DIR`); the library then loads it in a millisecond. It still
makes its `mkdtemp()` directory, now empty. An operator's own ESCPOS_CAPABILITIES_PICKLE_DIR or
ESCPOS_CAPABILITIES_FILE is left alone, and where the directory cannot be made private nothing
changes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import platform
import stat
import sys
import tempfile
from pathlib import Path

__all__ = ["PICKLE_DIR_ENV", "capabilities_source", "keep_capabilities", "write_capabilities"]

PICKLE_DIR_ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"
_FILE_ENV = "ESCPOS_CAPABILITIES_FILE"


def capabilities_source() -> Path | None:
    """The capabilities.json python-escpos reads, or None when it is not a plain file."""
    spec = importlib.util.find_spec("escpos")
    if spec is None or spec.origin is None:
        return None
    source = Path(spec.origin).parent / "capabilities.json"
    return source if source.is_file() else None


def write_capabilities(folder: Path, source: Path) -> bool:
    """Make `folder` (mode 0700, this user's) hold the pickle python-escpos looks for, written
    from `source` unless one newer than it is there; False when the folder is not private."""
    folder.mkdir(mode=0o700, exist_ok=True)
    st = folder.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return False
    # the name and the freshness test python-escpos itself uses (escpos/capabilities.py)
    target = folder / f"{platform.python_version()}.capabilities.pickle"
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return True
    data = json.loads(source.read_text(encoding="utf-8"))
    tmp = folder / f"{target.name}.{os.getpid()}.tmp"
    tmp.write_bytes(pickle.dumps(data, protocol=2))
    os.replace(tmp, target)  # a process starting beside this one reads the old file or the new
    return True


def keep_capabilities() -> None:
    """Point python-escpos, not yet imported, at this user's kept printer database."""
    if "escpos.capabilities" in sys.modules or PICKLE_DIR_ENV in os.environ:
        return
    if _FILE_ENV in os.environ:
        return
    source = capabilities_source()
    if source is None:
        return
    folder = Path(tempfile.gettempdir()) / f"medpos-escpos-{os.getuid()}"
    try:
        kept = write_capabilities(folder, source)
    except OSError:
        return
    if kept:
        os.environ[PICKLE_DIR_ENV] = str(folder)

"""python-escpos's printer database kept between processes (drivers/printer/_escpos_cache.py)."""

from __future__ import annotations

import os
import pickle
import platform
import stat
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # python-escpos's own dependency

from drivers.printer._escpos_cache import capabilities_source, write_capabilities


def _source() -> Path:
    source = capabilities_source()
    assert source is not None
    return source


def test_the_kept_database_is_what_the_library_would_read_itself(tmp_path: Path) -> None:
    source = _source()
    assert write_capabilities(tmp_path / "kept", source)
    [kept] = (tmp_path / "kept").iterdir()
    assert kept.name == f"{platform.python_version()}.capabilities.pickle"
    # python-escpos reads the file with yaml.safe_load (escpos/capabilities.py)
    with source.open(encoding="utf-8") as f:
        assert pickle.loads(kept.read_bytes()) == yaml.safe_load(f)
    assert stat.S_IMODE((tmp_path / "kept").stat().st_mode) == 0o700


def test_a_kept_database_newer_than_the_source_is_used_and_an_older_one_written_again(
    tmp_path: Path,
) -> None:
    source = _source()
    folder = tmp_path / "kept"
    assert write_capabilities(folder, source)
    [kept] = folder.iterdir()
    kept.write_bytes(b"newer")
    assert write_capabilities(folder, source)
    assert kept.read_bytes() == b"newer"
    old = source.stat().st_mtime - 10
    os.utime(kept, (old, old))
    assert write_capabilities(folder, source)
    assert kept.read_bytes() != b"newer" and [p.name for p in folder.iterdir()] == [kept.name]


@pytest.mark.parametrize("mode", [0o750, 0o777])
def test_a_folder_others_may_write_is_not_used(tmp_path: Path, mode: int) -> None:
    folder = tmp_path / "kept"
    folder.mkdir()
    folder.chmod(mode)
    assert not write_capabilities(folder, _source())
    assert list(folder.iterdir()) == []


def test_a_process_printing_a_receipt_leaves_the_database_for_the_next(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = (
        "from drivers.printer import escpos_bytes\n"
        "from tests.unit.printer.helpers import sample_receipt\n"
        "assert escpos_bytes(sample_receipt())\n"
        "import escpos.capabilities as c\n"
        "print(c.full_load, c.pickle_path)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCPOS_")}
    env["TMPDIR"] = str(tmp_path)
    root = Path(__file__).resolve().parents[3]
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=root, capture_output=True, text=True
        )
        for _ in range(2)
    ]
    kept = tmp_path / f"medpos-escpos-{os.getuid()}"
    [kept_file] = kept.iterdir()
    assert [run.stdout.split() for run in runs] == [["False", str(kept_file)]] * 2, runs

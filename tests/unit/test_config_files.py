"""The config file itself: others may read it but not write it, and it is a small TOML file;
each refusal is one `ConfigError` line and exit code 2 (docs/security.md "Files, keys and
untrusted input")."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from terminal.config import DEFAULT_CONFIG_PATH, MAX_CONFIG_BYTES, load_config
from terminal.errors import ConfigError
from tests.support.cli import in_process


def _write(tmp_path: Path, text: str, mode: int = 0o644) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def test_the_repositorys_config_as_checked_out_loads() -> None:
    assert not DEFAULT_CONFIG_PATH.stat().st_mode & stat.S_IWOTH
    assert load_config(DEFAULT_CONFIG_PATH, env={}).terminal.demo


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o664, 0o444])
def test_a_config_others_may_read_or_the_group_may_write_loads(tmp_path: Path, mode: int) -> None:
    assert load_config(_write(tmp_path, "[web]\nport = 8711\n", mode), env={}).web.port == 8711


def test_a_world_writable_config_is_refused_with_the_chmod_that_fixes_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "[web]\nport = 8711\n", 0o666)
    with pytest.raises(ConfigError) as refused:
        load_config(path, env={})
    assert f"chmod 600 {path}" in str(refused.value)
    assert "writable by any user" in str(refused.value)


def test_a_world_writable_config_stops_the_command_with_exit_2(tmp_path: Path) -> None:
    path = _write(tmp_path, "[web]\nport = 8711\n", 0o646)
    done = in_process(path, "refdata", "status")
    assert done.returncode == 2
    assert done.stderr.startswith("medpos: ") and done.stderr.count("\n") == 1
    assert "chmod 600" in done.stderr


def test_malformed_toml_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = in_process(_write(tmp_path, "[web\nport = \n"), "refdata", "status")
    assert done.returncode == 2
    assert "not valid TOML" in done.stderr and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_toml_nested_past_pythons_recursion_is_a_config_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "[web]\nx = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(path, env={})


def test_a_config_file_over_the_size_limit_is_refused_unparsed(tmp_path: Path) -> None:
    path = _write(tmp_path, "# " + "x" * MAX_CONFIG_BYTES + "\n")
    with pytest.raises(ConfigError, match=f"larger than {MAX_CONFIG_BYTES} bytes"):
        load_config(path, env={})

"""The Debian package (docs/operations.md "Installing"): `packaging/build-deb.sh` (what `make
deb` runs) builds `medpos_<version>_all.deb`; unpacked, its own `medpos --version` runs and says
the version; its systemd units pass `systemd-analyze verify`."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_make_deb_builds_a_package_whose_medpos_runs_and_whose_units_verify(
    tmp_path: Path,
) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    built = subprocess.run(
        ["bash", str(ROOT / "packaging" / "build-deb.sh"), str(tmp_path / "dist")],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    deb = Path(built.stdout.strip())
    assert deb.name == f"medpos_{version}_all.deb" and deb.is_file()
    fields = subprocess.run(
        ["dpkg-deb", "--field", str(deb), "Package", "Version", "Architecture", "Depends"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"Version: {version}" in fields and "Architecture: all" in fields
    assert "python3-venv" in fields
    tree = tmp_path / "tree"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
    # the package's own code, on the system's Python: no venv, no checkout on the path
    ran = subprocess.run(
        [str(tree / "usr/bin/medpos"), "--version"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert ran.returncode == 0 and ran.stdout.strip() == f"medpos {version}", ran.stderr
    assert (tree / "etc/medpos/config.toml").read_text().count('data_dir = "/var/lib/medpos"') == 1
    # with no --config, the package's own configuration (a stand-in venv python prints what the
    # wrapper hands over); a named one is kept
    venv_python = tree / "opt/medpos/venv/bin/python"
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text('#!/bin/sh\necho "$MEDPOS_CONFIG $*"\n')
    venv_python.chmod(0o755)
    for env, expected in (
        ({}, f"{(tree / 'etc/medpos/config.toml').resolve()} -m terminal.cli hub serve"),
        ({"MEDPOS_CONFIG": "/srv/site.toml"}, "/srv/site.toml -m terminal.cli hub serve"),
    ):
        handed = subprocess.run(
            [str(tree / "usr/bin/medpos"), "hub", "serve"],
            env={"PATH": "/usr/bin:/bin", **env},
            capture_output=True,
            text=True,
            check=True,
        )
        assert handed.stdout.strip() == expected, handed.stdout
    venv_python.unlink()
    assert (tree / "opt/medpos/requirements.lock").read_text().count("--hash=sha256:") > 50
    assert (tree / "opt/medpos/lib/sync/hub/console/templates/terminals.html").is_file()

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (`make setup` installs systemd)")
    units = tmp_path / "units"
    units.mkdir()
    for unit in (tree / "lib/systemd/system").glob("*.service"):
        # the units name /usr/bin/medpos, which must exist for verify: the unpacked one
        text = unit.read_text().replace("/usr/bin/medpos", str(tree / "usr/bin/medpos"))
        (units / unit.name).write_text(text)
    checked = subprocess.run(
        [analyze, "verify", *sorted(str(u) for u in units.iterdir())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr
    assert sorted(u.name for u in units.iterdir()) == [
        "medpos-hub.service",
        "medpos-terminal.service",
    ]

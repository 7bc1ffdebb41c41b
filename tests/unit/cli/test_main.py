"""`terminal.cli.main` called in this process: the commands it knows, argparse's usage errors and
exit codes, and the in-process runner the CLI tests use (tests/support/cli.py), which must put
back everything a command changes in the process. None of these touch a ledger."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import pytest

from terminal.cli import build_parser
from tests.support.cli import in_process

COMMANDS = {
    "card",
    "checkout",
    "day",
    "ecard",
    "enrol",
    "field",
    "his",
    "hub",
    "ledger",
    "operator",
    "qr",
    "reconcile",
    "refdata",
    "refund",
    "report",
    "sale",
    "run",
    "serve",
    "settle",
    "signin",
    "signout",
    "sync",
    "vcard",
}


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(sub.choices)


def test_every_command_module_registers_its_commands() -> None:
    assert _commands(build_parser()) == COMMANDS


def test_help_lists_every_command_and_exits_0(tmp_path: Path) -> None:
    done = in_process(tmp_path / "unused.toml", "--help")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("usage: medpos")
    assert all(command in done.stdout for command in COMMANDS)


def test_version_prints_the_installed_version_and_exits_0(tmp_path: Path) -> None:
    from terminal.appversion import app_version

    done = in_process(tmp_path / "unused.toml", "--version", "checkout")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"medpos {app_version()}\n", "")
    assert not (tmp_path / "var").exists()  # nothing was opened


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((), "the following arguments are required: COMMAND"),
        (("nope",), "invalid choice: 'nope'"),
        (("checkout", "--repeat", "x"), "argument --repeat: invalid int value: 'x'"),
        (("checkout", "--claim", "c.json", "--card"), "not allowed with argument --claim"),
        (("refund",), "the following arguments are required"),
    ],
)
def test_a_usage_error_exits_2_with_the_usage_on_stderr(
    tmp_path: Path, args: tuple[str, ...], words: str
) -> None:
    done = in_process(tmp_path / "unused.toml", *args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("usage: medpos") and words in done.stderr
    assert not (tmp_path / "var").exists()  # nothing was opened


def test_the_runner_puts_back_the_environment_streams_and_logging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDPOS_CONFIG", "/elsewhere.toml")
    monkeypatch.setenv("MEDPOS_PLATFORM__URL", "http://127.0.0.1:9")
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # so that main's logging.basicConfig adds one
    streams = (sys.stdin, sys.stdout, sys.stderr)
    level = root.level
    environ = dict(os.environ)
    missing = str(tmp_path / "missing.json")
    args = ("-vv", "settle", "--policy", missing, "--catalogue", missing, "--claim", missing)
    done = in_process(tmp_path / "unused.toml", *args)
    assert done.returncode == 2 and "no such file" in done.stderr
    assert (sys.stdin, sys.stdout, sys.stderr) == streams
    assert root.handlers == [] and root.level == level
    assert dict(os.environ) == environ

"""`medpos ARGS` run in this process through `terminal.cli.main`, or as a real process.

In-process is for what a subprocess proves nothing about (argument parsing, JSON lines, exit
codes, what a command writes): the same answer as the console script, without starting Python and
importing the terminal for every call. What lives in the process is put back after each call: the
MEDPOS_* environment, sys.stdin/stdout/stderr and the root logger. A few tests per command family
still run the installed `medpos` (`as_process`), and crash tests (kill -9) can only be processes.

The parser is built once per test process and used for every in-process call: building it (every
subcommand of every module, argparse asking gettext for each help string) took most of a call's
time, some 30 ms, over thousands of calls. Parsing does not change a parser, and the handlers only
read what it returns; a handler a test monkeypatched is looked up again at each call
(tests/unit/cli/test_main.py checks a freshly built parser).
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import terminal.cli
from terminal.cli import build_parser, main

__all__ = ["MEDPOS", "as_process", "in_process", "lines", "medpos_env"]

MEDPOS = str(Path(sys.executable).parent / "medpos")


def medpos_env(config: Path, **extra: str) -> dict[str, str]:
    """This environment without the caller's MEDPOS_* variables, on `config`, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDPOS_")}
    env["MEDPOS_CONFIG"] = str(config)
    env.update(extra)
    return env


def as_process(
    config: Path, *args: str, stdin: str | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed `medpos ARGS` as a process on `config` (plus `env`), its output as text."""
    return subprocess.run(
        [MEDPOS, *args],
        capture_output=True,
        text=True,
        env=medpos_env(config, **(env or {})),
        input=stdin,
        timeout=300,
        check=False,
    )


def lines(out: str) -> list[dict[str, Any]]:
    """The JSON objects a command printed, one a line."""
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _text_stream(data: str = "") -> io.TextIOWrapper:
    # A text stream over bytes, as a real one is: commands that write `sys.stdout.buffer` work.
    return io.TextIOWrapper(io.BytesIO(data.encode("utf-8")), encoding="utf-8", newline=None)


def _read(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    # universal newlines, as `subprocess.run(text=True)` reads a process's output
    return buffer.getvalue().decode("utf-8").replace("\r\n", "\n")


def _exit_code(exc: SystemExit) -> int:
    """The status a process would exit with for `sys.exit(exc.code)`."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)  # sys.exit("message") prints it and exits 1
    return 1


@contextmanager
def _root_logger_kept() -> Iterator[None]:
    """`main` calls logging.basicConfig: whatever it adds to the root logger is taken away."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)


class _BuiltOnce:
    """The parser `main` builds, built once: its handlers are looked up again at each parse, so
    a test that monkeypatches a command's handler (`terminal.cli.settle._settle`) gets its own."""

    def __init__(self) -> None:
        self._parser = build_parser()

    def parse_args(self, argv: Sequence[str] | None = None) -> argparse.Namespace:
        args = self._parser.parse_args(argv)
        func = args.func
        args.func = getattr(sys.modules[func.__module__], func.__name__, func)
        return args


@functools.cache
def _parser() -> _BuiltOnce:
    return _BuiltOnce()


def in_process(
    config: Path, *args: str, stdin: str | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`medpos ARGS` on `config` (plus `env`) through `main` in this process: the exit code,
    stdout and stderr a process would give."""
    out, err = _text_stream(), _text_stream()
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith("MEDPOS_"):
                patch.delenv(key)
        patch.setenv("MEDPOS_CONFIG", str(config))
        for key, value in (env or {}).items():
            patch.setenv(key, value)
        patch.setattr(terminal.cli, "build_parser", _parser)
        patch.setattr(sys, "stdin", _text_stream(stdin or ""))
        patch.setattr(sys, "stdout", out)
        patch.setattr(sys, "stderr", err)
        with _root_logger_kept():
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's usage errors and --help
                code = _exit_code(exc)
    return subprocess.CompletedProcess([MEDPOS, *args], code, _read(out), _read(err))

"""What every `medpos` subcommand shares: the lazily loaded configuration and error output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sync.protocol.limits import depth_over
from terminal.config import Config, load_config

__all__ = [
    "Context",
    "business_date",
    "emit_json",
    "fail",
    "open_service",
    "open_terminal",
    "parse_json",
    "read_json_file",
    "read_stdin_text",
    "read_text_file",
]


def business_date(text: str) -> date:
    """An argparse `type=` for `--date`: a region-local business date, `YYYY-MM-DD`."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-15") from None


class Context:
    """Per-invocation state: the configuration is loaded on first use, resources closed at exit."""

    def __init__(self, config_path: str | None = None) -> None:
        self._config_path = config_path
        self._config: Config | None = None
        self._closers: list[Callable[[], None]] = []

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self._config_path)
        return self._config

    def on_close(self, closer: Callable[[], None]) -> None:
        """Run `closer` when the command ends, newest first."""
        self._closers.append(closer)

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()


def fail(message: str, code: int = 1) -> int:
    """Print `medpos: message` to stderr and return `code`."""
    print(f"medpos: {message}", file=sys.stderr)
    return code


def emit_json(obj: Any) -> None:
    """One JSON object on one line of stdout, flushed at once."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


# The largest input a command reads from a file or stdin: a signed reference-data document
# (catalogue, persons, hotlist) is the largest thing that legitimately arrives, a few MB.
MAX_INPUT_BYTES = 32 << 20
# JSON nesting: the deepest legitimate document (a claim's basket lines) is 4 levels; the
# platform takes 32 (platform-api.md "Trust rules").
MAX_JSON_DEPTH = 32
# An integer in an input document is a signed 64-bit value (versions, epochs, counts): SQLite
# stores no more, and Python's int() of a long digit string is quadratic.
MAX_JSON_INT_DIGITS = 19
_INT64 = 1 << 63


def read_text_file(path: str, *, limit: int = MAX_INPUT_BYTES) -> str:
    """A file's UTF-8 text (at most `limit` bytes); raises ValueError with a message naming it."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read: {exc.strerror}") from None
    return _utf8(data, path, limit)


def read_stdin_text(*, limit: int = MAX_INPUT_BYTES) -> str:
    """Standard input's UTF-8 text (at most `limit` bytes); ValueError otherwise."""
    stream = getattr(sys.stdin, "buffer", None)
    data = stream.read(limit + 1) if stream is not None else sys.stdin.read(limit + 1).encode()
    return _utf8(data, "stdin", limit)


def _utf8(data: bytes, where: str, limit: int) -> str:
    if len(data) > limit:
        raise ValueError(f"{where}: larger than {limit} bytes: not an input medpos reads")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{where}: not UTF-8 text") from None
    # newlines as a file opened in text mode gives them (what this function returned before)
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def read_json_file(path: str, *, limit: int = MAX_INPUT_BYTES) -> Any:
    """A JSON file, parsed and held to the limits above; ValueError with a message naming it."""
    return parse_json(read_text_file(path, limit=limit), path)


def parse_json(text: str, where: str) -> Any:
    """JSON text, parsed: ValueError (naming `where`) for invalid JSON, NaN or Infinity, an
    integer over MAX_JSON_INT_DIGITS digits, or nesting deeper than MAX_JSON_DEPTH."""
    try:
        value = json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except _JsonLimit as exc:
        raise ValueError(f"{where}: {exc}") from None
    except RecursionError:
        raise ValueError(f"{where}: nested deeper than {MAX_JSON_DEPTH} levels") from None
    if depth_over(value, MAX_JSON_DEPTH):
        raise ValueError(f"{where}: nested deeper than {MAX_JSON_DEPTH} levels")
    return value


class _JsonLimit(ValueError):
    pass


def _bounded_int(text: str) -> int:
    value = int(text) if len(text.lstrip("-")) <= MAX_JSON_INT_DIGITS else _INT64
    if not -_INT64 <= value < _INT64:
        raise _JsonLimit(f"the integer {text[:24]}… is outside the signed 64-bit range")
    return value


def _no_constant(name: str) -> Any:
    raise _JsonLimit(f"{name} is not a JSON number")


def open_terminal(ctx: Context, db: str | None) -> Any:
    """This terminal as the composition root builds it (`terminal.bootstrap.Terminal`), linked
    to the platform when enrolled; closed when the command ends."""
    from terminal.bootstrap import build_terminal

    terminal = build_terminal(ctx.config, db_path=Path(db) if db else None)
    ctx.on_close(terminal.close)
    return terminal


def open_service(ctx: Context, db: str | None) -> Any:
    """The checkout service of this terminal (closed when the command ends)."""
    return open_terminal(ctx, db).service

"""What every `medpos` subcommand shares: the lazily loaded configuration and error output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from terminal.config import Config, load_config

__all__ = [
    "Context",
    "emit_json",
    "fail",
    "open_service",
    "open_terminal",
    "read_json_file",
    "read_text_file",
]


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


def read_text_file(path: str) -> str:
    """A file's UTF-8 text; raises ValueError with a message naming the file."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read: {exc.strerror}") from None


def read_json_file(path: str) -> Any:
    """A JSON file, parsed; raises ValueError with a message naming the file."""
    text = read_text_file(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}") from None


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

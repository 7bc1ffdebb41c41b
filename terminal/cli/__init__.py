"""The `medpos` command.

Each module of this package (other than `_common`) adds its subcommands through
`register(subparsers)`; they are found at start-up, so a new command is one new module. Handlers
take `(args, ctx)` and return the exit code. Heavy imports (OpenCV, pyscard, FastAPI) happen inside
handlers, never at import, so `medpos settle` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence

from terminal.appversion import app_version
from terminal.cli._common import Context, fail
from terminal.errors import MedposError

__all__ = ["EXIT_INTERNAL", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of every module in this package."""
    parser = argparse.ArgumentParser(
        prog="medpos", description="Offline-first medical-insurance point-of-sale terminal."
    )
    parser.add_argument(
        "--config", help="configuration file (default: MEDPOS_CONFIG or config.toml)"
    )
    parser.add_argument("--version", action=_Version)
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-vv: APDUs)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(sub)
    return parser


class _Version(argparse.Action):
    """`--version`: argparse's version action, with the version looked up only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **_: object) -> None:
        super().__init__(
            option_strings,
            dest=argparse.SUPPRESS,
            default=argparse.SUPPRESS,
            nargs=0,
            help="show program's version number and exit",
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        sys.stdout.write(f"medpos {app_version()}\n")
        parser.exit()


# sysexits.h EX_SOFTWARE: an internal error, told apart from 1 (refused), 2 (bad input or
# configuration) and 3 (no scheme matches)
EXIT_INTERNAL = 70
DEBUG_VARIABLE = "MEDPOS_DEBUG"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `medpos` console script.

    An exception that is not a `MedposError` is a bug: it is printed as one line naming its type
    and exit code 70 is returned; with `MEDPOS_DEBUG=1` it propagates with its traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = Context(config_path=args.config)
    try:
        try:
            code: int = args.func(args, ctx)
        finally:
            ctx.close()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except MedposError as exc:
        return fail(str(exc), 2 if exc.__class__.__name__ == "ConfigError" else 1)
    except Exception as exc:
        if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
            raise
        return _internal_error(exc)
    return code


def _internal_error(exc: Exception) -> int:
    """One line for an unexpected exception (the traceback goes to the debug log)."""
    logging.getLogger(__name__).debug("unexpected error", exc_info=exc)
    detail = " ".join(str(exc).split())
    detail = f": {detail[:200]}{'…' if len(detail) > 200 else ''}" if detail else ""
    return fail(
        f"internal error ({type(exc).__name__}{detail}): this is a bug in medpos; run the "
        f"command again with {DEBUG_VARIABLE}=1 for the traceback and report it",
        EXIT_INTERNAL,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

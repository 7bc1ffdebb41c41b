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
import pkgutil
import sys
from collections.abc import Sequence

from terminal.cli._common import Context, fail
from terminal.errors import MedposError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of every module in this package."""
    parser = argparse.ArgumentParser(
        prog="medpos", description="Offline-first medical-insurance point-of-sale terminal."
    )
    parser.add_argument(
        "--config", help="configuration file (default: MEDPOS_CONFIG or config.toml)"
    )
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `medpos` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = Context(config_path=args.config)
    try:
        code: int = args.func(args, ctx)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except MedposError as exc:
        return fail(str(exc), 2 if exc.__class__.__name__ == "ConfigError" else 1)
    finally:
        ctx.close()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""`medpos serve` (the web page and HTTP sale) and `medpos run` (what `make run` starts)."""

from __future__ import annotations

import argparse
from typing import Any

from terminal.cli._common import Context, open_service

__all__ = ["register"]


def register(sub: Any) -> None:
    for name, text in (
        ("serve", "serve the terminal's web page"),
        ("run", "start the terminal on this configuration and print its URL"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--host", help="listen address (default: [web] host)")
        p.add_argument("--port", type=int, help="port (default: [web] port)")
        p.add_argument("--db", metavar="PATH")
        p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace, ctx: Context) -> int:
    import uvicorn

    from terminal.web.app import create_app

    service = open_service(ctx, args.db)
    host = args.host or ctx.config.web.host
    port = args.port or ctx.config.web.port
    print(f"medpos terminal {ctx.config.terminal.dev_no}: open http://{host}:{port}/", flush=True)
    uvicorn.run(create_app(service), host=host, port=port, log_level="warning")
    return 0

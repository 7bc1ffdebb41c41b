"""`medpos serve` (the web page and HTTP sale) and `medpos run` (what `make run` starts)."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import sys
from typing import Any

from terminal.cli._common import Context, open_terminal

__all__ = ["is_loopback", "register"]


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


def _say(text: str) -> None:
    print(text, flush=True)


def _serve(args: argparse.Namespace, ctx: Context) -> int:
    import threading

    import uvicorn

    from terminal.web.app import Hooks, create_app

    run = args.command == "run"
    terminal = open_terminal(ctx, args.db)
    config = ctx.config
    terminal.start_counter(run=run, say=_say)
    hooks = Hooks(platform=terminal.sync)
    if terminal.demo_slot is not None:
        hooks.demo_card = terminal.demo_slot.control
    if terminal.loop is not None:
        loop = terminal.loop
        hooks.sync_now = lambda: loop.now(10.0)
    hooks.codes = _start_camera(terminal, hooks, demo=run)
    hooks.print_receipt = terminal.open_printer(_say)
    if hooks.demo_card or hooks.demo_phone:
        from terminal.demo import demo_people

        hooks.demo_people = [
            {"name": p.name, "insutype": p.insutype}
            for p in demo_people(terminal.service.local_now().date())
        ]
    lock = threading.RLock()
    app = create_app(terminal.service, hooks=hooks, lock=lock)
    terminal.watch_cards(app.state.counter)
    host = args.host or config.web.host
    port = args.port or config.web.port
    print(f"medpos terminal {config.terminal.dev_no}: open http://{host}:{port}/", flush=True)
    print(_api_token_line(app.state.web), flush=True)
    if config.his.enabled:
        from terminal.web.routes.his import load_his_token

        his_token, his_path = load_his_token(config)
        kept = f" (kept in {his_path})" if his_path is not None else ""
        print(f"his: POST /his/v1/call, Bearer token {his_token}{kept}", flush=True)
    if not is_loopback(host):
        exposed = (
            f"warning: listening on {host}, not loopback: the counter pages (sign-in, sales, "
            "refunds, day-end) and the HTTP sale API (POST /api/checkout) are reachable from "
            "the network; bind [web] host to 127.0.0.1 unless that is meant"
        )
        logging.getLogger("medpos.web").warning(exposed)
        print(exposed, file=sys.stderr, flush=True)
    # uvicorn re-raises SIGTERM after its graceful shutdown: exit through our own cleanup then
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


def is_loopback(host: str) -> bool:
    """True when `host` is a loopback address (or `localhost`)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def _api_token_line(web: Any) -> str:
    if not web.api_token:
        return "api: POST /api/checkout is off (no [web] api_token set)"
    if web.api_token_path is not None:
        return f"api: POST /api/checkout needs a Bearer token: it is in {web.api_token_path}"
    return "api: POST /api/checkout needs Authorization: Bearer <[web] api_token>"


def _start_camera(terminal: Any, hooks: Any, *, demo: bool) -> Any:
    """The camera pipeline in the background, feeding the page; None when `[qr] source = "none"`.

    Under `medpos run` the virtual phone shows a code only when the page asks (a customer holding
    up their phone); `medpos serve` on "virtual" shows a fresh code every 10 s."""
    from terminal.errors import MedposError
    from terminal.web.app import CodeFeed

    try:
        source = terminal.open_frame_source(on_demand=demo)
    except MedposError as exc:  # a missing camera must not keep the card and scanner from working
        feed = CodeFeed(terminal.config.qr.source)
        feed.error = str(exc)
        print(f"camera: {exc}", flush=True)
        return feed
    if source is None:
        return None
    feed = CodeFeed(source.name)
    phone = getattr(source, "phone", None)
    if phone is not None and phone.on_demand:
        hooks.demo_phone = phone.present
    terminal.start_camera(source, feed)
    print(f"camera: reading e-card codes from {source.name}", flush=True)
    return feed

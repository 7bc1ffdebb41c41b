"""`medpos serve` (the web page and HTTP sale) and `medpos run` (what `make run` starts)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
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
    if args.command == "run" and ctx.config.card.virtual:
        _start_virtual_cards(ctx, service.local_now().date())
    if args.command == "run" and ctx.config.platform.embedded:
        from terminal.cli._embedded import start_embedded_platform

        start_embedded_platform(ctx, service)
    codes = _start_camera(ctx, service)
    host = args.host or ctx.config.web.host
    port = args.port or ctx.config.web.port
    print(f"medpos terminal {ctx.config.terminal.dev_no}: open http://{host}:{port}/", flush=True)
    # uvicorn re-raises SIGTERM after its graceful shutdown: exit through our own cleanup then
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(create_app(service, codes), host=host, port=port, log_level="warning")
    return 0


def _start_camera(ctx: Context, service: Any) -> Any:
    """The camera pipeline in the background, feeding the page; None when `[qr] source = "none"`."""
    from terminal.bootstrap import open_frame_source
    from terminal.errors import MedposError
    from terminal.web.app import CodeFeed

    try:
        source = open_frame_source(service)
    except MedposError as exc:  # a missing camera must not keep the card and scanner from working
        feed = CodeFeed(ctx.config.qr.source)
        feed.error = str(exc)
        print(f"camera: {exc}", flush=True)
        return feed
    if source is None:
        return None
    from drivers.qr.capture import QrReader

    feed = CodeFeed(source.name)
    reader = QrReader(
        source,
        on_event=feed.on_event,
        on_error=feed.on_error,
        dedup_seconds=ctx.config.qr.dedup_window_s,
        # a camera paces itself; the virtual phone and recorded frames are read at 10 per second
        fps=None if ctx.config.qr.source == "camera" else 10.0,
    ).start()
    ctx.on_close(reader.stop)
    print(f"camera: reading e-card codes from {source.name}", flush=True)
    return feed


def _start_virtual_cards(ctx: Context, today: Any) -> None:
    """pcscd with vpcd, the demo PSAM in slot 1 and the first demo person's card in slot 0."""
    from drivers.card.virtual import serve_in_thread
    from drivers.card.virtual.card import card_from_dict
    from drivers.card.virtual.demo import psam_doc
    from drivers.card.virtual.stack import ensure_pcscd
    from terminal.demo import demo_people
    from terminal.demo.cards import demo_card_doc

    pcscd = ensure_pcscd()
    if pcscd is not None:
        ctx.on_close(pcscd.terminate)
    person = demo_people(today)[0]
    psam = serve_in_thread(card_from_dict(psam_doc()), 35964)
    card = serve_in_thread(card_from_dict(demo_card_doc(person, 0x10000001, today)), 35963)
    ctx.on_close(card.close)
    ctx.on_close(psam.close)
    from drivers.card.pcsc import card_atr

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # pcscd polls its readers: wait until both are seen
        if card_atr(ctx.config.card.reader) and card_atr(ctx.config.card.sam):
            break
        time.sleep(0.05)
    print(
        f"virtual card of {person.name} ({person.card_no}) in '{ctx.config.card.reader}', "
        f"demo PSAM in '{ctx.config.card.sam}'",
        flush=True,
    )

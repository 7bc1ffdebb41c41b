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
    import threading

    import uvicorn

    from terminal.checkout.hardware import CardWatch
    from terminal.web.app import Hooks, create_app

    service = open_service(ctx, args.db)
    config = ctx.config
    hooks = Hooks()
    if config.terminal.demo:
        from terminal.checkout.operators import seed_demo_operators

        seed_demo_operators(service)
    if args.command == "run" and config.card.virtual:
        slot = _start_virtual_cards(ctx, service.local_now().date())
        hooks.demo_card = slot.control
    loop = None
    if args.command == "run" and config.platform.embedded:
        from terminal.cli._embedded import start_embedded_platform

        loop = start_embedded_platform(ctx, service)
    elif service.platform is not None:  # enrolled: sync in the background
        from terminal.cli._embedded import start_sync_loop

        loop = start_sync_loop(ctx, service)
    if loop is not None:
        hooks.sync_now = lambda: loop.now(10.0)
    if service.platform is not None:
        from terminal.checkout.breaker import QuietAfterFailure

        service.platform = QuietAfterFailure(service.platform)
    hooks.codes = _start_camera(ctx, service, hooks, demo=args.command == "run")
    hooks.print_receipt = _open_printer(ctx)
    if hooks.demo_card or hooks.demo_phone:
        from terminal.demo import demo_people

        hooks.demo_people = [
            {"name": p.name, "insutype": p.insutype}
            for p in demo_people(service.local_now().date())
        ]
    lock = threading.RLock()
    app = create_app(service, hooks=hooks, lock=lock)
    if config.card.reader:
        watch = CardWatch(service, app.state.counter).start()
        ctx.on_close(watch.stop)
    host = args.host or config.web.host
    port = args.port or config.web.port
    print(f"medpos terminal {config.terminal.dev_no}: open http://{host}:{port}/", flush=True)
    # uvicorn re-raises SIGTERM after its graceful shutdown: exit through our own cleanup then
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


def _open_printer(ctx: Context) -> Any:
    """The receipt printer of `[printer]`: Receipt → where it went (raises PrinterError)."""
    cfg = ctx.config.printer
    if cfg.kind == "none":
        return None
    from drivers.printer import PrinterError, open_printer

    try:
        printer = open_printer(
            cfg.kind,
            path=ctx.config.resolve(cfg.path),
            host=cfg.host,
            port=cfg.port,
            usb_vendor=cfg.usb_vendor,
            usb_product=cfg.usb_product,
            width=cfg.width,
        )
    except PrinterError as exc:  # no printer must not stop sales: each receipt says why
        print(f"printer: {exc}", flush=True)
        failure = str(exc)

        def cannot_print(receipt: Any) -> str:
            raise PrinterError(failure)

        return cannot_print

    def print_receipt(receipt: Any) -> str:
        result = printer.print(receipt)
        # file names only: the folder is in config.toml, the counter's panel is narrow
        return ", ".join(w.rsplit("/", 1)[-1] for w in result.where) or result.kind

    return print_receipt


def _start_camera(ctx: Context, service: Any, hooks: Any, *, demo: bool) -> Any:
    """The camera pipeline in the background, feeding the page; None when `[qr] source = "none"`.

    Under `medpos run` the virtual phone shows a code only when the page asks (a customer holding
    up their phone); `medpos serve` on "virtual" shows a fresh code every 10 s."""
    from terminal.bootstrap import open_frame_source
    from terminal.checkout.hardware import FrameTap
    from terminal.errors import MedposError
    from terminal.web.app import CodeFeed

    try:
        source = open_frame_source(service, on_demand=demo)
    except MedposError as exc:  # a missing camera must not keep the card and scanner from working
        feed = CodeFeed(ctx.config.qr.source)
        feed.error = str(exc)
        print(f"camera: {exc}", flush=True)
        return feed
    if source is None:
        return None
    from drivers.qr.capture import QrReader

    feed = CodeFeed(source.name)
    phone = getattr(source, "phone", None)
    if phone is not None and phone.on_demand:
        hooks.demo_phone = phone.present

    def keep(frame: Any) -> None:
        feed.frame = frame

    reader = QrReader(
        FrameTap(source, keep),
        on_event=feed.on_event,
        on_error=feed.on_error,
        dedup_seconds=ctx.config.qr.dedup_window_s,
        # a camera paces itself; the virtual phone and recorded frames are read at 10 per second
        fps=None if ctx.config.qr.source == "camera" else 10.0,
    ).start()
    ctx.on_close(reader.stop)
    print(f"camera: reading e-card codes from {source.name}", flush=True)
    return feed


def _start_virtual_cards(ctx: Context, today: Any) -> Any:
    """pcscd with vpcd, the demo PSAM in slot 1 and the first demo person's card in slot 0."""
    from drivers.card.virtual import serve_in_thread
    from drivers.card.virtual.card import card_from_dict
    from drivers.card.virtual.demo import psam_doc
    from drivers.card.virtual.stack import ensure_pcscd
    from terminal.checkout.hardware import DemoCardSlot
    from terminal.demo import demo_people

    pcscd = ensure_pcscd()
    if pcscd is not None:
        ctx.on_close(pcscd.terminate)
    people = demo_people(today)
    person = people[0]
    psam = serve_in_thread(card_from_dict(psam_doc()), 35964)
    slot = DemoCardSlot(people, today, ctx.config.card.reader, 35963)
    slot.insert(0)
    ctx.on_close(slot.remove)
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
    return slot

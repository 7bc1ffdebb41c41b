"""The cashier and supervisor web UI, and the headless sale over HTTP (docs/ui.md).

Server-rendered pages (FastAPI + Jinja2, no front-end build step) with a small script for the
keyboard, live updates (server-sent events) and in-place redraws; every form also works without
the script. Pages: sign-in, the counter (identify → basket → pre-settlement → confirm → receipt;
or, when insurance cannot settle, a self-pay sale), refunds, day-end, receipts.
`POST /api/checkout` is the same headless sale as `medpos checkout --claim` (with `"self_pay":
true`, as `--self-pay`), for a hospital information system on the same machine.

One terminal, one counter: every write goes through `CheckoutService` under one lock (the ledger
connection is shared by the worker threads), and the counter's state lives in `Counter`
(terminal/checkout/counter.py). This module only builds the app: one router per page
(`terminal/web/routes/`), role checks as dependencies (`deps.py`), what pages share (`context.py`),
sessions and the PIN lockout (`sessions.py`), error answers (`errors.py`), the chart (`chart.py`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from sync.metrics import instrument
from terminal.checkout.counter import Counter
from terminal.checkout.service import CheckoutService
from terminal.errors import MedposError
from terminal.web.context import HERE, Web
from terminal.web.deps import origin_guard
from terminal.web.errors import Answer, answer_handler
from terminal.web.hooks import CodeFeed, Hooks
from terminal.web.routes import (
    api,
    counter,
    day,
    demo,
    desk,
    events,
    field,
    his,
    history,
    receipts,
    refund,
    signin,
    status,
)

__all__ = ["CodeFeed", "Hooks", "create_app"]

_ROUTERS = (
    signin,
    counter,
    status,
    events,
    receipts,
    refund,
    history,
    day,
    field,
    api,
    demo,
    his,
    desk,
)


def create_app(
    service: CheckoutService,
    codes: CodeFeed | None = None,
    hooks: Hooks | None = None,
    lock: threading.RLock | None = None,
    *,
    clock: Callable[[], float] = time.time,
    api_token: str | None = None,
) -> FastAPI:
    """The ASGI app over one terminal. `clock`: seconds, for the idle sign-out and the PIN
    lockout; `api_token`: the HTTP sale's Bearer token (default: `load_api_token`)."""
    hooks = hooks or Hooks(codes=codes)
    if codes is not None and hooks.codes is None:
        hooks.codes = codes
    web = Web(service, hooks, lock or threading.RLock(), clock, api_token)
    app = FastAPI(title="medpos terminal", docs_url=None, redoc_url=None)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_exception_handler(Answer, answer_handler)
    for module in _ROUTERS:
        if module in (api, his):  # HTTP APIs: their Bearer token instead of a browser's checks
            app.include_router(module.router)
        else:
            app.include_router(module.router, dependencies=[Depends(origin_guard)])
    app.add_middleware(his.CallFront, web=web)  # inside the metrics' timing, before the router
    instrument(app, "terminal", web.sync_gauges)
    app.state.web = web
    app.state.counter = web.counter
    app.state.reconciliations = web.reconciliations
    if hooks.codes is not None:
        codes_seen = web.counter
        hooks.codes.listeners.append(lambda event: _camera_code(codes_seen, event))
    return app


def _camera_code(counter: Counter, event: dict[str, Any]) -> None:
    """A code the camera read: an e-card names the customer (see `Counter.camera_ecard`);
    anything else is ignored here."""
    text = event.get("text")
    if not isinstance(text, str) or not text.startswith("ESC1:"):
        return
    if text == counter.camera_text:
        return  # the same code still held up to the camera (after its de-duplication window)
    counter.camera_text = text
    try:
        counter.camera_ecard(text)
    except MedposError as exc:
        counter.identify_failed(getattr(exc, "code", "error"), str(exc))

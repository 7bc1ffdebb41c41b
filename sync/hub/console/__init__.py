"""The fleet console at the hub's `/console` (docs/operations.md "Fleet console"): the terminals
and their alerts from the 9201 heartbeats, the entries per day and institution, rejected and
held entries, unregistered persons, enrolment codes, and publishing reference data with a
preview; for operators signed in with a password (`medpos hub operator add`).

web      Console: sessions, CSRF, language, templates
routes   the pages
queries  the reads, paginated and aggregated in the database
preview  what publishing a file would change
chart    entries per day as SVG bars
i18n     Chinese and English
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from sync.hub.console.routes import console_router
from sync.hub.console.web import Console, Refused

__all__ = ["Console", "install_console"]


def install_console(app: Any, hub: Any) -> Console:
    """Serve the console for `hub` on `app`."""
    console = Console(hub)
    app.state.console = console
    app.include_router(console_router(console))

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        if exc.status == 303:
            return RedirectResponse(str(exc), 303)
        return PlainTextResponse(str(exc), exc.status)

    app.add_exception_handler(Refused, refused)
    return console

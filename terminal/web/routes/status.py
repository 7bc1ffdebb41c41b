"""The status bar (docs/ui.md "Refunds, day-end, status"): the ledger's head, the upload queue and
the platform link, redrawn in place; "sync now" asks the sync loop for a round at once."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from terminal.web import i18n
from terminal.web.context import is_fragment
from terminal.web.deps import CounterUser, WebOf
from terminal.web.errors import back
from terminal.web.guard import own_referer

__all__ = ["router"]

router = APIRouter()


@router.get("/status-bar", response_class=HTMLResponse)
def status_fragment(request: Request, web: WebOf) -> Response:
    return web.page(request, "_status.html")


@router.post("/sync-now")
def sync_now(request: Request, web: WebOf, op: CounterUser) -> Response:
    web.use_language(request)
    if web.hooks.sync_now is None:
        return back(
            own_referer(request),
            err=i18n.gettext_("This terminal is not enrolled with a platform."),
        )
    web.hooks.sync_now()
    web.counter.refresh_quote()
    if is_fragment(request):
        return web.page(request, "_status.html")
    return RedirectResponse(own_referer(request), 303)

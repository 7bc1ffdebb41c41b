"""The demo hardware under the page's control (embedded default, `medpos run`, only): insert or
remove a demo person's virtual card, show a demo person's e-card code on the virtual phone, type
fresh traceability codes for the basket's drug lines as a scanner would."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from terminal.demo.trace import fresh_demo_trace_code
from terminal.web.deps import FormGuard, WebOf
from terminal.web.errors import back
from terminal.web.guard import own_referer

__all__ = ["router"]

router = APIRouter()


@router.post("/demo/card")
def demo_card(
    request: Request,
    web: WebOf,
    _: FormGuard,
    action: str = Form(...),
    person: int = Form(0),
) -> Response:
    if web.hooks.demo_card is None:
        return Response(status_code=404)
    web.hooks.demo_card(action, person)
    return back(own_referer(request))


@router.post("/demo/phone")
def demo_phone(request: Request, web: WebOf, _: FormGuard, person: int = Form(0)) -> Response:
    if web.hooks.demo_phone is None:
        return Response(status_code=404)
    web.hooks.demo_phone(person)
    return back(own_referer(request))


@router.post("/demo/trace-codes")
def demo_trace_codes(request: Request, web: WebOf, _: FormGuard) -> Response:
    """The demo scanner types fresh traceability codes for the basket's drug lines."""
    if web.hooks.demo_card is None and web.hooks.demo_phone is None:
        return Response(status_code=404)
    web.counter.scan_codes_for_lines(fresh_demo_trace_code)
    return back(own_referer(request))


@router.get("/api/demo/people")
def demo_people_list(web: WebOf) -> list[dict[str, str]]:
    return web.hooks.demo_people

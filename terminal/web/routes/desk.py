"""The billing desk page (his-api.md "The desk page", docs/his.md): the terminal's visits by
state, a visit's lines, batches and settlements; pre-settle, settle and reverse for a desk whose
HIS is down (the same messages the HIS sends); the deferred settlements and their age."""

from __future__ import annotations

from urllib.parse import quote as urlquote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from terminal.his.view import desk_action, desk_view
from terminal.web import i18n
from terminal.web.deps import PageUser, WebOf
from terminal.web.errors import back, explain
from terminal.web.routes.his import desk_of

__all__ = ["router"]

router = APIRouter()


@router.get("/desk", response_class=HTMLResponse)
def desk_page(request: Request, web: WebOf, op: PageUser, mdtrt_id: str = "") -> Response:
    desk, _ = desk_of(web)
    with web.lock:
        view = desk_view(desk, mdtrt_id.strip())
    return web.page(request, "desk.html", chosen=mdtrt_id.strip(), **view)


@router.post("/desk")
def desk_post(
    request: Request,
    web: WebOf,
    op: PageUser,
    action: str = Form(...),
    mdtrt_id: str = Form(...),
    chrg_bchno: str = Form(""),
    mid_setl_flag: str = Form("0"),
    setl_id: str = Form(""),
) -> Response:
    web.use_language(request)
    here = f"/desk?mdtrt_id={urlquote(mdtrt_id)}"
    if action not in ("presettle", "settle", "reverse"):
        return back(here, err=i18n.gettext_("Choose pre-settle, settle or reverse."))
    desk, _ = desk_of(web)
    with web.lock:
        answer = desk_action(desk, action, op.id, mdtrt_id, chrg_bchno, mid_setl_flag, setl_id)
    if answer.get("infcode") != 0:
        return back(here, err=explain(str(answer.get("err_code")), str(answer.get("err_msg"))))
    info = answer.get("output", {}).get("setlinfo", {})
    if action == "presettle":
        text = i18n.gettext_("Pre-settlement: total %(t)s, fund %(f)s, patient pays %(p)s.") % {
            "t": info.get("medfee_sumamt"),
            "f": info.get("fund_pay_sumamt"),
            "p": info.get("psn_cash_pay"),
        }
    elif action == "settle":
        text = i18n.gettext_("Settled %(s)s: fund %(f)s, patient pays %(p)s.") % {
            "s": info.get("setl_id"),
            "f": info.get("fund_pay_sumamt"),
            "p": info.get("psn_cash_pay"),
        }
    else:
        text = i18n.gettext_("Reversed; the reversal is %(s)s.") % {"s": info.get("setl_id")}
    return back(here, msg=text)

"""The field page (docs/field.md, docs/ui.md "Field"): the persons cached on this device, the
outcome of the last `field prepare` and what the held data allow now, and the two bundle buttons:
export the outbox to a directory (a USB stick), import the platform's answer from a file."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from sync.protocol.bundle import MAX_BUNDLE_BYTES
from sync.protocol.limits import load_limited_json
from terminal.checkout.basket import mask_cert
from terminal.checkout.field import current_plan
from terminal.checkout.syncing.bundles import export_bundle, import_answer, offline_sync
from terminal.errors import SyncError
from terminal.ledger.bundles import bundle_status
from terminal.ledger.field import cached_persons, last_prepare
from terminal.web import i18n
from terminal.web.deps import PageUser, WebOf
from terminal.web.errors import back

__all__ = ["router"]

router = APIRouter()
DEFAULT_DAYS = 5


@router.get("/field", response_class=HTMLResponse)
def field_page(request: Request, web: WebOf, op: PageUser) -> Response:
    service = web.service
    with web.lock:
        prepared = last_prepare(service.ledger)
        days = int(prepared["days"]) if prepared else DEFAULT_DAYS
        plan = current_plan(service.config, service.ledger, service.local_now(), days)
        persons = cached_persons(service.ledger)
        bundles = bundle_status(service.ledger)
    for person in persons:
        person["masked"] = mask_cert(person["psn_cert"])
    return web.page(
        request,
        "field.html",
        prepared=prepared,
        plan=plan,
        persons=persons,
        bundles=bundles,
        default_dir=str(service.config.data_dir / "bundles"),
    )


def _directory(text: str) -> Path:
    path = Path(text.strip())
    if not path.is_absolute() or not path.is_dir():
        raise SyncError(
            i18n.gettext_("Give the full path of an existing directory (the stick's folder).")
        )
    return path


@router.post("/field/export")
def field_export(request: Request, web: WebOf, op: PageUser, directory: str = Form("")) -> Response:
    web.use_language(request)
    service = web.service
    try:
        with web.lock:
            sync = offline_sync(service.ledger, service.config, service.clock)
            exported = export_bundle(sync, _directory(directory))
    except (SyncError, OSError) as exc:
        return back("/field", err=str(exc))
    if exported.path is None:
        return back("/field", msg=i18n.gettext_("Nothing waits for upload: no bundle written."))
    msg = i18n.gettext_("Bundle of %(n)s sales written to %(f)s.") % {
        "n": exported.messages,
        "f": exported.path,
    }
    return back("/field", msg=msg)


@router.post("/field/import")
def field_import(request: Request, web: WebOf, op: PageUser, file: str = Form("")) -> Response:
    web.use_language(request)
    service = web.service
    path = Path(file.strip())
    try:
        if not path.is_absolute() or not path.is_file():
            raise SyncError(i18n.gettext_("Give the full path of the answer file."))
        with path.open("rb") as f:
            data = f.read(MAX_BUNDLE_BYTES + 1)
        if len(data) > MAX_BUNDLE_BYTES:
            raise SyncError(i18n.gettext_("That file is too large to be an answer."))
        try:
            obj = load_limited_json(data)
        except ValueError:  # JsonLimitError and UnicodeDecodeError are ValueErrors too
            raise SyncError(i18n.gettext_("That file is not an answer (not JSON).")) from None
        with web.lock:
            sync = offline_sync(service.ledger, service.config, service.clock)
            report = import_answer(sync, obj)
    except (SyncError, OSError) as exc:
        return back("/field", err=str(exc))
    if report["already"]:
        return back(
            "/field", msg=i18n.gettext_("This answer was imported before: nothing changed.")
        )
    acked = sum(report["upload"]["acked"].values())
    msg = i18n.gettext_("Answer imported: %(n)s sales acknowledged.") % {"n": acked}
    return back("/field", msg=msg)

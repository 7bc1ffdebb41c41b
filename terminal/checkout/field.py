"""`medpos field prepare` (issue 17, docs/field.md): before a field team goes out, sync, refresh
every kind of reference data (the persons assigned to this device come with `persons`), then say
what the device can do offline for N days, by the site's own limits (`terminal.risk.field`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from terminal.checkout.syncing import SyncService
from terminal.config import Config
from terminal.errors import SyncError
from terminal.ledger import SqliteLedger
from terminal.ledger.field import cached_persons, unsynced_fund
from terminal.risk import RiskLimits
from terminal.risk.field import FieldPlan, plan_field
from terminal.settlement.money import format_fen

__all__ = ["current_plan", "prepare_field"]


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def current_plan(config: Config, ledger: SqliteLedger, now: datetime, days: int) -> FieldPlan:
    """The plan for `days` days from `now` with what the ledger holds now (nothing fetched)."""
    limits = RiskLimits.of(config.risk)
    held = ledger.refdata_versions()
    return plan_field(
        limits,
        now=now,
        days=days,
        last_sync_at=_when(ledger.get_meta("last_sync_at")),
        hotlist_confirmed_at=_when(held["hotlist"][2]) if "hotlist" in held else None,
        trust_list_confirmed_at=_when(held["trustlist"][2]) if "trustlist" in held else None,
        max_trust_list_age_days=config.ecard.max_trust_list_age_days,
    )


def prepare_field(sync: SyncService, days: int) -> tuple[bool, dict[str, Any]]:
    """(covered, report): sync, refresh the reference data, plan `days` days offline. Not
    covered when the platform could not be reached or a limit lapses inside the period; the
    report's `problems` say why, first lapse first. The outcome is kept for the field page."""
    problems: list[str] = []
    out: dict[str, Any] = {}
    report = sync.drain()
    out["upload"] = report.as_json()
    if report.error is not None:
        problems.append(f"the outbox could not be sent: {report.error}")
    try:
        out["refdata"] = sync.refresh_refdata()
    except SyncError as exc:
        problems.append(f"the reference data could not be refreshed: {exc}")
    refused = [o for o in out.get("refdata", []) if o.get("outcome") == "refused"]
    problems += [f"{o['kind']} refused: {o.get('message')}" for o in refused]
    plan = current_plan(sync.config, sync.ledger, sync.local_now(), days)
    problems += [lapse.message for lapse in plan.problems()]
    ledger = sync.ledger
    persons = cached_persons(ledger)
    held = ledger.refdata_versions()
    out["plan"] = plan.as_json()
    out["persons"] = {
        "cached": len(persons),
        "version": held["persons"][0] if "persons" in held else None,
    }
    fund = unsynced_fund(ledger)
    out["outbox"] = {
        "unsynced_fund": format_fen(fund),
        "room": format_fen(max(0, sync.config.risk.max_unsynced_fund - fund)),
    }
    covered = not problems
    out["covered"], out["problems"] = covered, problems
    kept = {
        "at": sync.local_now().isoformat(timespec="seconds"),
        "days": days,
        "covered": covered,
        "problems": problems,
        "until": out["plan"]["until"],
    }
    with ledger.write() as unit:
        unit.set_meta("field_prepared", json.dumps(kept, ensure_ascii=False))
        unit.commit()
    return covered, out

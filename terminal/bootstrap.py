"""Where adapters are chosen (STYLE.md): open the terminal described by a `Config`.

`open_terminal` opens the ledger (creating it and the device key on first start), records a
configuration change in the audit log, seeds the embedded default's demo reference data on first
start when `[terminal] demo = true`, and returns the checkout service built on them.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from terminal.checkout.clock import Clock, SystemClock
from terminal.checkout.service import CheckoutService, PlatformLink
from terminal.config import Config
from terminal.ledger import SqliteLedger

__all__ = ["open_terminal", "seed_demo_data"]


def open_terminal(
    config: Config,
    *,
    db_path: Path | None = None,
    clock: Clock | None = None,
    platform: PlatformLink | None = None,
) -> CheckoutService:
    """The checkout service over this terminal's ledger; the caller closes `service.ledger`."""
    clock = clock or SystemClock()
    ledger = SqliteLedger.open(db_path or config.db_path, dev_no=config.terminal.dev_no)
    try:
        service = CheckoutService(config, ledger, clock, platform)
        now = service.local_now()
        _record_start(ledger, config, now)
        if config.terminal.demo and ledger.get_refdata("policy") is None:
            seed_demo_data(service)
    except BaseException:
        ledger.close()
        raise
    return service


def _config_snapshot(config: Config) -> dict[str, Any]:
    snap: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        if f.name != "source":
            snap[f.name] = dataclasses.asdict(getattr(config, f.name))
    return snap


def _record_start(ledger: SqliteLedger, config: Config, now: Any) -> None:
    snapshot = _config_snapshot(config)
    previous = ledger.get_meta("config")
    if previous is not None and json.loads(previous) == snapshot:
        return
    changed: dict[str, Any] = {}
    old = json.loads(previous) if previous is not None else {}
    for section, values in snapshot.items():
        for key, value in values.items():
            before = old.get(section, {}).get(key)
            if before != value:
                changed[f"{section}.{key}"] = [before, value]
    with ledger.write() as unit:
        if ledger.get_meta("created_at") is None:
            unit.set_meta("created_at", now.isoformat(timespec="seconds"))
        unit.set_meta("config", json.dumps(snapshot, ensure_ascii=False, sort_keys=True))
        unit.audit(
            "config_change" if previous is not None else "first_start",
            None,
            {"source": str(config.source), "changed": changed},
            now,
        )


def seed_demo_data(service: CheckoutService) -> None:
    """The demo policy, catalogue, persons and an empty hotlist, as local version 0.

    Version 0 is below anything the platform publishes, so the first sync replaces all of it.
    """
    from terminal.demo import demo_catalogue, demo_people, demo_persons, demo_policy_text
    from terminal.settlement.money import parse_money

    now = service.local_now()
    today = now.date()
    stamp = int(now.timestamp())
    names = {p.psn_cert: p for p in demo_people(today)}
    with service.ledger.write() as unit:
        unit.put_refdata("policy", 0, stamp, demo_policy_text(today.year), None, now)
        catalogue = json.dumps(demo_catalogue(), ensure_ascii=False, sort_keys=True)
        unit.put_refdata("catalogue", 0, stamp, catalogue, None, now)
        hotlist = {"version": 0, "issued_at": stamp, "entries": []}
        unit.put_refdata("hotlist", 0, stamp, json.dumps(hotlist), None, now)
        for entry in demo_persons(today):
            person, acc = entry["person"], entry["accumulators"]
            demo = names.get(person["psn_cert"])
            unit.upsert_person(
                person,
                source="demo",
                at=now,
                name=demo.name if demo else None,
                card_no=demo.card_no if demo else None,
                acct_balance=parse_money(acc.get("acct_balance", "0.00"), "acct_balance"),
            )
            unit.set_accumulators(person["psn_cert"], today.year, acc)
        unit.audit("demo_seed", None, {"persons": len(names)}, now)

"""What a terminal does with its ledger when it starts: the configuration change recorded in the
audit log, the embedded default's demo reference data on first start (`[terminal] demo = true`),
and e-card token ids that have expired forgotten."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any, Protocol

from terminal.config import Config
from terminal.ledger import SqliteLedger, has_expired_replay

__all__ = ["prune_replay", "record_start", "seed_demo_data", "seed_demo_trust_list"]


class _Terminal(Protocol):
    """What seeding reads (a checkout service has it)."""

    @property
    def ledger(self) -> SqliteLedger: ...

    def local_now(self) -> datetime: ...


def _config_snapshot(config: Config) -> dict[str, Any]:
    snap: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        if f.name != "source":
            snap[f.name] = dataclasses.asdict(getattr(config, f.name))
    return snap


def record_start(ledger: SqliteLedger, config: Config, now: datetime) -> None:
    """The first start, or a configuration that changed since the last start, in the audit log."""
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
        unit.commit()


def prune_replay(ledger: SqliteLedger, now: datetime, tolerance_s: int) -> None:
    """Forget the token ids of e-card codes that have expired (their replay fails `expired`)."""
    stamp = int(now.timestamp())
    if has_expired_replay(ledger, stamp - tolerance_s):
        with ledger.write() as unit:
            unit.prune_replay(stamp, tolerance_s)
            unit.commit()


def seed_demo_trust_list(terminal: _Terminal) -> None:
    """The demo e-card issuer's trust list, as local version 0 (the virtual phone's codes)."""
    from terminal.demo.ecard import demo_issuer_key, demo_trust_list

    ledger = terminal.ledger
    now = terminal.local_now()
    stamp = int(now.timestamp())
    key = demo_issuer_key(ledger.path.parent)
    body = json.dumps(demo_trust_list(key, stamp), sort_keys=True)
    with ledger.write() as unit:
        unit.put_refdata("trustlist", 0, stamp, body, None, now)
        unit.audit("demo_seed", None, {"trustlist": 1}, now)
        unit.commit()


def seed_demo_data(terminal: _Terminal) -> None:
    """The demo policy, catalogue, persons and an empty hotlist, as local version 0.

    Version 0 is below anything the platform publishes, so the first sync replaces all of it.
    """
    from terminal.demo import demo_catalogue, demo_people, demo_persons, demo_policy_text
    from terminal.settlement.money import parse_money

    now = terminal.local_now()
    today = now.date()
    stamp = int(now.timestamp())
    names = {p.psn_cert: p for p in demo_people(today)}
    with terminal.ledger.write() as unit:
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
        unit.commit()

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

__all__ = ["open_frame_source", "open_terminal", "seed_demo_data", "seed_demo_trust_list"]


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
        if config.terminal.demo and ledger.get_refdata("trustlist") is None:
            seed_demo_trust_list(service)
        _prune_replay(service)
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
        unit.commit()


def open_frame_source(service: CheckoutService, *, on_demand: bool = False) -> Any:
    """The camera pipeline's frame source chosen by `[qr] source`, or None for "none".

    "virtual" is the embedded default's virtual phone: demo e-card codes signed by this data
    directory's demo issuer, photographed as a phone screen.
    """
    qr = service.config.qr
    if qr.source == "none":
        return None
    from drivers.qr.capture import CallbackSource, CameraSource, FolderSource, VideoSource

    if qr.source == "camera":
        return CameraSource(qr.camera_index)
    if qr.source == "video":
        return VideoSource(service.config.resolve(qr.video_path))
    if qr.source == "folder":
        return FolderSource(service.config.resolve(qr.folder_path))
    from terminal.demo import demo_people
    from terminal.demo.ecard import demo_issuer_key
    from terminal.demo.phone import VirtualPhone

    phone = VirtualPhone(
        demo_issuer_key(service.ledger.path.parent),
        demo_people(service.local_now().date()),
        on_demand=on_demand,
    )
    source = CallbackSource(phone.frame, "virtual phone")
    setattr(source, "phone", phone)  # noqa: B010 - the page's demo control of the phone
    return source


def _prune_replay(service: CheckoutService) -> None:
    """Forget the token ids of e-card codes that have expired (their replay fails `expired`)."""
    now = int(service.clock.now().timestamp())
    tolerance = service.config.ecard.clock_tolerance_s
    if service.ledger.query("SELECT 1 FROM ecard_replay WHERE exp < ? LIMIT 1", (now - tolerance,)):
        with service.ledger.write() as unit:
            unit.prune_replay(now, tolerance)
            unit.commit()


def seed_demo_trust_list(service: CheckoutService) -> None:
    """The demo e-card issuer's trust list, as local version 0 (the virtual phone's codes)."""
    from terminal.demo.ecard import demo_issuer_key, demo_trust_list

    now = service.local_now()
    stamp = int(now.timestamp())
    key = demo_issuer_key(service.ledger.path.parent)
    body = json.dumps(demo_trust_list(key, stamp), sort_keys=True)
    with service.ledger.write() as unit:
        unit.put_refdata("trustlist", 0, stamp, body, None, now)
        unit.audit("demo_seed", None, {"trustlist": 1}, now)
        unit.commit()


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
        unit.commit()

"""Who reads reference data (platform-api.md "Transport"): only an enrolled device, by its signed
headers, and of the persons only those that device needs: the persons of its own region who
settled at its institution in the last 400 days, plus those the publisher assigned to it.
Personal data leaves the platform for no one else."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import Connection, and_, insert, select

from sync.hub import schema as t
from sync.hub import statements as q
from sync.hub._common import public_key
from sync.protocol.refdata import REFDATA_SKEW_S, refdata_request_bytes

__all__ = ["PERSONS_WINDOW_DAYS", "assign_persons", "refdata_device", "visible_persons"]

PERSONS_WINDOW_DAYS = 400


def refdata_device(
    conn: Connection,
    headers: Mapping[str, str],
    kind: str,
    since: int | None,
    now: float,
) -> Any:
    """The enrolled device whose `X-Dev-No`, `X-Dev-Time` and `X-Dev-Sig` hold for this
    request, None otherwise (missing, not enrolled, a wrong signature, a time more than
    `REFDATA_SKEW_S` off)."""
    dev_no, stamp, sig = (headers.get(h) for h in ("x-dev-no", "x-dev-time", "x-dev-sig"))
    if not dev_no or not stamp or not sig:
        return None
    try:
        time = int(stamp)
    except ValueError:
        return None
    if abs(now - time) > REFDATA_SKEW_S:
        return None
    device = q.DEVICE.first(conn, {"dev_no": dev_no})
    if device is None:
        return None
    try:
        public_key(device.public_key).verify(
            base64.b64decode(sig, validate=True),
            refdata_request_bytes(dev_no, kind, since, time),
        )
    except (InvalidSignature, binascii.Error, ValueError):
        return None
    return device


def visible_persons(conn: Connection, device: Any, persons: list[Any], now: datetime) -> list[Any]:
    """The entries of the persons file `device` may have."""
    assigned = set(
        conn.execute(
            select(t.person_assignments.c.psn_cert).where(
                t.person_assignments.c.dev_no == device.dev_no
            )
        ).scalars()
    )
    e, d = t.entries.c, t.devices.c
    since = (now - timedelta(days=PERSONS_WINDOW_DAYS)).strftime("%Y-%m-%d %H:%M:%S")
    settled_here = set(
        conn.execute(
            select(e.psn_cert)
            .distinct()
            .select_from(t.entries.join(t.devices, d.dev_no == e.dev_no))
            .where(
                and_(
                    d.fixmedins_code == device.fixmedins_code,
                    e.kind == "sale",
                    e.status.in_(("accepted", "adjusted")),
                    e.setl_date >= since[:10],  # (the months it needs, on PostgreSQL)
                    e.settled_at >= since,
                )
            )
        ).scalars()
    )
    region = device.mdtrtarea_admvs

    def visible(entry: Any) -> bool:
        person = entry.get("person") if isinstance(entry, Mapping) else None
        if not isinstance(person, Mapping):
            return False
        psn_cert = person.get("psn_cert")
        if psn_cert in assigned:
            return True
        return bool(region) and psn_cert in settled_here and person.get("insuplc_admdvs") == region

    return [entry for entry in persons if visible(entry)]


def assign_persons(conn: Connection, dev_no: str, psn_certs: Iterable[str]) -> int:
    """Assign persons to device `dev_no` (kept across publications); how many are new."""
    wanted = set(psn_certs)
    if not wanted:
        return 0
    a = t.person_assignments.c
    held = set(
        conn.execute(
            select(a.psn_cert).where(and_(a.dev_no == dev_no, a.psn_cert.in_(wanted)))
        ).scalars()
    )
    new = sorted(wanted - held)
    if new:
        conn.execute(insert(t.person_assignments), [{"dev_no": dev_no, "psn_cert": p} for p in new])
    return len(new)

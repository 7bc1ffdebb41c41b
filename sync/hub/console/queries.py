"""The fleet console's reads (docs/operations.md "Fleet console"): every list is one page of rows
by keyset (`after` the last key shown) and every figure an aggregate the database computes, so a
page costs the same with 100 terminals or 10,000 (bench/console.py measures it).

Alerts, per terminal (`ALERTS`): `deadline` (its oldest unsynced sale is older than the upload
deadline), `silent` (no heartbeat for a day; enrolled a day ago and never one), `rolled_back`
(its heartbeat's chain head is behind an entry the platform stored before that heartbeat
arrived), `refdata` (a version published more than `refdata_max_age_days` ago is not held).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Numeric,
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB

from sync.hub import schema as t

__all__ = [
    "ALERTS",
    "PAGE",
    "Limits",
    "alert_counts",
    "conflict_days",
    "conflicts",
    "console_secret",
    "daily_counts",
    "daily_totals",
    "enrol_codes",
    "held_and_rejected",
    "newest_document",
    "terminals",
    "unregistered_persons",
]

PAGE = 50
ALERTS = ("deadline", "silent", "rolled_back", "refdata")
_FMT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True, slots=True)
class Limits:
    """When a terminal is alerted on, and the platform's zone for its `yyyy-MM-dd` times."""

    now: float
    tz: tzinfo
    upload_deadline_h: int = 72
    silent_after_h: int = 24
    refdata_max_age_days: int = 7


def _cutoffs(limits: Limits) -> tuple[str, int, int]:
    """(oldest unsynced before, last heartbeat before, behind since before) for `limits`."""
    now = int(limits.now)
    deadline = datetime.fromtimestamp(now, limits.tz) - timedelta(hours=limits.upload_deadline_h)
    return (
        deadline.strftime(_FMT),
        now - limits.silent_after_h * 3600,
        now - limits.refdata_max_age_days * 86400,
    )


def _conditions(limits: Limits) -> dict[str, ColumnElement[bool]]:
    d, h = t.devices.c, t.heartbeats.c
    deadline, silent_since, behind_since = _cutoffs(limits)
    return {
        "deadline": h.oldest_unsynced_at < deadline,
        "silent": or_(
            h.received_at < silent_since,
            and_(h.received_at.is_(None), d.enrolled_at < silent_since),
        ),
        "rolled_back": h.rolled_back.is_(True),
        "refdata": h.refdata_behind_since < behind_since,
    }


def _fleet() -> Any:
    return t.devices.outerjoin(t.heartbeats, t.heartbeats.c.dev_no == t.devices.c.dev_no)


def alert_counts(conn: Connection, limits: Limits) -> dict[str, int]:
    """How many terminals each alert holds, and `devices`: one query of counts, each over a
    range of one index (the heartbeats' times, the rolled-back flag), so that a fleet of
    10,000 costs little more than one of 100; "never sent a heartbeat" is an anti-join over
    the devices enrolled before the cutoff."""
    d, h = t.devices.c, t.heartbeats.c
    deadline, silent_since, behind_since = _cutoffs(limits)

    def count(table: Any, *where: Any) -> Any:
        return select(func.count()).select_from(table).where(*where).scalar_subquery()

    never = ~exists().where(h.dev_no == d.dev_no)
    row = conn.execute(
        select(
            count(t.devices).label("devices"),
            count(t.heartbeats, h.oldest_unsynced_at < deadline).label("deadline"),
            (
                count(t.heartbeats, h.received_at < silent_since)
                + count(t.devices, d.enrolled_at < silent_since, never)
            ).label("silent"),
            count(t.heartbeats, h.rolled_back.is_(True)).label("rolled_back"),
            count(t.heartbeats, h.refdata_behind_since < behind_since).label("refdata"),
        )
    ).one()
    return {k: int(v) for k, v in row._mapping.items()}


def terminals(
    conn: Connection, limits: Limits, *, after: str = "", alert: str | None = None
) -> list[dict[str, Any]]:
    """One page of terminals by `dev_no` after `after`, each with its heartbeat and alerts."""
    d, h = t.devices.c, t.heartbeats.c
    conds = _conditions(limits)
    flags = [case((cond, 1), else_=0).label(f"alert_{name}") for name, cond in conds.items()]
    query = (
        select(
            d.dev_no,
            d.fixmedins_code,
            d.mdtrtarea_admvs,
            d.enrolled_at,
            h.received_at,
            h.queue,
            h.parked,
            h.oldest_unsynced_at,
            h.chain_seq,
            h.chain_hash,
            h.refdata,
            h.app_version,
            *flags,
        )
        .select_from(_fleet())
        .where(d.dev_no > after)
        .order_by(d.dev_no)
        .limit(PAGE)
    )
    if alert in conds:
        query = query.where(conds[alert])
    rows = []
    for r in conn.execute(query):
        row = dict(r._mapping)
        row["refdata"] = json.loads(row["refdata"]) if row["refdata"] else {}
        row["alerts"] = [name for name in ALERTS if row.pop(f"alert_{name}")]
        rows.append(row)
    return rows


def _json_text(conn: Connection, column: Any, *path: str) -> Any:
    """The text at `path` inside a JSON text column, in the dialect's own JSON functions."""
    if conn.dialect.name == "postgresql":
        return func.jsonb_extract_path_text(cast(column, JSONB), *path)
    return func.json_extract(column, "$." + ".".join(path))


def _fen(text: Any) -> Any:
    return cast(func.round(cast(text, Numeric(18, 2)) * 100), BigInteger)


def daily_counts(conn: Connection, since: str, *, after: str = "") -> list[dict[str, Any]]:
    """Per day from `since` (yyyy-MM-dd) and institution: accepted, adjusted, rejected and held
    entries, and `moved_fen`, the fund money the adjustments moved (the platform's fund payment
    minus the terminal's, summed over the adjusted sales). Newest day first; a page of
    (day, institution) rows after the key `after` ("day|institution")."""
    e, d = t.entries.c, t.devices.c
    platform = _fen(_json_text(conn, e.kept, "fund_pay_sumamt"))
    terminal = _fen(_json_text(conn, e.input, "result", "setlinfo", "fund_pay_sumamt"))
    moved = func.coalesce(func.sum(case((e.status == "adjusted", platform - terminal), else_=0)), 0)
    counts = [
        func.count().filter(e.status == s).label(s)
        for s in ("accepted", "adjusted", "rejected", "held")
    ]
    query = (
        select(e.setl_date, d.fixmedins_code, *counts, moved.label("moved_fen"))
        .select_from(t.entries.join(t.devices, d.dev_no == e.dev_no))
        .where(e.setl_date >= since)
        .group_by(e.setl_date, d.fixmedins_code)
        .order_by(e.setl_date.desc(), d.fixmedins_code)
        .limit(PAGE)
    )
    if after:
        day, _, institution = after.partition("|")
        query = query.where(
            or_(e.setl_date < day, and_(e.setl_date == day, d.fixmedins_code > institution))
        )
    return [dict(r._mapping) for r in conn.execute(query)]


def daily_totals(conn: Connection, since: str) -> list[dict[str, Any]]:
    """Per day from `since`: the entries by status over every institution (the chart)."""
    e = t.entries.c
    query = (
        select(e.setl_date, e.status, func.count().label("n"))
        .where(e.setl_date >= since)
        .group_by(e.setl_date, e.status)
        .order_by(e.setl_date)
    )
    days: dict[str, dict[str, int]] = {}
    for r in conn.execute(query):
        days.setdefault(r.setl_date, {})[r.status] = int(r.n)
    return [{"day": day, **counts} for day, counts in days.items()]


def held_and_rejected(
    conn: Connection, status: str, *, before: int | None = None
) -> list[dict[str, Any]]:
    """A page of `status` entries (rejected or held), newest stored first, before `before`."""
    e = t.entries.c
    query = (
        select(e.txn_id, e.dev_no, e.seq, e.kind, e.reason, e.settled_at, e.stored_at)
        .where(e.status == status)
        .order_by(e.stored_at.desc(), e.txn_id)
        .limit(PAGE)
    )
    if before is not None:
        query = query.where(e.stored_at < before)
    return [dict(r._mapping) for r in conn.execute(query)]


def conflict_days(conn: Connection, *, before: str = "") -> list[dict[str, Any]]:
    """Per day (the second sale's date), newest first: the traceability conflicts found
    (trace-codes.md "To the platform"), the high-severity ones among them, and the codes
    concerned; a page of days before the day `before`."""
    c = t.trace_conflicts.c
    query = (
        select(
            c.setl_date,
            func.count().label("conflicts"),
            func.count().filter(c.severity == "high").label("high"),
            func.count(c.code.distinct()).label("codes"),
        )
        .group_by(c.setl_date)
        .order_by(c.setl_date.desc())
        .limit(PAGE)
    )
    if before:
        query = query.where(c.setl_date < before)
    return [dict(r._mapping) for r in conn.execute(query)]


def conflicts(conn: Connection, day: str, *, after: str = "") -> list[dict[str, Any]]:
    """A page of the conflicts of `day` by code, after the key `after` ("code|second txn_id")."""
    c = t.trace_conflicts.c
    query = (
        select(
            c.code,
            c.first_txn_id,
            c.first_fixmedins_code,
            c.first_dev_no,
            c.second_txn_id,
            c.second_fixmedins_code,
            c.second_dev_no,
            c.hours_between,
            c.severity,
        )
        .where(c.setl_date == day)
        .order_by(c.code, c.second_txn_id)
        .limit(PAGE)
    )
    if after:
        code, _, txn_id = after.partition("|")
        query = query.where(or_(c.code > code, and_(c.code == code, c.second_txn_id > txn_id)))
    return [dict(r._mapping) for r in conn.execute(query)]


def unregistered_persons(conn: Connection, *, after: str = "") -> list[dict[str, Any]]:
    """A page of the persons the platform registered from a claim (`unregistered`)."""
    p = t.persons.c
    query = (
        select(p.psn_cert, p.person)
        .where(p.unregistered.is_(True), p.psn_cert > after)
        .order_by(p.psn_cert)
        .limit(PAGE)
    )
    rows = []
    for r in conn.execute(query):
        person = json.loads(r.person)
        rows.append(
            {
                "psn_cert": r.psn_cert,
                "name": person.get("psn_name") or person.get("name") or "",
                "insuplc_admdvs": person.get("insuplc_admdvs", ""),
            }
        )
    return rows


def enrol_codes(conn: Connection, now: float) -> list[dict[str, Any]]:
    """The enrolment codes still usable (not used, not expired), newest first."""
    c = t.enrol_codes.c
    query = (
        select(c.code, c.dev_no, c.fixmedins_code, c.fixmedins_name, c.expires_at)
        .where(c.used_at.is_(None), c.expires_at > int(now))
        .order_by(c.expires_at.desc())
        .limit(PAGE)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def console_secret(conn: Connection, make: Any) -> str:
    """The key the console signs its cookies with, kept in `hub_meta` (one for every hub
    process); made with `make()` on first use."""
    m = t.hub_meta.c
    found = conn.execute(select(m.value).where(m.key == "console_secret")).scalar()
    if found is not None:
        return str(found)
    secret = str(make())
    conn.execute(insert(t.hub_meta).values(key="console_secret", value=secret))
    return secret


def newest_document(conn: Connection, kind: str) -> tuple[int, Any] | None:
    """(version, document) of the newest published `kind`, None before the first."""
    r = t.refdata.c
    row = conn.execute(
        select(r.version, r.body).where(r.kind == kind).order_by(r.version.desc()).limit(1)
    ).first()
    return None if row is None else (int(row.version), json.loads(row.body))

"""The hospital desk's side rows (his-api.md): who is signed in, the persons by `psn_no`, the
identifications made at this terminal, and the settlements deferred while offline. The visits,
lines, settlements and stored answers are in `terminal/ledger/his.py`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from terminal.ledger.his import dump_json, his_rows
from terminal.ledger.store import SqliteLedger

__all__ = [
    "clear_deferred",
    "his_deferred",
    "his_identification",
    "last_identification_id",
    "person_by_psn_no",
    "record_deferred",
    "record_identification",
    "signed_in",
]


# -- operators and persons ------------------------------------------------------------------


def signed_in(ledger: SqliteLedger, operator: str) -> bool:
    """The operator's last session event here is a sign-in (`medpos signin` or the page)."""
    rows = his_rows(
        ledger,
        "SELECT kind FROM audit WHERE actor = ? AND kind IN ('sign_in', 'sign_out') "
        "ORDER BY id DESC LIMIT 1",
        (operator,),
    )
    return bool(rows) and rows[0]["kind"] == "sign_in"


def person_by_psn_no(ledger: SqliteLedger, psn_no: str) -> str | None:
    """The ID number (`psn_cert`) of the cached person with this `psn_no`."""
    rows = his_rows(ledger, "SELECT psn_cert FROM persons WHERE psn_no = ?", (psn_no,))
    return str(rows[0]["psn_cert"]) if rows else None


# -- identifications ------------------------------------------------------------------------


def record_identification(
    ledger: SqliteLedger, at_s: float, cert_type: str, cert_no: str, body: Mapping[str, Any]
) -> None:
    """A person identified at this terminal (its own small write)."""
    with ledger.write() as unit:
        ledger.conn.execute(
            "INSERT INTO his_identifications (at_s, mdtrt_cert_type, mdtrt_cert_no, body) "
            "VALUES (?, ?, ?, ?)",
            (at_s, cert_type, cert_no, dump_json(body)),
        )
        unit.commit()


def his_identification(
    ledger: SqliteLedger,
    *,
    since_s: float,
    cert: tuple[str, str] | None = None,
    after_id: int = 0,
) -> dict[str, Any] | None:
    """The latest identification since `since_s` (of this certificate, when given)."""
    sql = "SELECT id, at_s, body FROM his_identifications WHERE at_s >= ? AND id > ?"
    params: list[Any] = [since_s, after_id]
    if cert is not None:
        sql += " AND mdtrt_cert_type = ? AND mdtrt_cert_no = ?"
        params += list(cert)
    rows = his_rows(ledger, sql + " ORDER BY id DESC LIMIT 1", params)
    if not rows:
        return None
    body: dict[str, Any] = json.loads(rows[0]["body"])
    return body


def last_identification_id(ledger: SqliteLedger) -> int:
    rows = his_rows(ledger, "SELECT COALESCE(MAX(id), 0) AS m FROM his_identifications")
    return int(rows[0]["m"])


# -- deferred settlements -------------------------------------------------------------------


def record_deferred(
    ledger: SqliteLedger,
    mdtrt_id: str,
    chrg_bchno: str | None,
    total: int,
    code: str,
    msgid: str,
    at: str,
) -> None:
    """A settlement deferred while offline (its own small write, nothing else committed)."""
    with ledger.write() as unit:
        ledger.conn.execute(
            "UPDATE his_deferred SET cleared_at = ? WHERE mdtrt_id = ? AND cleared_at IS NULL",
            (at, mdtrt_id),
        )
        ledger.conn.execute(
            "INSERT INTO his_deferred (mdtrt_id, chrg_bchno, total, code, msgid, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (mdtrt_id, chrg_bchno, total, code, msgid, at),
        )
        unit.commit()


def clear_deferred(ledger: SqliteLedger, mdtrt_id: str, at: str) -> None:
    """The visit settled: its deferral is no longer pending (in the caller's unit)."""
    ledger.conn.execute(
        "UPDATE his_deferred SET cleared_at = ? WHERE mdtrt_id = ? AND cleared_at IS NULL",
        (at, mdtrt_id),
    )


def his_deferred(ledger: SqliteLedger) -> list[dict[str, Any]]:
    """Pending deferred settlements, oldest first, with the visit's person and kind."""
    rows = his_rows(
        ledger,
        "SELECT d.id, d.mdtrt_id, d.chrg_bchno, d.total, d.code, d.msgid, d.at, v.psn_no, "
        "v.kind, v.ipt_otp_no, v.state FROM his_deferred d JOIN his_visits v "
        "ON v.mdtrt_id = d.mdtrt_id WHERE d.cleared_at IS NULL ORDER BY d.id",
    )
    return [dict(r) for r in rows]

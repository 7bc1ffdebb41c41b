"""The fee lines a settlement covers (his-api.md "How a visit settles"), read in one query: every
line with what the upload needs for a settlement (`his_unsettled_lines`), or only what the
engine reads for a pre-settlement (`his_presettle_lines`)."""

from __future__ import annotations

import sqlite3
from typing import Any, NamedTuple

from terminal.ledger.store import SqliteLedger, translate_sqlite_error

__all__ = ["PresettleLines", "SettleLine", "his_presettle_lines", "his_unsettled_lines"]


class SettleLine(NamedTuple):
    """The columns of a fee line that a settlement reads (a stay has a thousand lines or more:
    a tuple, not a dict)."""

    feedetl_sn: str
    init_feedetl_sn: str | None
    med_list_codg: str
    cnt: str
    pric: str
    det_item_fee_sumamt: int
    chrg_bchno: str | None
    fee_ocur_time: str
    bilg_dr_codg: str | None
    trac: str | None
    trdn_flag: str | None


_UPLOAD_ONLY = ("chrg_bchno", "fee_ocur_time", "bilg_dr_codg", "trac", "trdn_flag")


def his_unsettled_lines(
    ledger: SqliteLedger,
    mdtrt_id: str,
    *,
    bchno: str | None = None,
    upto: str | None = None,
    upload: bool = True,
) -> list[SettleLine]:
    """The lines a settlement covers, in the order they came, in one query: the visit's
    unsettled lines, of batch `bchno` and with `fee_ocur_time` up to `upto` when given. Without
    `upload` the columns only the upload reads are None."""
    columns = [f"NULL AS {c}" if c in _UPLOAD_ONLY and not upload else c
               for c in SettleLine._fields]  # fmt: skip
    scope, params = _scope(mdtrt_id, bchno, upto)
    rows = _read(ledger, f"SELECT {', '.join(columns)} {scope} ORDER BY seq", params)
    return list(map(SettleLine._make, rows))


class PresettleLines(NamedTuple):
    """What a pre-settlement reads of the lines `his_unsettled_lines` would give."""

    size: int  # how many lines
    total: int  # Σ det_item_fee_sumamt, fen
    returns: list[tuple[str | None, str]]  # (init_feedetl_sn, cnt): `cnt` written with a minus
    named: list[tuple[str, str, str, str]]  # (feedetl_sn, med_list_codg, cnt, pric): lines
    # without a minus that a line with one names
    kinds: list[tuple[str, str, str]]  # (med_list_codg, cnt, pric): every other line


def his_presettle_lines(
    ledger: SqliteLedger, mdtrt_id: str, *, bchno: str | None = None, upto: str | None = None
) -> PresettleLines:
    """The lines of `his_unsettled_lines` as a pre-settlement needs them: its answer is the
    bill's totals, so the lines come in no set order, and only what the engine and the netting
    read (a stay has a thousand lines, and each value read costs)."""
    scope, params = _scope(mdtrt_id, bchno, upto)
    minus = "substr(cnt, 1, 1) = '-'"
    named = f"feedetl_sn IN (SELECT init_feedetl_sn {scope} AND {minus})"
    ((size, total),) = _read(
        ledger, f"SELECT COUNT(*), COALESCE(SUM(det_item_fee_sumamt), 0) {scope}", params
    )
    return PresettleLines(
        size,
        total,
        _read(ledger, f"SELECT init_feedetl_sn, cnt {scope} AND {minus}", params),
        _read(
            ledger,
            f"SELECT feedetl_sn, med_list_codg, cnt, pric {scope} AND NOT {minus} AND {named}",
            params * 2,
        ),
        _read(
            ledger,
            f"SELECT med_list_codg, cnt, pric {scope} AND NOT {minus} AND NOT {named}",
            params * 2,
        ),
    )


def _scope(mdtrt_id: str, bchno: str | None, upto: str | None) -> tuple[str, list[Any]]:
    """`FROM … WHERE …` of the lines a settlement covers, and its parameters."""
    sql = "FROM his_lines WHERE mdtrt_id = ? AND state = 'unsettled'"
    params: list[Any] = [mdtrt_id]
    if bchno is not None:
        sql += " AND chrg_bchno = ?"
        params.append(bchno)
    if upto is not None:
        sql += " AND fee_ocur_time <= ?"
        params.append(upto)
    return sql, params


def _read(ledger: SqliteLedger, sql: str, params: list[Any]) -> list[Any]:
    try:
        return ledger.conn.execute(sql, params).fetchall()
    except sqlite3.Error as exc:
        raise translate_sqlite_error(exc, ledger.path) from exc

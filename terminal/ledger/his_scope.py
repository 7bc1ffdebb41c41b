"""The fee lines a settlement covers (his-api.md "How a visit settles"), read in one query: every
line with what the upload needs for a settlement (`his_unsettled_lines`), or only what the
engine reads for a pre-settlement (`his_presettle_lines`)."""

from __future__ import annotations

import json
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


def his_unsettled_lines(
    ledger: SqliteLedger,
    mdtrt_id: str,
    *,
    bchno: str | None = None,
    upto: str | None = None,
) -> list[SettleLine]:
    """The lines a settlement covers, in the order they came, in one query: the visit's
    unsettled lines, of batch `bchno` and with `fee_ocur_time` up to `upto` when given (a
    pre-settlement reads less: `his_presettle_lines`)."""
    scope, params = _scope(mdtrt_id, bchno, upto)
    rows = _read(ledger, f"SELECT {', '.join(SettleLine._fields)} {scope} ORDER BY seq", params)
    return list(map(SettleLine._make, rows))


class PresettleLines(NamedTuple):
    """What a pre-settlement reads of the lines `his_unsettled_lines` would give, in no set
    order."""

    lines: list[tuple[str, str, str, int, str | None]]  # every line: (med_list_codg, cnt, pric,
    # det_item_fee_sumamt, init_feedetl_sn)
    named: list[tuple[str, str, str, str, int, str | None]]  # (feedetl_sn, *the same*): the
    # lines without a minus in `cnt` that a line with one names


def his_presettle_lines(
    ledger: SqliteLedger, mdtrt_id: str, *, bchno: str | None = None, upto: str | None = None
) -> PresettleLines:
    """The lines of `his_unsettled_lines` as a pre-settlement needs them: its answer is the
    bill's totals, so the lines come in no set order, and only what the engine and the netting
    read (a stay has a thousand lines, and each value read costs): one scan, then the few lines
    that returns name, by their key."""
    scope, params = _scope(mdtrt_id, bchno, upto)
    columns = "med_list_codg, cnt, pric, det_item_fee_sumamt, init_feedetl_sn"
    lines = _read(ledger, f"SELECT {columns} {scope}", params)
    inits = sorted({ln[4] for ln in lines if ln[1][:1] == "-" and ln[4] is not None})
    named = (
        _read(
            ledger,
            f"SELECT feedetl_sn, {columns} {scope} AND substr(cnt, 1, 1) != '-' "
            "AND feedetl_sn IN (SELECT value FROM json_each(?))",
            [*params, json.dumps(inits)],
        )
        if inits
        else []
    )
    return PresettleLines(lines, named)


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

"""The hospital desk's rows (his-api.md): visits, fee lines, settlements, stored answers,
deferred settlements and identifications, in the tables of migration `m0010_his`.

Reads take the ledger; writes run in the caller's unit of work (`with ledger.write() as unit`),
so a visit's change, its audit entry and the stored answer of its `msgid` commit together. Nothing
here deletes a row: visits and lines change `state`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from terminal.ledger.his_scope import (
    PresettleLines,
    SettleLine,
    his_presettle_lines,
    his_unsettled_lines,
)
from terminal.ledger.store import SqliteLedger, translate_sqlite_error

__all__ = [
    "dump_json",
    "his_rows",
    "HIS_LINE_COLUMNS",
    "his_line_rows",
    "his_message",
    "his_next_line_seq",
    "his_presettle_lines",
    "PresettleLines",
    "his_settlement",
    "his_settlements",
    "his_unsettled_lines",
    "his_visit",
    "his_visits",
    "insert_his_lines",
    "insert_his_visit",
    "prune_his_answers",
    "remember_his_answer",
    "set_his_lines",
    "SettleLine",
    "store_his_settlement",
    "update_his_visit",
]

HIS_LINE_COLUMNS = (
    "mdtrt_id",
    "feedetl_sn",
    "seq",
    "chrg_bchno",
    "init_feedetl_sn",
    "med_list_codg",
    "cnt",
    "pric",
    "det_item_fee_sumamt",
    "fee_ocur_time",
    "bilg_dr_codg",
    "trac",
    "trdn_flag",
    "state",
    "setl_id",
    "body",
)
_INSERT_LINE = (
    f"INSERT INTO his_lines ({', '.join(HIS_LINE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(HIS_LINE_COLUMNS))})"
)


# a JSON number the HIS sent in a free-form field was read as a Decimal: kept as its text. Made
# once: json.dumps builds an encoder per call, and a stay stores a body per fee line.
_STORED = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def dump_json(obj: Any) -> str:
    """Canonical JSON of a stored document (keys sorted, no spaces, UTF-8 as itself)."""
    return _STORED.encode(obj)


def his_rows(ledger: SqliteLedger, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    """Rows of a read on the ledger's connection, as `sqlite3.Row`."""
    try:
        cur = ledger.conn.execute(sql, tuple(params))
        cur.row_factory = sqlite3.Row
        return list(cur.fetchall())
    except sqlite3.Error as exc:
        raise translate_sqlite_error(exc, ledger.path) from exc


# -- stored answers (idempotence by msgid) --------------------------------------------------


def his_message(ledger: SqliteLedger, msgid: str) -> dict[str, Any] | None:
    """The stored answer of `msgid`: `{infno, input_hash, answer, undo, at}`, or None."""
    rows = his_rows(ledger, "SELECT * FROM his_messages WHERE msgid = ?", (msgid,))
    if not rows:
        return None
    r = rows[0]
    return {
        "infno": r["infno"],
        "input_hash": r["input_hash"],
        "answer": r["answer"],
        "undo": json.loads(r["undo"]) if r["undo"] else None,
        "at": r["at"],
    }


def prune_his_answers(ledger: SqliteLedger, before: str) -> int:
    """Forget stored answers older than `before` (his-api.md: they are kept 30 days)."""
    with ledger.write() as unit:
        cur = ledger.conn.execute("DELETE FROM his_messages WHERE at < ?", (before,))
        unit.commit()
    return int(cur.rowcount)


def remember_his_answer(
    ledger: SqliteLedger,
    msgid: str,
    infno: str,
    input_hash: str,
    answer: str,
    undo: Mapping[str, Any] | None,
    at: str,
) -> None:
    """Store an answer given with `infcode` 0, in the caller's unit of work."""
    ledger.conn.execute(
        "INSERT INTO his_messages (msgid, infno, input_hash, answer, undo, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (msgid, infno, input_hash, answer, dump_json(undo) if undo else None, at),
    )


# -- visits ---------------------------------------------------------------------------------


def _visit(r: sqlite3.Row) -> dict[str, Any]:
    visit: dict[str, Any] = json.loads(r["body"])
    visit.update(
        mdtrt_id=r["mdtrt_id"],
        kind=r["kind"],
        psn_no=r["psn_no"],
        psn_cert=r["psn_cert"],
        ipt_otp_no=r["ipt_otp_no"],
        med_type=r["med_type"],
        state=r["state"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )
    return visit


_VISIT_KEYS = ("mdtrt_id", "kind", "psn_no", "psn_cert", "ipt_otp_no", "med_type", "state")
_VISIT_META = (*_VISIT_KEYS, "created_at", "updated_at")


def insert_his_visit(ledger: SqliteLedger, n: int, visit: Mapping[str, Any], at: str) -> None:
    body = {k: v for k, v in visit.items() if k not in _VISIT_META}
    ledger.conn.execute(
        "INSERT INTO his_visits (mdtrt_id, n, kind, psn_no, psn_cert, ipt_otp_no, med_type, "
        "state, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*(visit[k] for k in _VISIT_KEYS[:1]), n, *(visit[k] for k in _VISIT_KEYS[1:]))
        + (dump_json(body), at, at),
    )


def update_his_visit(ledger: SqliteLedger, visit: Mapping[str, Any], at: str) -> None:
    """Write the visit's state, med_type and body (everything but its identity)."""
    body = {k: v for k, v in visit.items() if k not in _VISIT_META}
    ledger.conn.execute(
        "UPDATE his_visits SET state = ?, med_type = ?, ipt_otp_no = ?, body = ?, updated_at = ? "
        "WHERE mdtrt_id = ?",
        (visit["state"], visit["med_type"], visit["ipt_otp_no"], dump_json(body), at,
         visit["mdtrt_id"]),
    )  # fmt: skip


def his_visit(ledger: SqliteLedger, mdtrt_id: str) -> dict[str, Any] | None:
    rows = his_rows(ledger, "SELECT * FROM his_visits WHERE mdtrt_id = ?", (mdtrt_id,))
    return _visit(rows[0]) if rows else None


def his_visits(
    ledger: SqliteLedger,
    *,
    states: Iterable[str] = (),
    psn_no: str | None = None,
    ipt_otp_no: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Visits, newest first, filtered by state, person or visit number."""
    where, params = [], []
    wanted = list(states)
    if wanted:
        where.append(f"state IN ({', '.join('?' * len(wanted))})")
        params += wanted
    if psn_no is not None:
        where.append("psn_no = ?")
        params.append(psn_no)
    if ipt_otp_no is not None:
        where.append("ipt_otp_no = ?")
        params.append(ipt_otp_no)
    sql = "SELECT * FROM his_visits"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = his_rows(ledger, sql + " ORDER BY n DESC LIMIT ?", [*params, limit])
    return [_visit(r) for r in rows]


# -- fee lines ------------------------------------------------------------------------------


def his_line_rows(
    ledger: SqliteLedger,
    mdtrt_id: str,
    *,
    sns: Iterable[str] | None = None,
    inits: Iterable[str] | None = None,
    batches: Iterable[str] | None = None,
    state: str | None = None,
    with_body: bool = True,
) -> list[dict[str, Any]]:
    """The visit's lines in the order they came (columns, plus the line as given: `body`); only
    those named by `sns`, returning against `inits`, of `batches` or in `state` when given."""
    where, params = ["mdtrt_id = ?"], [mdtrt_id]
    for column, values in (("feedetl_sn", sns), ("init_feedetl_sn", inits),
                           ("chrg_bchno", batches)):  # fmt: skip
        if values is not None:
            wanted = list(values)
            if not wanted:
                return []
            where.append(f"{column} IN ({', '.join('?' * len(wanted))})")
            params += wanted
    if state is not None:
        where.append("state = ?")
        params.append(state)
    columns = HIS_LINE_COLUMNS if with_body else HIS_LINE_COLUMNS[:-1]
    sql = f"SELECT {', '.join(columns)} FROM his_lines WHERE {' AND '.join(where)} ORDER BY seq"
    try:
        rows = ledger.conn.execute(sql, params).fetchall()
    except sqlite3.Error as exc:
        raise translate_sqlite_error(exc, ledger.path) from exc
    out = []
    for r in rows:
        line = dict(zip(columns, r, strict=True))
        line["body"] = json.loads(line["body"]) if with_body else None
        out.append(line)
    return out


def his_next_line_seq(ledger: SqliteLedger, mdtrt_id: str) -> int:
    rows = his_rows(
        ledger,
        "SELECT COALESCE(MAX(seq) + 1, 0) AS n FROM his_lines WHERE mdtrt_id = ?",
        (mdtrt_id,),
    )
    return int(rows[0]["n"])


def insert_his_lines(ledger: SqliteLedger, lines: Iterable[Mapping[str, Any]]) -> None:
    """New unsettled lines (each a mapping of `HIS_LINE_COLUMNS`, `body` a mapping)."""
    ledger.conn.executemany(
        _INSERT_LINE,
        [
            tuple(dump_json(line[k]) if k == "body" else line[k] for k in HIS_LINE_COLUMNS)
            for line in lines
        ],
    )


def set_his_lines(
    ledger: SqliteLedger,
    mdtrt_id: str,
    feedetl_sns: Iterable[str],
    state: str,
    setl_id: str | None,
) -> None:
    """Move lines to `state` (with `setl_id`, None to clear it): one statement per 500 lines."""
    sns = list(feedetl_sns)
    for at in range(0, len(sns), 500):
        chunk = sns[at : at + 500]
        ledger.conn.execute(
            "UPDATE his_lines SET state = ?, setl_id = ? WHERE mdtrt_id = ? "
            f"AND feedetl_sn IN ({', '.join('?' * len(chunk))})",
            (state, setl_id, mdtrt_id, *chunk),
        )


# -- settlements ----------------------------------------------------------------------------


def store_his_settlement(
    ledger: SqliteLedger, row: Mapping[str, Any], output: Mapping[str, Any]
) -> None:
    """Insert a settlement, or (same `setl_id`) update its state and reversal."""
    ledger.conn.execute(
        "INSERT INTO his_settlements (setl_id, mdtrt_id, chrg_bchno, mid_setl_flag, state, "
        "rev_setl_id, msgid, at, output) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (setl_id) DO UPDATE SET state = excluded.state, "
        "rev_setl_id = excluded.rev_setl_id",
        (
            row["setl_id"],
            row["mdtrt_id"],
            row.get("chrg_bchno"),
            row.get("mid_setl_flag"),
            row["state"],
            row.get("rev_setl_id"),
            row["msgid"],
            row["at"],
            dump_json(output),
        ),
    )


def _settlement(r: sqlite3.Row) -> dict[str, Any]:
    out = {k: r[k] for k in r.keys() if k != "output"}  # noqa: SIM118 (sqlite3.Row)
    out["output"] = json.loads(r["output"])
    return out


def his_settlement(ledger: SqliteLedger, setl_id: str) -> dict[str, Any] | None:
    rows = his_rows(ledger, "SELECT * FROM his_settlements WHERE setl_id = ?", (setl_id,))
    return _settlement(rows[0]) if rows else None


def his_settlements(ledger: SqliteLedger, mdtrt_id: str) -> list[dict[str, Any]]:
    rows = his_rows(
        ledger, "SELECT * FROM his_settlements WHERE mdtrt_id = ? ORDER BY at", (mdtrt_id,)
    )
    return [_settlement(r) for r in rows]

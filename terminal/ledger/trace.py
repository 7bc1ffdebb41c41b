"""The terminal's traceability code table (trace-codes.md "Uniqueness on the terminal").

Reads and writes on the caller's connection: a sale reads the rows of the codes it names and
writes its plan (`terminal.trace.plan_sale`) inside its own unit of work, after its entry, so a
code is never marked sold without its sale nor the reverse. A reversal gives back exactly what
its sale took (`trace_takes`). The codes the institution's other terminals sold come as refdata
kind `trace` (`apply_trace_refdata`) and count as sold.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from terminal.trace import KnownCode, NoCodeStock, TracePlan

__all__ = [
    "apply_trace_refdata",
    "known_codes",
    "no_code_stock",
    "record_trace",
    "return_trace",
    "trace_of_txn",
    "uncoded_self_pay_count",
]

_CHUNK = 500  # codes per IN (...) query: far below SQLite's parameter limit


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def known_codes(conn: sqlite3.Connection, codes: Iterable[str]) -> dict[str, KnownCode]:
    """The rows of `codes`: this terminal's own first, then the other terminals' (as sold)."""
    wanted = list(dict.fromkeys(codes))
    out: dict[str, KnownCode] = {}
    for i in range(0, len(wanted), _CHUNK):
        part = wanted[i : i + _CHUNK]
        marks = ", ".join("?" * len(part))
        for code, status, remaining in conn.execute(
            f"SELECT code, status, remaining FROM trace_others WHERE code IN ({marks})",  # noqa: S608
            part,
        ):
            out[code] = KnownCode(status, _dec(remaining), "another terminal", "")
        for code, status, remaining, txn_id, at in conn.execute(
            "SELECT code, status, remaining, txn_id, at FROM trace_codes "  # noqa: S608
            f"WHERE code IN ({marks})",
            part,
        ):
            other = out.get(code)
            if other is None or other.status == "returned" or status != "returned":
                out[code] = KnownCode(status, _dec(remaining), txn_id, at)
    return out


def no_code_stock(conn: sqlite3.Connection, allowed: Mapping[str, int]) -> dict[str, NoCodeStock]:
    """No-code stock left per item: the catalogue's `no_code_qty` less what this terminal took."""
    items = list(allowed)
    rows: dict[str, tuple[int, str]] = {}
    if items:
        marks = ", ".join("?" * len(items))
        rows = {
            item: (taken, units)
            for item, taken, units in conn.execute(
                f"SELECT item_code, taken, open_units FROM trace_nocode "  # noqa: S608
                f"WHERE item_code IN ({marks})",
                items,
            )
        }
    out: dict[str, NoCodeStock] = {}
    for item, qty in allowed.items():
        taken, units = rows.get(item, (0, "0"))
        out[item] = NoCodeStock(qty - taken, Decimal(units))
    return out


def record_trace(conn: sqlite3.Connection, txn_id: str, plan: TracePlan, at: datetime) -> None:
    """Write a sale's codes and no-code takes (in the sale's own unit of work)."""
    stamp = at.isoformat(" ", "seconds")[:19]
    takes: list[tuple[Any, ...]] = []
    dups = {code for _, code in plan.warnings}
    for w in plan.codes:
        before = conn.execute(
            "SELECT format, gtin, status, remaining, txn_id, feedetl_sn, at FROM trace_codes "
            "WHERE code = ?",
            (w.code,),
        ).fetchone()
        conn.execute(
            "INSERT INTO trace_codes (code, format, gtin, status, remaining, txn_id, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET "
            "format = excluded.format, gtin = excluded.gtin, status = excluded.status, "
            "remaining = excluded.remaining, txn_id = excluded.txn_id, at = excluded.at",
            (w.code, w.format, w.gtin, w.status, _text(w.remaining), txn_id, stamp),
        )
        takes.append(
            (
                txn_id,
                w.line - 1,  # `line_no` as in txn_lines: 0-based
                w.code,
                w.item_code,
                1 if w.units is None else 0,
                _text(w.units),
                int(w.code in dups),
                json.dumps(list(before)) if before is not None else None,
            )
        )
    for number, planned in enumerate(plan.lines):
        if planned.uncoded:  # sold without codes before its rule applied: counted as uncoded
            takes.append((txn_id, number, None, "", 0, None, 0, None))
    conn.executemany(
        "INSERT INTO trace_nocode (item_code, taken, open_units) VALUES (?, ?, ?) "
        "ON CONFLICT (item_code) DO UPDATE SET taken = taken + excluded.taken, "
        "open_units = excluded.open_units",
        [(t.item_code, t.packages, _text(t.open_units)) for t in plan.no_code],
    )
    for t in plan.no_code:
        takes.append((txn_id, t.line - 1, None, t.item_code, t.packages, _text(t.units), 0, None))
    conn.executemany(
        "INSERT INTO trace_takes (txn_id, line_no, code, item_code, packages, units, duplicate, "
        "before) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        takes,
    )


def return_trace(
    conn: sqlite3.Connection, orig_txn_id: str, txn_id: str, at: datetime
) -> list[str]:
    """Give back what sale `orig_txn_id` took: whole packages `returned`, split units back to
    their package, no-code packages back to the stock. The codes returned, in sale order."""
    stamp = at.isoformat(" ", "seconds")[:19]
    returned: list[str] = []
    rows = conn.execute(
        "SELECT code, item_code, packages, units FROM trace_takes WHERE txn_id = ? ORDER BY rowid",
        (orig_txn_id,),
    ).fetchall()
    for code, item_code, packages, units in rows:
        if code is None:
            conn.execute(
                "UPDATE trace_nocode SET taken = MAX(0, taken - ?) WHERE item_code = ?",
                (packages, item_code),
            )
            continue
        returned.append(code)
        if units is None:  # a whole package: may be sold again
            conn.execute(
                "UPDATE trace_codes SET status = 'returned', remaining = NULL, txn_id = ?, at = ? "
                "WHERE code = ?",
                (txn_id, stamp, code),
            )
            continue
        row = conn.execute("SELECT remaining FROM trace_codes WHERE code = ?", (code,)).fetchone()
        left = Decimal(row[0] or "0") + Decimal(units) if row else Decimal(units)
        conn.execute(
            "UPDATE trace_codes SET remaining = ?, txn_id = ?, at = ? WHERE code = ?",
            (format(left, "f"), txn_id, stamp, code),
        )
    return returned


def uncoded_self_pay_count(conn: sqlite3.Connection, day: str) -> int:
    """Self-pay sales dated `day` with a drug line sold without codes (before `all_sales_from`)."""
    row = conn.execute(
        "SELECT COUNT(*) FROM self_pay_sales s WHERE s.setl_date = ? AND s.orig_id IS NULL "
        "AND EXISTS (SELECT 1 FROM trace_takes k WHERE k.txn_id = s.self_pay_id "
        "AND k.code IS NULL AND k.item_code = '')",
        (day,),
    ).fetchone()
    return int(row[0])


def trace_of_txn(conn: sqlite3.Connection, txn_id: str) -> list[dict[str, Any]]:
    """What a sale took: `{line, code, item_code, packages, units, duplicate}` in sale order."""
    return [
        {
            "line": line + 1,
            "code": code,
            "item_code": item,
            "packages": packages,
            "units": units,
            "duplicate": bool(dup),
        }
        for line, code, item, packages, units, dup in conn.execute(
            "SELECT line_no, code, item_code, packages, units, duplicate FROM trace_takes "
            "WHERE txn_id = ? ORDER BY rowid",
            (txn_id,),
        )
    ]


def apply_trace_refdata(
    conn: sqlite3.Connection, body: Mapping[str, Any], *, whole: bool = False
) -> int:
    """Apply a refdata `trace` body (`{"codes": {"added": [...], "removed": [...]}}`): a delta,
    or with `whole` the whole set (what was held before is dropped); how many rows changed."""
    if whole:
        conn.execute("DELETE FROM trace_others")
    codes = body.get("codes", {})
    added = codes.get("added", [])
    removed = codes.get("removed", [])
    conn.executemany(
        "INSERT INTO trace_others (code, status, remaining) VALUES (?, ?, ?) "
        "ON CONFLICT (code) DO UPDATE SET status = excluded.status, remaining = excluded.remaining",
        [(e["code"], e["status"], e.get("remaining")) for e in added],
    )
    conn.executemany("DELETE FROM trace_others WHERE code = ?", [(c,) for c in removed])
    return len(added) + len(removed)

"""Rows ⇄ upload input (platform-api.md "Settlement upload" and "Settlement reversal").

A sale is stored as normalised rows (`txns`, `txn_lines`, `txn_accumulators`) that reports and sync
read. The upload input, and so the ledger hash, is always rebuilt from those rows by the functions
here: the commit path hashes what it is about to write, `ledger verify` and the uploader rebuild the
very same input from what is stored, so an edited row changes the hash.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from operator import attrgetter
from typing import Any

from sync.protocol.upload import entry_hash as protocol_entry_hash
from terminal.ledger.schema import LINE_MONEY, SETLINFO_MONEY
from terminal.settlement import Accumulators, SettlementResult
from terminal.settlement.money import format_fen, parse_money
from terminal.settlement.output import SETLINFO_FIELDS, format_ratio

__all__ = [
    "GENESIS_HASH",
    "LINES_SELECT",
    "TXN_COLUMNS",
    "accumulator_rows",
    "entry_hash",
    "reversal_input",
    "sale_input",
    "sale_rows",
    "split_path",
]

GENESIS_HASH = "0" * 64

TXN_COLUMNS = (
    "txn_id",
    "seq",
    "kind",
    "settled_at",
    "setl_date",
    "offline",
    "operator",
    "payment_method",
    "mdtrt_cert_type",
    "mdtrt_cert_no",
    "card_no",
    "card_sn",
    "psn_name",
    "psn_no",
    "psn_cert",
    "insutype",
    "psn_type",
    "insuplc_admdvs",
    "flags",
    "med_type",
    "inst_level",
    "visit_date",
    "policy_version",
    "scheme",
    "catalogue_version",
    "pool_prop_selfpay",
    *SETLINFO_MONEY,
    "orig_txn_id",
    "reason",
    "visit_extra",  # a visit's own fields (his-api.md "What is uploaded"), canonical JSON
)

LINE_COLUMNS = (
    "seq",
    "line_no",
    "code",
    "name",
    "chrgitm_lv",
    "covered",
    "reason",
    "qty",
    "price",
    *LINE_MONEY,
    "trac",  # trace-codes.md: JSON lists (NULL: the line carries no trace fields)
    "trdn_flag",
    "trac_format",
    "extra",  # a fee line's own fields (his-api.md "What is uploaded"), canonical JSON
)
# the lines of entries, column by column (a `*` would follow the table's own column order)
LINES_SELECT = f"SELECT {', '.join(LINE_COLUMNS)} FROM txn_lines"  # noqa: S608
_CLAIM_VISIT = ("med_type", "inst_level", "date")
_CLAIM_LINE = ("code", "qty", "price", "trac", "trdn_flag", "trac_format")  # the rest: `extra`


def _extra(obj: Mapping[str, Any], known: tuple[str, ...]) -> str | None:
    """The keys beyond the engine's, as canonical JSON (None when there are none)."""
    rest = {k: v for k, v in obj.items() if k not in known}
    if not rest:
        return None
    return json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(upload_input: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON of the input without `ledger.hash` and `ledger.sig`."""
    # built from INTEGER and TEXT columns only: no float can be in it, so skip that walk
    return protocol_entry_hash(upload_input, strict=False)


def _fen(value: str, field: str) -> int:
    """Fen of an amount; the engine's own two-place strings take the short way."""
    digits = value[1:] if value[:1] == "-" else value
    if (
        len(digits) > 3
        and digits[-3] == "."
        and digits.replace(".", "", 1).isascii()
        and digits.replace(".", "", 1).isdigit()
    ):
        return int(value.replace(".", "", 1))
    return parse_money(value, field)


def accumulator_rows(seq: int, phase: str, acc: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The claim-shaped accumulators as `(seq, phase, path, fen)` rows."""
    rows: list[tuple[Any, ...]] = []
    if "acct_balance" in acc:
        rows.append((seq, phase, "acct_balance", _fen(acc["acct_balance"], "acct_balance")))
    for kind in ("pools", "supplements"):
        for name, fields in acc.get(kind, {}).items():
            for field, value in fields.items():
                rows.append((seq, phase, f"{kind}/{name}/{field}", _fen(value, field)))
    return rows


@lru_cache(maxsize=1024)
def split_path(path: str) -> tuple[str, str, str]:
    """An accumulator path `pools/<name>/<field>` as `(kind, name, field)`; the few paths a policy
    has are split once."""
    kind, rest = path.split("/", 1)
    name, field = rest.rsplit("/", 1)
    return kind, name, field


def _accumulators_json(rows: Iterable[tuple[str, int]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    parts = []
    for path, amount in rows:
        if path == "acct_balance":
            out["acct_balance"] = format_fen(amount)
        else:
            parts.append((split_path(path), amount))
    # "acct_balance" < "pools" < "supplements", then names, then fields: in key order
    kinds: dict[str, dict[str, dict[str, str]]] = {"pools": {}, "supplements": {}}
    for (kind, name, field), amount in sorted(parts):
        kinds[kind].setdefault(name, {})[field] = format_fen(amount)
    out.update(kinds)
    return out


def _flags_json(flags: Sequence[str]) -> str:
    return json.dumps(list(flags), ensure_ascii=False) if flags else "[]"


def _flags(text: str) -> list[Any]:
    return json.loads(text) if text != "[]" else []


_SETLINFO_OF = attrgetter(*SETLINFO_MONEY)
_LINE_MONEY_OF = attrgetter(*LINE_MONEY)
_SETLINFO_SORTED = tuple(sorted(SETLINFO_FIELDS))


def sale_rows(
    *,
    txn_id: str,
    seq: int,
    settled_at: str,
    setl_date: str,
    offline: bool,
    operator: str | None,
    payment_method: str | None,
    identity: Mapping[str, Any],
    psn_name: str | None,
    claim: Mapping[str, Any],
    before: Accumulators,
    result: SettlementResult,
    catalogue_version: int,
) -> tuple[dict[str, Any], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The `txns` row, `txn_lines` rows and `txn_accumulators` rows of a sale.

    `identity` holds mdtrt_cert_type, mdtrt_cert_no and, where they apply, card_no and card_sn;
    `claim` (person, visit, basket) is in the JSON shape of settlement.md; `before` (the
    accumulators settled with) and `result` are the engine's own values.
    """
    person, visit = claim["person"], claim["visit"]
    txn: dict[str, Any] = {
        "txn_id": txn_id,
        "seq": seq,
        "kind": "sale",
        "settled_at": settled_at,
        "setl_date": setl_date,
        "offline": int(offline),
        "operator": operator,
        "payment_method": payment_method,
        "mdtrt_cert_type": identity["mdtrt_cert_type"],
        "mdtrt_cert_no": identity["mdtrt_cert_no"],
        "card_no": identity.get("card_no"),
        "card_sn": identity.get("card_sn"),
        "psn_name": psn_name,
        "psn_no": person.get("psn_no"),
        "psn_cert": person["psn_cert"],
        "insutype": person["insutype"],
        "psn_type": person["psn_type"],
        "insuplc_admdvs": person["insuplc_admdvs"],
        "flags": _flags_json(person.get("flags", ())),
        "med_type": visit["med_type"],
        "inst_level": visit["inst_level"],
        "visit_date": visit["date"],
        "policy_version": result.policy_version,
        "scheme": result.scheme,
        "catalogue_version": catalogue_version,
        "pool_prop_selfpay": format_ratio(result.pool_prop_selfpay),
        "orig_txn_id": None,
        "reason": None,
        "visit_extra": _extra(visit, _CLAIM_VISIT),
    }
    txn.update(zip(SETLINFO_MONEY, _SETLINFO_OF(result), strict=True))
    lines = [
        (
            seq,
            i,
            line.code,
            line.name,
            line.chrgitm_lv,
            int(line.covered),
            line.reason,
            item["qty"],
            item["price"],
            *_LINE_MONEY_OF(line),
            *_trace_columns(item),
            _extra(item, _CLAIM_LINE),
        )
        for i, (item, line) in enumerate(zip(claim["basket"], result.lines, strict=True))
    ]
    accs = _value_rows(seq, "before", before) + _value_rows(seq, "after", result.accumulators_after)
    return txn, lines, accs


def _trace_columns(item: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """A basket line's trace fields as stored: present when it has codes or was sold split."""
    trac = item.get("trac") or []
    flag = item.get("trdn_flag", "0")
    if not trac and flag != "1":
        return None, None, None
    formats = item.get("trac_format") or []
    return _json_list(trac), flag, _json_list(formats)


def _json_list(values: Sequence[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))


def _value_rows(seq: int, phase: str, acc: Accumulators) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [(seq, phase, "acct_balance", acc.acct_balance)]
    for name, pool in acc.pools.items():
        rows += [
            (seq, phase, f"pools/{name}/dedc_used", pool.dedc_used),
            (seq, phase, f"pools/{name}/inscp_cum", pool.inscp_cum),
            (seq, phase, f"pools/{name}/fund_paid", pool.fund_paid),
        ]
    for name, supp in acc.supplements.items():
        rows += [
            (seq, phase, f"supplements/{name}/base_cum", supp.base_cum),
            (seq, phase, f"supplements/{name}/paid", supp.paid),
        ]
    return rows


def sale_input(
    txn: Mapping[str, Any],
    ledger: Mapping[str, Any],
    lines: Sequence[Sequence[Any]],
    accs: Iterable[Sequence[Any]],
) -> dict[str, Any]:
    """The upload input of a sale, rebuilt from its stored rows; `ledger` holds seq and prev_hash
    (and hash and sig when uploading); `lines` are `txn_lines` rows in LINE_COLUMNS order and
    `accs` are `txn_accumulators` rows `(seq, phase, path, amount)`."""
    before: list[tuple[str, int]] = []
    after: list[tuple[str, int]] = []
    for row in accs:
        (before if row[1] == "before" else after).append((row[2], row[3]))
    person: dict[str, Any] = {
        "flags": _flags(txn["flags"]),
        "insuplc_admdvs": txn["insuplc_admdvs"],
        "insutype": txn["insutype"],
        "psn_cert": txn["psn_cert"],
    }
    if txn["psn_no"] is not None:
        person["psn_no"] = txn["psn_no"]
    person["psn_type"] = txn["psn_type"]
    basket = []
    result_lines = []
    for row in lines:  # LINE_COLUMNS: code 2, name 3, chrgitm_lv 4, ..., the LINE_MONEY from 9
        entry = {"code": row[2], "price": row[8], "qty": row[7]}
        if row[15] is not None:  # trac 14, trdn_flag 15, trac_format 16
            entry["trac"] = json.loads(row[14])
            entry["trac_format"] = json.loads(row[16])
            entry["trdn_flag"] = row[15]
        if len(row) > 17 and row[17]:  # LINE_COLUMNS' `extra` 17
            entry.update(json.loads(row[17]))
        basket.append(entry)
        result_lines.append(
            {
                "chrgitm_lv": row[4],
                "code": row[2],
                "covered": bool(row[5]),
                "det_item_fee_sumamt": format_fen(row[9]),
                "fulamt_ownpay_amt": format_fen(row[10]),
                "inscp_scp_amt": format_fen(row[13]),
                "name": row[3],
                "overlmt_selfpay": format_fen(row[11]),
                "preselfpay_amt": format_fen(row[12]),
                "reason": row[6],
            }
        )
    setlinfo = {
        k: txn[k] if k == "pool_prop_selfpay" else format_fen(txn[k]) for k in _SETLINFO_SORTED
    }
    out: dict[str, Any] = {}
    if txn["card_no"] is not None:
        out["card_no"] = txn["card_no"]
    if txn["card_sn"] is not None:
        out["card_sn"] = txn["card_sn"]
    out["catalogue_version"] = txn["catalogue_version"]
    out["claim"] = {
        "accumulators": _accumulators_json(before),
        "basket": basket,
        "person": person,
        "visit": {
            "date": txn["visit_date"],
            "inst_level": txn["inst_level"],
            "med_type": txn["med_type"],
        },
    }
    if txn.get("visit_extra"):
        out["claim"]["visit"].update(json.loads(txn["visit_extra"]))
    out["ledger"] = dict(sorted(ledger.items()))
    out["mdtrt_cert_no"] = txn["mdtrt_cert_no"]
    out["mdtrt_cert_type"] = txn["mdtrt_cert_type"]
    out["offline"] = bool(txn["offline"])
    out["result"] = {
        "accumulators_after": _accumulators_json(after),
        "lines": result_lines,
        "policy_version": txn["policy_version"],
        "scheme": txn["scheme"],
        "setlinfo": setlinfo,
    }
    out["settled_at"] = txn["settled_at"]
    out["txn_id"] = txn["txn_id"]
    return out


def reversal_input(txn: Mapping[str, Any], ledger: Mapping[str, Any]) -> dict[str, Any]:
    """The upload input of a reversal (platform-api.md "Settlement reversal"), from its row."""
    return {
        "txn_id": txn["txn_id"],
        "orig_txn_id": txn["orig_txn_id"],
        "ledger": dict(ledger),
        "settled_at": txn["settled_at"],
        "reason": txn["reason"],
        "operator": txn["operator"],
    }

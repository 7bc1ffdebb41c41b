"""A settlement's engine lines from its fee lines (his-api.md "How a visit settles"): returns
(negative `cnt`) netted into their line, lines netted to zero left out."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from typing import Any

from terminal.his.desk import HisDesk
from terminal.his.numbers import plain
from terminal.ledger.his import PresettleLines, SettleLine, his_presettle_lines
from terminal.settlement import BasketLine

__all__ = ["net_basket", "net_rows", "presettle_basket"]

_LINE_UPLOAD = ("feedetl_sn", "chrg_bchno", "init_feedetl_sn", "fee_ocur_time", "bilg_dr_codg",
                "trac", "trdn_flag")  # fmt: skip
_ZERO = Decimal(0)


def net_basket(
    lines: list[SettleLine],
) -> tuple[list[BasketLine], list[dict[str, Any]], list[dict[str, Any]]]:
    """A settlement's basket in one pass over the lines: each return netted into its line, lines
    netted to zero left out, as the engine's `BasketLine`s (each quantity and price read once),
    as the claim's lines with their own fields (his-api.md "What is uploaded"), and the returns
    with the line each nets into (`visit.returns`). A pre-settlement needs only the engine's
    lines, read lean: `net_rows`."""
    read: dict[str, Decimal] = {}  # a stay repeats the same few quantities and prices

    def dec(text: str) -> Decimal:
        value = read.get(text)
        if value is None:
            value = read[text] = Decimal(text)
        return value

    counts = [dec(ln.cnt) for ln in lines]
    returned: dict[str, Decimal] = {}  # by the line a return names
    returns: list[dict[str, Any]] = []
    for ln, cnt in zip(lines, counts, strict=True):
        if cnt < 0:
            init = ln.init_feedetl_sn or ""  # a return names its line (checked at upload)
            returned[init] = returned.get(init, _ZERO) + cnt
            returns.append({"feedetl_sn": ln.feedetl_sn, "init_feedetl_sn": init,
                            "cnt": ln.cnt, "init_cnt": None})  # fmt: skip
    parsed, basket = [], []
    made: dict[tuple[str, Decimal, str], BasketLine] = {}
    for ln, cnt in zip(lines, counts, strict=True):
        if cnt < 0:
            continue
        sn = ln.feedetl_sn
        qty = cnt + returned[sn] if sn in returned else cnt
        if qty <= 0:
            continue
        key = (ln.med_list_codg, qty, ln.pric)
        line = made.get(key)  # the same drug, count and price day after day: one object
        if line is None:
            line = made[key] = BasketLine(ln.med_list_codg, qty, dec(ln.pric))
        parsed.append(line)
        item = {"code": ln.med_list_codg, "qty": plain(qty), "price": ln.pric}
        item.update({k: getattr(ln, k) for k in _LINE_UPLOAD if getattr(ln, k) is not None})
        if "trac" in item:  # stored as JSON text (his_lines.trac)
            item["trac"] = json.loads(item["trac"])
        basket.append(item)
    if returns:
        cnt_of = {ln.feedetl_sn: ln.cnt for ln in lines}
        for r in returns:
            r["init_cnt"] = cnt_of.get(r["init_feedetl_sn"])
    return parsed, basket, returns


def presettle_basket(
    desk: HisDesk, mdtrt_id: str, where: dict[str, str | None]
) -> tuple[list[BasketLine], int, int]:
    """A pre-settlement's engine lines, its line count and its total in fen, read lean
    (`his_presettle_lines`, `net_rows`)."""
    read = his_presettle_lines(desk.ledger, mdtrt_id, **where)
    parsed, total = net_rows(read)
    return parsed, len(read.lines), total


def net_rows(read: PresettleLines) -> tuple[list[BasketLine], int]:
    """`net_basket`'s engine lines from what a pre-settlement reads, in no set order, and the
    lines' total in fen. A stay of a thousand lines repeats a few hundred kinds (the same code,
    count, price, amount and named line): they are counted, and each kind's `BasketLine` made
    once; a line a return names is netted alone."""
    kinds = Counter(read.lines)
    total = 0
    returned: dict[str, Decimal] = {}  # by the line a return names
    made: list[tuple[tuple[str, str, str, int, str | None], BasketLine]] = []
    for kind, n in kinds.items():
        code, cnt, pric, fen, init = kind
        total += fen * n
        if cnt[:1] == "-":
            if Decimal(cnt) < 0:  # ("-0" is no return)
                returned[init or ""] = returned.get(init or "", _ZERO) + Decimal(cnt) * n
            continue
        qty = Decimal(cnt)
        if qty > 0:  # a zero count is no engine line
            made.append((kind, BasketLine(code, qty, Decimal(pric))))
    parsed: list[BasketLine] = []
    for sn, code, cnt, pric, fen, init in read.named:  # netted one by one, out of their kind
        kinds[(code, cnt, pric, fen, init)] -= 1
        qty = Decimal(cnt) + returned.get(sn, _ZERO)
        if qty > 0:
            parsed.append(BasketLine(code, qty, Decimal(pric)))
    for kind, line in made:
        parsed += [line] * kinds[kind]
    return parsed, total

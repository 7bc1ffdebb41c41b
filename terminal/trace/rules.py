"""How many codes a line needs, and what a sale does to the code table and the no-code stock
(trace-codes.md "How many codes a line needs", "Uniqueness on the terminal").

`plan_sale` is pure: the lines, the table's rows for the codes they name, the no-code stock left,
whether the date gates require codes and the duplicate policy in; a `TracePlan` (what to write in
the sale's unit of work) or the first `TraceRefusal` out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from terminal.trace.normalise import TraceCode, TraceRefusal, normalise_scan

__all__ = [
    "CodeWrite",
    "KnownCode",
    "NoCodeStock",
    "NoCodeTake",
    "PlannedLine",
    "TraceItem",
    "TraceLine",
    "TracePlan",
    "plan_sale",
]


@dataclass(frozen=True, slots=True)
class TraceItem:
    """The catalogue's trace fields of an item."""

    trac_required: bool = False
    pack_qty: Decimal | None = None
    unit_is_pack: bool = True
    no_code_qty: int = 0


@dataclass(frozen=True, slots=True)
class TraceLine:
    """A basket line as the rules see it; `line` is 1-based; `trac` as given (raw scans)."""

    line: int
    item_code: str
    item: TraceItem
    qty: Decimal
    trac: tuple[str, ...] = ()
    trdn_flag: str = "0"


@dataclass(frozen=True, slots=True)
class KnownCode:
    """A row of the terminal's `trace_codes` (or a code sold by another terminal)."""

    status: str  # sold | opened | returned
    remaining: Decimal | None
    txn_id: str
    at: str


@dataclass(frozen=True, slots=True)
class NoCodeStock:
    """No-code stock of an item on this terminal: whole packages left, units left in the opened."""

    packages: int
    open_units: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class CodeWrite:
    """A code's new row: `units` taken by a split line (None: a whole package)."""

    code: str
    format: str
    gtin: str | None
    status: str
    remaining: Decimal | None
    line: int
    item_code: str
    units: Decimal | None


@dataclass(frozen=True, slots=True)
class NoCodeTake:
    """Packages opened or taken from an item's no-code stock, and the units left open after."""

    line: int
    item_code: str
    packages: int
    open_units: Decimal
    units: Decimal | None  # split lines: units taken


@dataclass(frozen=True, slots=True)
class PlannedLine:
    """A line's trace fields as sold and uploaded."""

    trac: tuple[str, ...]
    trac_format: tuple[str, ...]
    trdn_flag: str
    flags: tuple[str, ...] = ()
    uncoded: bool = False  # a trac_required line sold without codes while no rule asked for them


@dataclass(frozen=True, slots=True)
class TracePlan:
    lines: tuple[PlannedLine, ...]
    codes: tuple[CodeWrite, ...] = ()
    no_code: tuple[NoCodeTake, ...] = ()
    warnings: tuple[tuple[int, str], ...] = field(default=())

    @property
    def uncoded(self) -> int:
        return sum(1 for line in self.lines if line.uncoded)


def _refuse(code: str, line: int, message: str) -> TraceRefusal:
    return TraceRefusal(code, f"line {line}: {message}", line)


def _fmt(q: Decimal) -> str:
    return format(q.normalize(), "f") if q == q.to_integral_value() else format(q, "f")


def plan_sale(
    lines: Sequence[TraceLine],
    known: Mapping[str, KnownCode],
    stock: Mapping[str, NoCodeStock],
    *,
    codes_required: bool,
    on_duplicate: str = "refuse",
    allow_other: bool = True,
) -> TracePlan | TraceRefusal:
    """The sale's trace plan, or the first refusal (lines in order)."""
    seen: dict[str, int] = {}
    out: list[PlannedLine] = []
    writes: list[CodeWrite] = []
    takes: list[NoCodeTake] = []
    warnings: list[tuple[int, str]] = []
    left = dict(stock)
    for ln in lines:
        if not ln.item.trac_required:
            out.append(_unchecked(ln, allow_other))
            continue
        scanned: list[TraceCode] = []
        for raw in ln.trac:
            got = normalise_scan(raw, allow_other=allow_other)
            if isinstance(got, TraceRefusal):
                return TraceRefusal(got.code, f"line {ln.line}: {got.message}", ln.line)
            if got.code in seen:
                where = "this line" if seen[got.code] == ln.line else f"line {seen[got.code]}"
                return _refuse(
                    "trace_duplicate_in_sale",
                    ln.line,
                    f"the code {got.code} is also on {where} of this sale: each package once",
                )
            seen[got.code] = ln.line
            scanned.append(got)
        if ln.trdn_flag == "1":
            done = _split(ln, scanned, known, left, on_duplicate, codes_required)
        else:
            done = _whole(ln, scanned, known, left, on_duplicate, codes_required)
        if isinstance(done, TraceRefusal):
            return done
        planned, new_writes, take, dup = done
        out.append(planned)
        writes += new_writes
        if take is not None:
            takes.append(take)
            left[ln.item_code] = NoCodeStock(
                left.get(ln.item_code, NoCodeStock(0)).packages - take.packages, take.open_units
            )
        warnings += [(ln.line, code) for code in dup]
    return TracePlan(tuple(out), tuple(writes), tuple(takes), tuple(warnings))


def _unchecked(ln: TraceLine, allow_other: bool) -> PlannedLine:
    # "Items without trac_required keep any trac given and check nothing": kept as given
    formats = []
    for raw in ln.trac:
        got = normalise_scan(raw, allow_other=allow_other)
        ok = isinstance(got, TraceCode) and got.code == raw
        formats.append(got.format if isinstance(got, TraceCode) and ok else "unchecked")
    return PlannedLine(tuple(ln.trac), tuple(formats), ln.trdn_flag)


_Done = tuple[PlannedLine, list[CodeWrite], NoCodeTake | None, list[str]]


def _packages(ln: TraceLine) -> Decimal:
    if ln.item.unit_is_pack:
        return ln.qty
    if ln.item.pack_qty is None:
        return Decimal(-1)  # no whole number of packages can be known
    return ln.qty / ln.item.pack_qty


def _duplicate(code: str, row: KnownCode, ln: TraceLine) -> TraceRefusal:
    what = "opened (sold split)" if row.status == "opened" else "sold"
    return _refuse(
        "trace_duplicate",
        ln.line,
        f"the code {code} was {what} before, by sale {row.txn_id} at {row.at}: "
        "a package is sold once; set this box aside and scan another",
    )


def _whole(
    ln: TraceLine,
    scanned: list[TraceCode],
    known: Mapping[str, KnownCode],
    stock: Mapping[str, NoCodeStock],
    on_duplicate: str,
    codes_required: bool,
) -> _Done | TraceRefusal:
    n = _packages(ln)
    if n != n.to_integral_value() or n <= 0:
        per = f" of {_fmt(ln.item.pack_qty)} units" if ln.item.pack_qty is not None else ""
        return _refuse(
            "trace_count_mismatch",
            ln.line,
            f"{_fmt(ln.qty)} is not a whole number of packages{per}: sell whole packages, or "
            "sell the line split (拆零)",
        )
    need = int(n)
    if not scanned:
        if not codes_required:
            return PlannedLine((), (), "0", uncoded=True), [], None, []
        have = stock.get(ln.item_code, NoCodeStock(0))
        if have.packages < need:
            return _refuse(
                "trace_missing",
                ln.line,
                f"needs {need} traceability code(s); none was scanned and the no-code stock "
                f"left is {max(have.packages, 0)} package(s): scan the codes of its packages",
            )
        return (
            PlannedLine((), (), "0"),
            [],
            NoCodeTake(ln.line, ln.item_code, need, have.open_units, None),
            [],
        )
    if len(scanned) != need:
        return _refuse(
            "trace_count_mismatch",
            ln.line,
            f"needs {need} traceability code(s), {len(scanned)} scanned",
        )
    writes, dup = [], []
    for got in scanned:
        row = known.get(got.code)
        if row is not None and row.status != "returned":
            if on_duplicate != "warn":
                return _duplicate(got.code, row, ln)
            dup.append(got.code)
        writes.append(
            CodeWrite(got.code, got.format, got.gtin, "sold", None, ln.line, ln.item_code, None)
        )
    flags = ("trace_duplicate",) if dup else ()
    planned = PlannedLine(
        tuple(c.code for c in scanned), tuple(c.format for c in scanned), "0", flags
    )
    return planned, writes, None, dup


def _split(
    ln: TraceLine,
    scanned: list[TraceCode],
    known: Mapping[str, KnownCode],
    stock: Mapping[str, NoCodeStock],
    on_duplicate: str,
    codes_required: bool,
) -> _Done | TraceRefusal:
    pack = ln.item.pack_qty
    if pack is None or pack <= 0:
        return _refuse(
            "trace_count_mismatch",
            ln.line,
            "this item has no package size (pack_qty) in the catalogue, so it cannot be sold "
            "split: sell whole packages",
        )
    need = ln.qty  # a split line counts minimum units
    if not scanned:
        if not codes_required:
            return PlannedLine((), (), "1", uncoded=True), [], None, []
        have = stock.get(ln.item_code, NoCodeStock(0))
        units = have.open_units
        opened = 0
        while units < need and opened < max(have.packages, 0):
            units += pack
            opened += 1
        if units < need:
            return _refuse(
                "trace_missing",
                ln.line,
                f"needs the code of the package(s) its {_fmt(need)} units come from; the no-code "
                "stock does not cover them: scan the code of the opened package",
            )
        take = NoCodeTake(ln.line, ln.item_code, opened, units - need, need)
        return PlannedLine((), (), "1"), [], take, []
    writes: list[CodeWrite] = []
    dup: list[str] = []
    for got in scanned:
        if need <= 0:
            return _refuse(
                "trace_count_mismatch",
                ln.line,
                f"the codes before {got.code} already cover {_fmt(ln.qty)} units: remove it",
            )
        row = known.get(got.code)
        if row is None or row.status == "returned":
            has = pack
        elif row.status == "opened" and row.remaining is not None and row.remaining > 0:
            has = row.remaining
        elif row.status == "opened":
            return _refuse(
                "trace_split_exhausted",
                ln.line,
                f"the package {got.code} was opened before (sale {row.txn_id}) and has nothing "
                "left: scan the code of another package",
            )
        elif on_duplicate == "warn":
            dup.append(got.code)
            has = pack
        else:
            return _duplicate(got.code, row, ln)
        taken = min(has, need)
        need -= taken
        writes.append(
            CodeWrite(
                got.code, got.format, got.gtin, "opened", has - taken, ln.line, ln.item_code, taken
            )
        )
    if need > 0:
        return _refuse(
            "trace_split_exhausted",
            ln.line,
            f"the packages scanned cover {_fmt(ln.qty - need)} of its {_fmt(ln.qty)} units: "
            "scan the code of another package",
        )
    flags = ("trace_duplicate",) if dup else ()
    planned = PlannedLine(
        tuple(c.code for c in scanned), tuple(c.format for c in scanned), "1", flags
    )
    return planned, writes, None, dup

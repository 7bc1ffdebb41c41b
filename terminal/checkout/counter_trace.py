"""Traceability codes at the counter (trace-codes.md "At the counter").

After a drug line (an item with `trac_required`) the scan field takes its codes: a scan that
normalises to a code goes to that line, which shows "codes n / N". A product barcode is never
taken for a code (it is an item, `normalise_scan` rule 4), and a code is never looked up as an
item barcode (a 20-digit or GS1 code is no GTIN). Enter on the empty field with codes missing
says which line needs how many. Pure functions over the counter's lines.
"""

from __future__ import annotations

from terminal.checkout.basket import Line
from terminal.errors import CheckoutError
from terminal.trace import TraceCode, normalise_scan

__all__ = ["codes_needed", "looks_like_trace", "missing_codes", "take_code"]


def codes_needed(line: Line) -> int | None:
    """N: the codes a whole-package drug line needs (None: not a drug line, or not whole)."""
    return line.trac_need


def looks_like_trace(text: str) -> bool:
    """A scan that is a traceability code of its own shape (20 digits or GS1), whatever line."""
    got = normalise_scan(text, allow_other=False)
    return isinstance(got, TraceCode)


def take_code(lines: list[Line], index: int, text: str, *, allow_other: bool) -> bool:
    """Add the scan `text` to drug line `index` when it is a code; False when it is none (the
    caller then treats it as an item, a search, …). A refused code raises `CheckoutError`
    naming the line."""
    got = normalise_scan(text, allow_other=allow_other)
    if isinstance(got, TraceCode) and got.format == "other" and not any(c.isdigit() for c in text):
        return False  # letters only: a search word (`amoxicillin`), not a code
    if not isinstance(got, TraceCode):
        if got.code in ("bad_check_digit",) or text.strip().startswith(("(01)", "]d2", "]Q3")):
            raise CheckoutError(got.code, f"line {index + 1}: {got.message}")
        return False
    for n, other in enumerate(lines):
        if got.code in other.trac:
            raise CheckoutError(
                "trace_duplicate_in_sale",
                f"line {index + 1}: the code {got.code} is already on line {n + 1} of this sale",
            )
    line = lines[index]
    need = codes_needed(line)
    if need is not None and len(line.trac) >= need:
        raise CheckoutError(
            "trace_count_mismatch",
            f"line {index + 1} already has its {need} code(s): raise its quantity first",
        )
    line.trac.append(got.code)
    return True


def missing_codes(lines: list[Line]) -> list[tuple[int, int, int]]:
    """`(line number, codes needed, codes scanned)` of the drug lines started but not complete
    (a line with no code at all may still be sold from no-code stock: the sale decides)."""
    out = []
    for i, line in enumerate(lines):
        need = codes_needed(line)
        if need is not None and line.trac and len(line.trac) != need:
            out.append((i + 1, need, len(line.trac)))
    return out

"""Normalising a scan into a traceability code (trace-codes.md "Normalising a scan").

One pure function, `normalise_scan`: a keyboard-wedge scanner's line or a camera's decoded text in,
a `TraceCode` or a `TraceRefusal` out. The rules are tried in the spec's order; the first that
applies decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "FORMATS",
    "REFUSAL_EXIT",
    "TraceCode",
    "TraceRefusal",
    "gs1_check_ok",
    "normalise_scan",
]

FORMATS = ("gs1", "nmpa20", "other")
# the refusal codes of the spec and the exit code `medpos checkout` gives each: the first five
# say the input is wrong (2), the last three that the sale is refused (4)
REFUSAL_EXIT = {
    "bad_trace_format": 2,
    "product_barcode_not_trace": 2,
    "bad_check_digit": 2,
    "trace_count_mismatch": 2,
    "trace_split_exhausted": 2,
    "trace_duplicate": 4,
    "trace_duplicate_in_sale": 4,
    "trace_missing": 4,
}

GS = "\x1d"
_SYMBOLOGY_IDS = ("]C1", "]d2", "]Q3", "]e0")
_NMPA20 = re.compile(r"\d{20}")
_PRODUCT = re.compile(r"\d{8}|\d{12,14}")
_OTHER = re.compile(r"[0-9A-Za-z]{8,100}")
_GS1_RAW = re.compile(r"01\d{14}")
_PAREN = re.compile(r"\((\d{2,4})\)([^()]*)")
# fixed-length AIs: digits; variable-length AIs: the most characters (ended by GS or the end)
_FIXED = {"01": 14, "17": 6, "11": 6, "13": 6, "15": 6}
_VARIABLE = {"10": 20, "21": 20, "240": 30, "30": 8, **{str(ai): 90 for ai in range(91, 100)}}


@dataclass(frozen=True, slots=True)
class TraceCode:
    """A normalised code: `code` is what is stored and uploaded; `warning` e.g. unusual_prefix."""

    code: str
    format: str
    gtin: str | None = None
    lot: str | None = None
    expiry: str | None = None  # AI 17 as printed, YYMMDD
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class TraceRefusal:
    """A refusal of the spec: `code`, a sentence, and the 1-based basket line (or None)."""

    code: str
    message: str
    line: int | None = None

    def as_json(self) -> dict[str, object]:
        """`{"error", "message", "line"}` as `medpos checkout` prints it."""
        return {"error": self.code, "message": self.message, "line": self.line}

    @property
    def exit_code(self) -> int:
        return REFUSAL_EXIT[self.code]


def gs1_check_ok(digits: str) -> bool:
    """Whether the last digit of a GTIN (8, 12, 13 or 14 digits) is its GS1 mod-10 check digit."""
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _bad(text: str, why: str) -> TraceRefusal:
    shown = text if len(text) <= 40 else text[:40] + "…"
    return TraceRefusal(
        "bad_trace_format", f"{shown!r} is not a traceability code ({why}): scan it again"
    )


def normalise_scan(text: str, *, allow_other: bool = True) -> TraceCode | TraceRefusal:
    """A scanned line as a traceability code, or the refusal the spec names."""
    s = text.strip()  # whitespace, CR/LF (and a leading or trailing GS, which ends nothing)
    for prefix in _SYMBOLOGY_IDS:
        if s.startswith(prefix):
            s = s[len(prefix) :].strip()
            break
    if s.startswith("(") or _GS1_RAW.match(s):
        return _gs1(s)
    if _NMPA20.fullmatch(s):
        warning = None if s[0] == "8" else "unusual_prefix"
        return TraceCode(s, "nmpa20", warning=warning)
    if _PRODUCT.fullmatch(s) and gs1_check_ok(s):
        return TraceRefusal(
            "product_barcode_not_trace",
            f"{s} is the box's barcode; scan the code labelled 药品追溯码",
        )
    if allow_other and _OTHER.fullmatch(s):
        return TraceCode(s, "other")
    return _bad(s, "not 20 digits, not a GS1 element string, not 8 to 100 letters or digits")


def _gs1(s: str) -> TraceCode | TraceRefusal:
    fields = _parse_paren(s) if s.startswith("(") else _parse_raw(s)
    if isinstance(fields, TraceRefusal):
        return fields
    gtin = fields.get("01")
    if gtin is None:
        return _bad(s, "a GS1 element string without AI 01")
    if "21" not in fields:
        return _bad(s, "a GS1 element string without AI 21, the package's serial number")
    if not gs1_check_ok(gtin):
        return TraceRefusal(
            "bad_check_digit",
            f"the GTIN {gtin} in this code fails its check digit: scan it again",
        )
    return TraceCode(
        f"01{gtin}21{fields['21']}",
        "gs1",
        gtin=gtin,
        lot=fields.get("10"),
        expiry=fields.get("17"),
    )


def _check(ai: str, value: str, s: str) -> TraceRefusal | None:
    if ai in _FIXED:
        if len(value) != _FIXED[ai] or not value.isascii() or not value.isdigit():
            return _bad(s, f"AI {ai} needs {_FIXED[ai]} digits")
    elif not value or len(value) > _VARIABLE[ai] or GS in value:
        return _bad(s, f"AI {ai} needs 1 to {_VARIABLE[ai]} characters")
    return None


def _parse_paren(s: str) -> dict[str, str] | TraceRefusal:
    fields: dict[str, str] = {}
    pos = 0
    for m in _PAREN.finditer(s):
        if m.start() != pos:
            return _bad(s, "text outside the (AI) fields")
        ai, value = m.group(1), m.group(2).strip(GS)
        if ai not in _FIXED and ai not in _VARIABLE:
            return _bad(s, f"AI {ai} is not one a drug package carries")
        if ai in fields:
            return _bad(s, f"AI {ai} twice")
        bad = _check(ai, value, s)
        if bad is not None:
            return bad
        fields[ai] = value
        pos = m.end()
    if pos != len(s) or not fields:
        return _bad(s, "text outside the (AI) fields")
    return fields


def _parse_raw(s: str) -> dict[str, str] | TraceRefusal:
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(s):
        if s[pos] == GS:  # some encoders end a fixed-length field with FNC1 too
            pos += 1
            continue
        ai = s[pos : pos + 3] if s[pos : pos + 3] == "240" else s[pos : pos + 2]
        if ai not in _FIXED and ai not in _VARIABLE:
            return _bad(s, f"AI {ai!r} is not one a drug package carries")
        pos += len(ai)
        if ai in _FIXED:
            end = pos + _FIXED[ai]
        else:
            gs = s.find(GS, pos)
            end = len(s) if gs < 0 else gs
        value = s[pos:end]
        if ai in fields:
            return _bad(s, f"AI {ai} twice")
        bad = _check(ai, value, s)
        if bad is not None:
            return bad
        fields[ai] = value
        pos = end
    return fields

"""trace-codes.md "Normalising a scan": one example per rule, and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.trace import REFUSAL_EXIT, TraceCode, TraceRefusal, gs1_check_ok, normalise_scan

GS = "\x1d"


def _with_check(body: str) -> str:
    return next(body + d for d in "0123456789" if gs1_check_ok(body + d))


GTIN = _with_check("0690123456789")  # 14 digits


def test_a_20_digit_code_is_nmpa20() -> None:
    got = normalise_scan("  81234567890123456789\r\n")
    assert got == TraceCode("81234567890123456789", "nmpa20")


def test_a_20_digit_code_without_the_8_prefix_is_accepted_with_a_warning() -> None:
    got = normalise_scan("71234567890123456789")
    assert isinstance(got, TraceCode)
    assert (got.format, got.warning) == ("nmpa20", "unusual_prefix")


@pytest.mark.parametrize("prefix", ["]C1", "]d2", "]Q3", "]e0"])
def test_a_symbology_identifier_is_dropped(prefix: str) -> None:
    got = normalise_scan(prefix + "81234567890123456789\n")
    assert isinstance(got, TraceCode) and got.code == "81234567890123456789"


def test_a_gs1_string_with_gs_gives_gtin_serial_lot_and_expiry() -> None:
    got = normalise_scan(f"]d201{GTIN}17281231" + f"10LOT7{GS}21SER123{GS}")
    assert got == TraceCode(f"01{GTIN}21SER123", "gs1", gtin=GTIN, lot="LOT7", expiry="281231")


def test_a_gs1_string_with_parentheses_gives_the_same_code() -> None:
    got = normalise_scan(f"(01){GTIN}(17)281231(10)LOT7(21)SER123")
    assert isinstance(got, TraceCode)
    assert (got.code, got.lot, got.expiry) == (f"01{GTIN}21SER123", "LOT7", "281231")


def test_other_ais_are_skipped_by_their_lengths() -> None:
    got = normalise_scan(f"01{GTIN}11250101{GS}21S1{GS}240ABC{GS}91xyz{GS}30123")
    assert isinstance(got, TraceCode) and got.code == f"01{GTIN}21S1"


def test_a_gs1_string_without_a_serial_is_bad_trace_format() -> None:
    got = normalise_scan(f"01{GTIN}10LOT7")
    assert isinstance(got, TraceRefusal) and got.code == "bad_trace_format"


def test_a_gs1_gtin_with_a_wrong_check_digit_is_refused() -> None:
    wrong = GTIN[:-1] + str((int(GTIN[-1]) + 1) % 10)
    got = normalise_scan(f"(01){wrong}(21)S1")
    assert isinstance(got, TraceRefusal) and got.code == "bad_check_digit"


@pytest.mark.parametrize(
    "text", ["(01)123(21)S", f"(01){GTIN}(21)", f"(01){GTIN}(77)X(21)S", f"01{GTIN}21{'x' * 21}"]
)
def test_malformed_gs1_strings_are_bad_trace_format(text: str) -> None:
    got = normalise_scan(text)
    assert isinstance(got, TraceRefusal) and got.code == "bad_trace_format"


@pytest.mark.parametrize("body", ["690123456789", "9787111", "00012345678", "0690123456789"])
def test_a_product_barcode_is_refused_as_such(body: str) -> None:
    got = normalise_scan(_with_check(body))
    assert isinstance(got, TraceRefusal) and got.code == "product_barcode_not_trace"
    assert "药品追溯码" in got.message


def test_other_codes_are_accepted_unless_configured_off() -> None:
    assert normalise_scan("AB12CD34EF") == TraceCode("AB12CD34EF", "other")
    got = normalise_scan("AB12CD34EF", allow_other=False)
    assert isinstance(got, TraceRefusal) and got.code == "bad_trace_format"


@pytest.mark.parametrize("text", ["", "short", "has space inside", "码码码码码码码码", "a" * 101])
def test_anything_else_is_bad_trace_format(text: str) -> None:
    got = normalise_scan(text)
    assert isinstance(got, TraceRefusal) and got.code == "bad_trace_format"


def test_every_refusal_has_its_exit_code() -> None:
    assert sorted(v for v in REFUSAL_EXIT.values()) == [2, 2, 2, 2, 2, 4, 4, 4]


# -- properties --------------------------------------------------------------------------------

_gtins = st.text("0123456789", min_size=13, max_size=13).map(_with_check)
_serials = st.text(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1, max_size=20
)
_lots = st.none() | _serials
_noise = st.sampled_from(["", " ", "\t", "\r\n", "\n"])
_ids = st.sampled_from(["", "]C1", "]d2", "]Q3", "]e0"])


@given(_gtins, _serials, _lots, _noise, _noise, _ids)
def test_gs1_written_either_way_normalises_to_one_code(
    gtin: str, serial: str, lot: str | None, lead: str, trail: str, ident: str
) -> None:
    lot_gs = f"10{lot}{GS}" if lot else ""
    lot_paren = f"(10){lot}" if lot else ""
    raw = normalise_scan(f"{lead}{ident}01{gtin}{lot_gs}21{serial}{trail}")
    paren = normalise_scan(f"{lead}{ident}(01){gtin}{lot_paren}(21){serial}{trail}")
    assert isinstance(raw, TraceCode)
    assert raw == paren
    assert (raw.code, raw.gtin, raw.lot) == (f"01{gtin}21{serial}", gtin, lot)


@given(st.text(max_size=120))
def test_normalising_never_raises_and_is_idempotent(text: str) -> None:
    got = normalise_scan(text)
    if isinstance(got, TraceRefusal):
        assert got.code in REFUSAL_EXIT
    else:
        again = normalise_scan(got.code)
        assert isinstance(again, TraceCode) and again.code == got.code


@given(st.text("0123456789", min_size=20, max_size=20).filter(lambda s: not s.startswith("01")))
def test_twenty_digits_are_an_nmpa20_code(digits: str) -> None:
    got = normalise_scan(digits)
    assert isinstance(got, TraceCode) and got.format == "nmpa20" and got.code == digits

"""Receipts rendered to ESC/POS and HTML, and read back as a printer and a browser would."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
import qrcode
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

import drivers.printer
from drivers.printer import Receipt, ReceiptLine, escpos_bytes, format_fen, receipt_html
from drivers.printer.escpos import DOTS
from drivers.printer.html import qr_svg
from tests.unit.printer.helpers import columns, parse_escpos, refund_of, sample_receipt

ZH_LABELS = (
    "医保结算单",
    "机构编码",
    "终端编号",
    "结算时间",
    "收款员",
    "参保人",
    "证件号码",
    "险种",
    "医疗费总额",
    "统筹基金支付",
    "个人账户支付",
    "个人现金支付",
    "支付方式",
    "移动支付",
    "离线结算",
    "流水号",
    "账本序号",
    "账本哈希",
    "甲类",
    "自费",
)
EN_LABELS = (
    "Medical Insurance Settlement",
    "Institution",
    "Terminal",
    "Settled at",
    "Cashier",
    "Insured",
    "ID no.",
    "Total medical fees",
    "Pooled fund paid",
    "Personal account paid",
    "Cash paid",
    "Payment method",
    "Mobile payment",
    "OFFLINE SETTLEMENT",
    "Transaction",
    "Ledger seq",
    "Ledger hash",
    "Class A",
    "Self-pay",
)
AMOUNTS = ("12.34", "24.68", "5.00", "29.68", "15.00", "4.68", "10.00")


def test_the_public_api_is_listed_and_importable() -> None:
    assert sorted(drivers.printer.__all__) == [
        "KeptSale",
        "PrintResult",
        "PrinterError",
        "Receipt",
        "ReceiptLine",
        "ReceiptPrinter",
        "escpos_bytes",
        "format_fen",
        "open_printer",
        "receipt_html",
    ]
    assert all(hasattr(drivers.printer, name) for name in drivers.printer.__all__)


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "0.00"),
        (1, "0.01"),
        (-5, "-0.05"),
        (1234, "12.34"),
        (-100, "-1.00"),
        (10**15, "10000000000000.00"),
    ],
)
def test_money_is_yuan_with_two_decimals_from_integer_fen(fen: int, text: str) -> None:
    assert format_fen(fen) == text


@given(st.integers())
def test_money_text_reads_back_as_the_same_fen(fen: int) -> None:
    yuan, cents = format_fen(fen).lstrip("-").split(".")
    assert (-1 if fen < 0 else 1) * (int(yuan) * 100 + int(cents)) == fen


def test_a_receipt_refuses_float_money_and_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="int"):
        sample_receipt(cash_fen=10.0)
    with pytest.raises(ValueError, match="kind"):
        sample_receipt(kind="void")
    with pytest.raises(ValueError, match="orig_txn_id"):
        sample_receipt(kind="refund")
    with pytest.raises(ValueError, match="64 hex"):
        sample_receipt(ledger_hash="abc")
    with pytest.raises(ValueError, match="category"):
        ReceiptLine("x", "x", "1", "x", 1, 1, "D", "")


@pytest.mark.parametrize("width", [32, 48])
def test_the_stream_initialises_prints_the_verify_code_and_cuts(width: int) -> None:
    receipt = sample_receipt()
    stream = escpos_bytes(receipt, width)
    parsed = parse_escpos(stream)
    assert stream.startswith(b"\x1b@\x1c&")  # ESC @, then FS & before any text
    assert parsed.chinese_mode_before_text
    assert parsed.qr_payloads == [receipt.verify_text.encode("utf-8")]
    assert parsed.commands[-1].startswith(b"\x1dV")  # GS V: the cut ends the stream
    assert stream.endswith(parsed.commands[-1])
    # the code, quiet zone included, fits on the paper at the module size the stream asks for
    modules = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    modules.add_data(receipt.verify_text)
    modules.make(fit=True)
    (dots,) = parsed.qr_module_dots
    assert 3 <= dots and dots * (modules.modules_count + 8) <= DOTS[width]


@pytest.mark.parametrize("width", [32, 48])
def test_the_chinese_receipt_holds_every_label_amount_and_reference(width: int) -> None:
    receipt = sample_receipt()
    parsed = parse_escpos(escpos_bytes(receipt, width))
    for text in (*ZH_LABELS, *AMOUNTS, "杭州市民康大药房", "张伟", "330102********1235"):
        assert text in parsed.text
    for text in (receipt.txn_id, "P33010000001", "D0001", "op01", "2026-05-01 10:23:45"):
        assert text in parsed.text
    assert "账本哈希: 0123456789abcdef" in parsed.lines
    assert "账本序号: 42" in parsed.lines
    assert "0123456789abcdef0" not in parsed.text  # the excerpt only
    assert "退费" not in parsed.text
    assert "  自费" in parsed.lines  # the note "自费" does not repeat the category
    assert all(columns(line) <= width for line in parsed.lines)


@pytest.mark.parametrize("width", [32, 48])
def test_totals_are_flush_right_on_the_full_width(width: int) -> None:
    parsed = parse_escpos(escpos_bytes(sample_receipt(), width))
    total = next(line for line in parsed.lines if line.startswith("医疗费总额"))
    assert total.endswith(" 29.68") and columns(total) == width
    item = next(line for line in parsed.lines if "×" in line and "12.34" in line)
    assert item.startswith("  2 盒 × 12.34 ") and item.endswith(" 24.68")
    assert columns(item) == width


def test_the_english_receipt_has_the_english_labels() -> None:
    parsed = parse_escpos(escpos_bytes(sample_receipt(language="en"), 32))
    for text in (*EN_LABELS, *AMOUNTS):
        assert text in parsed.text
    assert "统筹基金支付" not in parsed.text
    assert "张伟" in parsed.text  # names stay as they are
    assert all(columns(line) <= 32 for line in parsed.lines)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_refund_shows_negative_amounts_and_the_original_sale(language: str) -> None:
    sale = sample_receipt(language=language)
    parsed = parse_escpos(escpos_bytes(refund_of(sale), 32))
    for text in ("-29.68", "-15.00", "-4.68", "-10.00", "-24.68", "-5.00", sale.txn_id + "R"):
        assert text in parsed.text
    original = "原流水号" if language == "zh" else "Original transaction"
    assert any(line.startswith(original) for line in parsed.lines)
    assert sale.txn_id in parsed.text.replace("\n  ", "")
    assert ("*** 退费 ***" if language == "zh" else "*** REFUND ***") in parsed.lines


def test_long_names_wrap_inside_the_width_and_lose_nothing_printable() -> None:
    name = "复方甘草酸苷片（美能）25mg×21片 Compound Glycyrrhizin Tablets extra long"
    receipt = sample_receipt(
        lines=(dataclasses.replace(sample_receipt().lines[0], name=name, note="限肝功能异常患者"),),
        psn_name="阿依古丽·买买提明·托合提尼亚孜",
    )
    for width in (32, 48):
        parsed = parse_escpos(escpos_bytes(receipt, width))
        assert all(columns(line) <= width for line in parsed.lines)
        joined = "".join(line.strip() for line in parsed.lines).replace(" ", "")
        assert name.replace(" ", "") in joined
        assert "阿依古丽·买买提明·托合提尼亚孜" in joined
        assert "限肝功能异常患者" in joined


def test_control_characters_in_fields_cannot_inject_printer_commands() -> None:
    evil = "\x1b@\x1dV\x00\x1c.张\n伟\x0c"
    parsed = parse_escpos(escpos_bytes(sample_receipt(psn_name=evil, shop_name=evil), 32))
    assert parsed.commands.count(b"\x1b@") == 1
    assert sum(c.startswith(b"\x1dV") for c in parsed.commands) == 1
    assert parsed.chinese_mode_before_text
    assert any("张 伟" in line for line in parsed.lines)


def test_characters_the_printer_has_no_glyph_for_print_as_a_question_mark() -> None:
    parsed = parse_escpos(escpos_bytes(sample_receipt(psn_name="王😀𠀀明"), 32))
    assert "参保人: 王??明" in parsed.lines


def _svg_qr_text(svg: str) -> str:
    """Draws the SVG path qrcode writes ("M x,y H x1 V y1 H x z" per module) and decodes it."""
    (size,) = re.findall(r'viewBox="0 0 (\d+) \d+"', svg)
    scale = 8
    image = Image.new("L", (int(size) * scale, int(size) * scale), 255)
    draw = ImageDraw.Draw(image)
    (d,) = re.findall(r'<path d="([^"]+)"', svg)
    squares = re.findall(r"M([\d.]+),([\d.]+)H([\d.]+)V([\d.]+)H[\d.]+z", d)
    assert squares and len(squares) == d.count("z")
    for x0, y0, x1, y1 in squares:
        box = [float(x0) * scale, float(y0) * scale, float(x1) * scale - 1, float(y1) * scale - 1]
        draw.rectangle(box, fill=0)
    (found,) = zxingcpp.read_barcodes(np.asarray(image))
    return str(found.text)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_html_receipt_carries_everything_and_a_qr_code_that_decodes(language: str) -> None:
    receipt = sample_receipt(language=language)
    page = receipt_html(receipt)
    assert f'<html lang="{"zh-CN" if language == "zh" else "en"}">' in page
    for text in (*AMOUNTS, receipt.txn_id, "张伟", "0123456789abcdef", "杭州市民康大药房"):
        assert text in page
    for text in ZH_LABELS if language == "zh" else EN_LABELS:
        assert text in page
    assert "<script" not in page and "<link" not in page and " src=" not in page
    (svg,) = re.findall(r"<svg.*?</svg>", page, re.S)
    assert _svg_qr_text(svg) == receipt.verify_text


def test_the_html_qr_code_decodes_for_long_verify_texts() -> None:
    text = "MEDPOS1:" + "0123456789abcdef" * 20
    assert _svg_qr_text(qr_svg(text)) == text


def test_every_html_field_is_escaped() -> None:
    evil = '<script>alert("x")</script>'
    receipt = sample_receipt(
        psn_name=evil,
        shop_name="A&B <b>药房</b>",
        operator=evil,
        lines=(dataclasses.replace(sample_receipt().lines[0], name=evil, note=evil, unit=evil),),
        txn_id='T1"><img onerror=x>',
    )
    page = receipt_html(receipt)
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "A&amp;B &lt;b&gt;药房&lt;/b&gt;" in page
    refund = receipt_html(refund_of(sample_receipt()))
    assert "-29.68" in refund and "原流水号" in refund and "退费" in refund


NAMES = st.text(st.characters(codec=None, exclude_categories=()), max_size=120) | st.sampled_from(
    ["张伟", "阿依古丽·买买提明·托合提尼亚孜", "😀" * 40, "x" * 300, "W" * 33]
)
FEN = st.integers()


@st.composite
def receipts(draw: st.DrawFn) -> Receipt:
    lines = draw(
        st.lists(
            st.builds(
                ReceiptLine,
                name=NAMES,
                code=NAMES,
                qty=NAMES,
                unit=NAMES,
                price_fen=FEN,
                amount_fen=FEN,
                category=st.sampled_from(["A", "B", "C", ""]),
                note=NAMES,
            ),
            max_size=4,
        )
    )
    kind = draw(st.sampled_from(["sale", "refund"]))
    return sample_receipt(
        shop_name=draw(NAMES),
        fixmedins_code=draw(NAMES),
        dev_no=draw(NAMES),
        txn_id=draw(NAMES),
        kind=kind,
        orig_txn_id=draw(NAMES) if kind == "refund" else None,
        settled_at=draw(NAMES | st.datetimes().map(lambda d: d.isoformat())),
        operator=draw(NAMES),
        psn_name=draw(NAMES),
        psn_cert_masked=draw(NAMES),
        insutype=draw(NAMES),
        offline=draw(st.booleans()),
        lines=tuple(lines),
        medfee_fen=draw(FEN),
        fund_fen=draw(FEN),
        acct_fen=draw(FEN),
        cash_fen=draw(FEN),
        payment_method=draw(st.sampled_from(["cash", "bank_card", "mobile", ""])),
        seq=draw(st.integers(min_value=0)),
        language=draw(st.sampled_from(["zh", "en"])),
        verify_text=draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=300)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(receipt=receipts(), width=st.sampled_from([32, 48]))
def test_any_receipt_gives_a_stream_that_fits_the_paper(receipt: Receipt, width: int) -> None:
    parsed = parse_escpos(escpos_bytes(receipt, width))
    assert all(columns(line) <= width for line in parsed.lines)
    assert parsed.chinese_mode_before_text
    assert parsed.commands.count(b"\x1b@") == 1
    assert sum(c.startswith(b"\x1dV") for c in parsed.commands) == 1
    expected = [receipt.verify_text.encode()] if receipt.verify_text else []
    assert parsed.qr_payloads == expected
    for fen in (receipt.medfee_fen, receipt.cash_fen):
        assert format_fen(fen) in parsed.text.replace("\n", "").replace(" ", "")
    assert receipt_html(receipt).startswith("<!DOCTYPE html>")

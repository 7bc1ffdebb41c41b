"""A sample receipt, and an ESC/POS reader that knows only the commands a receipt may hold."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from drivers.printer import Receipt, ReceiptLine

ESC, GS, FS, LF = 0x1B, 0x1D, 0x1C, 0x0A

LINES = (
    ReceiptLine(
        name="阿莫西林胶囊 0.25g×24粒",
        code="XJ01CAA040A001010100483",
        qty="2",
        unit="盒",
        price_fen=1234,
        amount_fen=2468,
        category="A",
        note="",
    ),
    ReceiptLine(
        name="医用外科口罩",
        code="",
        qty="1",
        unit="包",
        price_fen=500,
        amount_fen=500,
        category="",
        note="自费",
    ),
)


def sample_receipt(**changes: Any) -> Receipt:
    """A pharmacy sale of 29.68 (fund 15.00, account 4.68, cash 10.00), offline, in Chinese."""
    receipt = Receipt(
        shop_name="杭州市民康大药房",
        fixmedins_code="P33010000001",
        dev_no="D0001",
        txn_id="P33010000001D0001-7",
        kind="sale",
        orig_txn_id=None,
        settled_at="2026-05-01T10:23:45+08:00",
        operator="op01",
        psn_name="张伟",
        psn_cert_masked="330102********1235",
        insutype="职工基本医疗保险",
        offline=True,
        lines=LINES,
        medfee_fen=2968,
        fund_fen=1500,
        acct_fen=468,
        cash_fen=1000,
        payment_method="mobile",
        seq=42,
        ledger_hash="0123456789abcdef" * 4,
        verify_text="MEDPOS1:P33010000001D0001-7:42:0123456789abcdef",
        language="zh",
    )
    return dataclasses.replace(receipt, **changes)


def refund_of(receipt: Receipt) -> Receipt:
    """The refund of `receipt`: every amount negative, orig_txn_id set."""
    return dataclasses.replace(
        receipt,
        txn_id=receipt.txn_id + "R",
        kind="refund",
        orig_txn_id=receipt.txn_id,
        offline=False,
        lines=tuple(
            dataclasses.replace(line, amount_fen=-line.amount_fen) for line in receipt.lines
        ),
        medfee_fen=-receipt.medfee_fen,
        fund_fen=-receipt.fund_fen,
        acct_fen=-receipt.acct_fen,
        cash_fen=-receipt.cash_fen,
        seq=receipt.seq + 1,
    )


@dataclass
class Parsed:
    """A stream read back: its commands in order, its text lines (GB18030), its QR payloads."""

    commands: list[bytes] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    qr_payloads: list[bytes] = field(default_factory=list)
    qr_module_dots: list[int] = field(default_factory=list)
    chinese_mode_before_text: bool = True

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _command_length(stream: bytes, i: int) -> int:
    """The length of the command at `i`; AssertionError for anything a receipt must not hold."""
    lead, op = stream[i], stream[i + 1]
    if lead == ESC and op == ord("@"):
        return 2
    if lead == ESC and op in b"!Ead":
        return 3
    if lead == FS and op in b"&.":
        return 2
    if lead == GS and op == ord("!"):
        return 3
    if lead == GS and op == ord("V"):
        return 3 if stream[i + 2] in (0, 1, 48, 49) else 4
    if lead == GS and stream[i + 1 : i + 3] == b"(k":
        return 5 + stream[i + 3] + 256 * stream[i + 4]
    raise AssertionError(f"unexpected command {stream[i : i + 3]!r} at {i}")


def parse_escpos(stream: bytes) -> Parsed:
    """Reads a receipt's ESC/POS stream the way a printer in Chinese mode would."""
    parsed = Parsed()
    chinese = False
    line = bytearray()
    i = 0
    while i < len(stream):
        byte = stream[i]
        if byte in (ESC, GS, FS):
            n = _command_length(stream, i)
            command = stream[i : i + n]
            parsed.commands.append(command)
            if command == b"\x1c&":
                chinese = True
            elif command == b"\x1c.":
                chinese = False
            elif command.startswith(b"\x1d(k") and command[5:8] == b"1P0":
                parsed.qr_payloads.append(command[8:])
            elif command.startswith(b"\x1d(k") and command[5:7] == b"1C":
                parsed.qr_module_dots.append(command[7])
            i += n
        elif byte == LF:
            parsed.lines.append(line.decode("gb18030"))  # strict: a bad byte fails the test
            line.clear()
            i += 1
        else:
            assert byte >= 0x20, f"control byte {byte:#04x} at {i}"
            parsed.chinese_mode_before_text &= chinese
            line.append(byte)
            i += 1
    assert not line, f"text after the last line feed: {bytes(line)!r}"
    return parsed


def columns(line: str) -> int:
    """Columns a line takes on a printer in Chinese mode: ASCII 1, a two-byte GB18030 code 2."""
    width = 0
    for ch in line:
        size = len(ch.encode("gb18030"))
        assert size in (1, 2), f"{ch!r} is not one glyph on the printer"
        width += size
    return width


def self_pay_of(receipt: Receipt) -> Receipt:
    """`receipt`'s basket sold without insurance: all paid by the customer, no ledger entry."""
    return dataclasses.replace(
        receipt,
        txn_id="P33010000001D0001-S3",
        kind="self_pay",
        offline=False,
        psn_name="",
        psn_cert_masked="",
        insutype="",
        fund_fen=0,
        acct_fen=0,
        cash_fen=receipt.medfee_fen,
        payment_method="cash",
        seq=3,
        ledger_hash="",
        verify_text="",
    )

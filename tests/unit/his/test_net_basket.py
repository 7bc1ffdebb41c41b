"""A settlement's basket from its fee lines (his-api.md "How a visit settles"): each return nets
into its line in one pass, lines netted to zero are left out, and a pre-settlement gets the same
engine lines without the upload's fields."""

from __future__ import annotations

from decimal import Decimal
from random import Random

from hypothesis import given
from hypothesis import strategies as st

from terminal.his.netting import net_rows
from terminal.his.settling import net_basket
from terminal.ledger.his import PresettleLines, SettleLine
from terminal.settlement import BasketLine


def _line(sn: str, code: str, cnt: str, pric: str, init: str | None = None) -> SettleLine:
    fen = int(Decimal(cnt) * Decimal(pric) * 100)
    return SettleLine(sn, init, code, cnt, pric, fen, None, "2026-12-01 10:00:00", "D1",
                      '["83456789012345678901"]' if code == "XJ" else None, None)  # fmt: skip


STAY = [
    _line("a", "SV002", "2", "20"),
    _line("b", "XJ", "3", "8.5"),
    _line("c", "SV001", "1", "10"),
    _line("r1", "SV002", "-1", "20", init="a"),
    _line("r2", "SV001", "-1", "10", init="c"),  # c returned in full: left out
    _line("r3", "XJ", "-0.5", "8.5", init="b"),
]


def test_returns_net_into_their_lines_and_a_line_netted_to_zero_is_left_out() -> None:
    parsed, basket, returns = net_basket(STAY)
    assert parsed == [
        BasketLine("SV002", Decimal(1), Decimal(20)),
        BasketLine("XJ", Decimal("2.5"), Decimal("8.5")),
    ]
    assert [(b["feedetl_sn"], b["qty"], b["price"]) for b in basket] == [
        ("a", "1", "20"),
        ("b", "2.5", "8.5"),
    ]
    assert basket[1]["trac"] == ["83456789012345678901"] and "trac" not in basket[0]
    assert returns == [
        {"feedetl_sn": "r1", "init_feedetl_sn": "a", "cnt": "-1", "init_cnt": "2"},
        {"feedetl_sn": "r2", "init_feedetl_sn": "c", "cnt": "-1", "init_cnt": "1"},
        {"feedetl_sn": "r3", "init_feedetl_sn": "b", "cnt": "-0.5", "init_cnt": "3"},
    ]


def test_a_presettlement_gets_the_same_engine_lines_from_what_it_reads() -> None:
    kinds = [(ln.med_list_codg, ln.cnt, ln.pric, ln.det_item_fee_sumamt, ln.init_feedetl_sn)
             for ln in STAY]  # fmt: skip
    named = [(ln.feedetl_sn, *kind) for ln, kind in zip(STAY, kinds, strict=True)
             if ln.feedetl_sn in ("a", "b", "c")]  # fmt: skip
    parsed, total = net_rows(PresettleLines(kinds, named))
    key = lambda b: (b.code, b.qty, b.price)  # noqa: E731
    assert sorted(parsed, key=key) == sorted(net_basket(STAY)[0], key=key)
    assert total == sum(ln.det_item_fee_sumamt for ln in STAY)


_KIND = st.sampled_from([("SV001", "10"), ("SV002", "20"), ("XJ", "8.5"), ("XB", "0.333333")])


@st.composite
def _stays(draw: st.DrawFn) -> list[SettleLine]:
    """Lines in upload order: each either a fee line or a return naming an earlier one (possibly
    netting it to zero), counts with up to three places, some written as "-0"."""
    lines: list[SettleLine] = []
    for i in range(draw(st.integers(0, 25))):
        earlier = [ln for ln in lines if not ln.cnt.startswith("-")]
        returning: bool = draw(st.booleans())
        if earlier and returning:
            orig = draw(st.sampled_from(earlier))
            back = draw(st.sampled_from(["-1", "-0.5", "-0.125", "-2", "-0"]))
            lines.append(_line(f"r{i}", orig.med_list_codg, back, orig.pric, init=orig.feedetl_sn))
        else:
            code, pric = draw(_KIND)
            cnt = draw(st.sampled_from(["1", "2", "0.5", "3.125", "0"]))
            lines.append(_line(f"l{i}", code, cnt, pric))
    return lines


@given(_stays(), st.randoms())
def test_a_presettlement_read_lean_gets_the_settlements_engine_lines(
    stay: list[SettleLine], order: Random
) -> None:
    """`net_rows` (what a pre-settlement reads, in no set order) gives the same engine lines as
    `net_basket` on the settlement's full lines, and their total."""
    lean = [ln for ln in stay]
    order.shuffle(lean)
    names = {ln.init_feedetl_sn for ln in lean if ln.cnt.startswith("-")}
    read = PresettleLines(
        [(ln.med_list_codg, ln.cnt, ln.pric, ln.det_item_fee_sumamt, ln.init_feedetl_sn)
         for ln in lean],
        [(ln.feedetl_sn, ln.med_list_codg, ln.cnt, ln.pric, ln.det_item_fee_sumamt,
          ln.init_feedetl_sn) for ln in lean
         if not ln.cnt.startswith("-") and ln.feedetl_sn in names],
    )  # fmt: skip
    parsed, total = net_rows(read)
    assert total == sum(ln.det_item_fee_sumamt for ln in stay)
    key = lambda b: (b.code, b.qty, b.price)  # noqa: E731
    assert sorted(parsed, key=key) == sorted(net_basket(stay)[0], key=key)

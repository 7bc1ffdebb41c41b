"""Display widths and wrapping for a thermal printer in Chinese mode."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drivers.printer.columns import display_width, printable, row, wrap


def test_ascii_takes_one_column_and_two_byte_gb18030_two() -> None:
    assert display_width("abc 1.00") == 8
    assert display_width("张伟") == 4
    assert display_width("×·") == 4  # East Asian Width "ambiguous", full-width on the printer


def test_what_has_no_glyph_becomes_a_question_mark_and_controls_a_space() -> None:
    assert printable("王😀𠀀明\x1b\n\u200d\ue000") == "王??明  ??"
    assert printable("é·×") == "é·×"  # in GBK: two-byte codes


def test_chinese_wraps_anywhere_and_ascii_at_spaces() -> None:
    assert wrap("一二三四五六七八九十", 8, "  ") == ["一二三四", "  五六七", "  八九十"]
    assert wrap("take two tablets daily", 10) == ["take two", "tablets", "daily"]
    assert wrap("abcdefghijkl", 5) == ["abcde", "fghij", "kl"]
    assert wrap("", 5) == [""]


def test_a_row_puts_the_right_part_flush_right_or_on_a_line_of_its_own() -> None:
    assert row("医疗费", "1.00", 12) == ["医疗费  1.00"]
    assert row("医疗费总额统筹", "1.00", 16) == ["医疗费总额统筹", "            1.00"]


@given(st.text(), st.sampled_from([8, 32, 48]), st.sampled_from(["", "  "]))
def test_wrapped_lines_never_exceed_the_width(text: str, width: int, indent: str) -> None:
    lines = wrap(printable(text), width, indent)
    assert all(display_width(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == printable(text).replace(" ", "").replace(
        "\u3000", ""
    ) or all(ch.isspace() for ch in text)


@given(st.text(), st.text(), st.sampled_from([16, 32, 48]))
def test_rows_never_exceed_the_width(left: str, right: str, width: int) -> None:
    assert all(
        display_width(line) <= width for line in row(printable(left), printable(right), width)
    )

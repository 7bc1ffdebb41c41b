"""Text for a fixed-width thermal printer in Chinese mode (docs/printer.md "Encoding and widths").

In Chinese mode (FS &) a printer reads GB18030: a byte below 0x80 is one half-width ASCII glyph
(1 column) and a two-byte code is one full-width glyph (2 columns), whatever Unicode's East Asian
Width says (so "×" and "·" take 2). `printable` keeps exactly the characters that print that way
and replaces the rest, so `display_width` is the width the paper shows.
"""

from __future__ import annotations

import unicodedata

__all__ = ["REPLACEMENT", "display_width", "printable", "row", "wrap"]

REPLACEMENT = "?"


def _printable_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Cc" or category == "Zl" or category == "Zp":
        return " "  # tabs, newlines and ESC/POS control bytes never reach the printer
    if ch.isascii():
        return ch
    if category[0] in "CM":  # format, private use, unassigned, surrogates; combining marks
        return REPLACEMENT
    try:
        encoded = ch.encode("gb18030")
    except UnicodeEncodeError:
        return REPLACEMENT
    # Four-byte codes (emoji, CJK extensions, most other scripts) have no glyph in the fonts
    # of common Chinese thermal printers, and those that lack them print two glyphs instead.
    return ch if len(encoded) == 2 else REPLACEMENT


def printable(text: str) -> str:
    """`text` with every character the printer cannot show as one glyph replaced by "?"."""
    return "".join(_printable_char(ch) for ch in text)


def _char_width(ch: str) -> int:
    return 1 if ch.isascii() else 2


def display_width(text: str) -> int:
    """Columns `text` (already `printable`) takes on paper: ASCII 1, anything else 2."""
    return sum(_char_width(ch) for ch in text)


def wrap(text: str, width: int, indent: str = "") -> list[str]:
    """`text` (already `printable`) in lines of at most `width` columns; continuation lines start
    with `indent`. Breaks anywhere (Chinese has no spaces), but not inside an ASCII word when the
    line has a space to break at."""
    indent_width = display_width(indent)
    if not 0 <= indent_width <= width // 2:
        raise ValueError(f"indent {indent!r} too wide for {width} columns")
    lines: list[str] = []
    line, used = "", 0
    for ch in text:
        w = _char_width(ch)
        if used + w <= width:
            line, used = line + ch, used + w
            continue
        if ch == " ":  # a break at a space: the space goes
            if line.strip():
                lines.append(line.rstrip())
                line, used = indent, indent_width
            continue
        start = indent_width if lines else 0
        space = line.rfind(" ", start)
        word = line[space + 1 :]
        head = line[:space]
        fits = display_width(indent + word + ch) <= width
        if space >= 0 and ch.isascii() and word.isascii() and head[start:].strip() and fits:
            tail = word
        else:
            head, tail = line, ""
        if head.strip():  # a line of blanks only is not printed
            lines.append(head.rstrip())
        line = (indent if lines else "") + tail + ch
        used = display_width(line)
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def row(left: str, right: str, width: int, indent: str = "  ") -> list[str]:
    """`left` and `right` (already `printable`) on one line, `right` flush right; when they do not
    fit, `left` wraps and `right` goes flush right on the last line or a line of its own."""
    right_width = display_width(right)
    lines = wrap(left, width, indent)
    last = display_width(lines[-1])
    if last + 1 + right_width <= width:
        lines[-1] += " " * (width - last - right_width) + right
    elif right_width <= width:
        lines.append(" " * (width - right_width) + right)
    else:
        lines += wrap(right, width, indent)
    return lines

"""Pure parts of the cashier pages: the Chinese catalogue covers every page string, the English one
every keyed string, catalogue search by pinyin initials, the hourly chart, the receipt code."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from terminal.checkout.counter import CatalogueSearch, mask_cert
from terminal.settlement.model import Catalogue, CatalogueItem
from terminal.web import i18n
from terminal.web.chart import stacked_bars as _chart
from terminal.web.receipts import parse_verify_text, verify_text

WEB = Path(i18n.__file__).parent
LITERAL = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')(\s*~)?""")
KEY = re.compile(r"[a-z]+(?:_[a-z]+)+|[a-z_]+:\S+")  # "ecard_checked", "pay:bank_card"


def _literals() -> list[tuple[str, bool]]:
    """The strings given to `_()` in the templates and to `gettext_()` in the web's modules,
    and whether `~` follows (a prefix of keyed strings: `_("pay:" ~ m)`, `_("identified by " ~
    how)`)."""
    found = []
    for path in [*sorted((WEB / "templates").glob("*.html")), *sorted(WEB.rglob("*.py"))]:
        for m in LITERAL.finditer(path.read_text(encoding="utf-8")):
            text = m.group(1) if m.group(1) is not None else m.group(2)
            found.append((text, m.group(3) is not None))
    return found


def _page_strings() -> set[str]:
    return {text for text, prefix in _literals() if not prefix}


def _prefixes() -> set[str]:
    return {text for text, prefix in _literals() if prefix}


def _msgids(language: str) -> set[str]:
    with (WEB / "locale" / f"{language}.po").open("rb") as f:
        return {m.id for m in read_po(f) if isinstance(m.id, str) and m.id}


def _keyed_msgids() -> set[str]:
    """zh.po's msgids that are keys, not English text; refusals (`problem:*`) aside."""
    prefixes = tuple(_prefixes())
    return {
        k
        for k in _msgids("zh")
        if (KEY.fullmatch(k) or k.startswith(prefixes)) and not k.startswith("problem:")
    }


def test_every_page_string_has_a_chinese_translation() -> None:
    zh = i18n.translations("zh")
    strings = _page_strings()
    assert len(strings) > 100
    missing = sorted(s for s in strings if zh.gettext(s) == s)
    assert not missing, f"add these to terminal/web/locale/zh.po: {missing}"


@pytest.mark.parametrize(
    "key",
    [
        *(f"problem:{c}" for c in ("offline_sale_limit", "hotlisted", "replay", "bad_pin")),
        *(f"pay:{m}" for m in ("cash", "bank_card", "mobile")),
        *(f"med_type:{m}" for m in ("41", "11", "14", "21")),
        "insutype:310",
        "insutype:390",
        "identified by card",
        "identified by ecard",
    ],
)
def test_keyed_strings_are_translated(key: str) -> None:
    assert i18n.translations("zh").gettext(key) != key


def test_english_is_the_source_text() -> None:
    assert i18n.translations("en").gettext("Pre-settlement") == "Pre-settlement"


def test_every_keyed_string_has_an_english_sentence() -> None:
    en = i18n.translations("en")
    keys = _keyed_msgids()
    assert len(keys) > 30
    bad = {
        k: en.gettext(k) for k in sorted(keys) if en.gettext(k) == k or KEY.search(en.gettext(k))
    }
    assert not bad, f"give these an English sentence in terminal/web/locale/en.po: {bad}"


def test_every_key_the_pages_build_has_an_english_sentence() -> None:
    keys = {text for text in _page_strings() if KEY.fullmatch(text)}  # "part:fund"
    for prefix in _prefixes():  # "pay:" ~ m
        built = {k for k in _msgids("zh") if k.startswith(prefix)}
        assert built, f"no msgid in zh.po starts with {prefix!r}"
        keys |= built
    en = i18n.translations("en")
    missing = sorted(k for k in keys if en.gettext(k) == k)
    assert not missing, f"add these to terminal/web/locale/en.po: {missing}"


def test_english_refusals_fall_back_to_the_error_message() -> None:
    # explain() shows the original message, which names the cause, when the key is untranslated
    assert i18n.translations("en").gettext("problem:replay") == "problem:replay"
    assert not {k for k in _msgids("en") if k.startswith("problem:")}


def _catalogue() -> Catalogue:
    items = {
        "A1": CatalogueItem("A1", "阿莫西林胶囊 0.25g*24粒", "A", price=Decimal("8.50")),
        "A2": CatalogueItem("A2", "阿奇霉素片 0.25g*6片", "A", price=Decimal("15.60")),
        "B1": CatalogueItem("B1", "布洛芬缓释胶囊 0.3g*20粒", "B", price=Decimal("12.00")),
    }
    return Catalogue(items=items)


def test_search_by_pinyin_initials_name_and_code() -> None:
    search = CatalogueSearch(_catalogue())
    assert search.search("amxl") == ["A1"]
    assert search.search("AQ") == ["A2"]
    assert set(search.search("a")) == {"A1", "A2"}  # initials start with "a"
    assert search.search("布洛芬") == ["B1"]
    assert search.search("b1") == ["B1"]  # an exact code first
    assert search.search("  ") == []
    assert search.search("zzz") == []


def test_mask_keeps_region_and_last_four() -> None:
    assert mask_cert("33010219800101215X") == "330102********215X"
    assert mask_cert("123") == "****"


def test_receipt_code_round_trips_and_rejects_other_text() -> None:
    text = verify_text("H33010000001D0001", "H33010000001D0001-7", 7, "ab" * 32)
    assert parse_verify_text(text) == {
        "dev_no": "H33010000001D0001",
        "txn_id": "H33010000001D0001-7",
        "seq": 7,
        "hash": "ab" * 32,
    }
    assert parse_verify_text("medpos:r1:a:b:c") is None
    assert parse_verify_text("medpos:r1:a:b:x:d") is None
    assert parse_verify_text("https://example.com") is None


def test_chart_stacks_fund_account_and_cash_per_hour() -> None:
    assert _chart({}) == {"bars": [], "max": 0}
    chart = _chart(
        {
            9: {"fund": 600, "acct": 300, "cash": 100, "count": 2},
            14: {"fund": -600, "acct": 0, "cash": 0, "count": 0},
        }
    )
    hours = [b["hour"] for b in chart["bars"]]
    assert hours == list(range(8, 19))  # the working day at least
    nine = next(b for b in chart["bars"] if b["hour"] == 9)
    heights = [p["h"] for p in nine["parts"]]
    assert heights == [96.0, 48.0, 16.0]  # 1000 fen is the tallest bar: 160 px
    refund_hour = next(b for b in chart["bars"] if b["hour"] == 14)
    assert all(p["h"] == 0 for p in refund_hour["parts"])  # a refund is not drawn below zero

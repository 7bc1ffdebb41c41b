"""The console's pure parts: the operators' password hashes (scrypt, parameters stored with the
hash), the chart's scale, and the Chinese of its alerts."""

from __future__ import annotations

from sync.hub.console.chart import day_bars
from sync.hub.console.i18n import translator
from sync.hub.operators import hash_password, password_ok


def test_a_password_hash_checks_the_password_and_only_it() -> None:
    stored = hash_password("correct horse battery", n=2**10)
    scheme, n, r, p, salt, key = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "1024", "8", "1") and len(bytes.fromhex(salt)) == 16
    assert password_ok("correct horse battery", stored)
    assert not password_ok("correct horse batterY", stored)
    # a fresh salt each time: the same password hashes differently
    assert hash_password("correct horse battery", n=2**10) != stored
    assert not password_ok("x", "bcrypt$1$2$3$00$00") and not password_ok("x", "garbage")


def test_the_chart_scales_to_the_busiest_day_and_stacks_by_status() -> None:
    bars = day_bars([{"day": "2026-12-06"}, {"day": "2026-12-07", "accepted": 30, "held": 10}])
    empty, busy = bars["bars"]
    assert bars["top"] == 40 and empty["parts"] == [] and busy["total"] == 40
    accepted, held = busy["parts"]
    assert (accepted["status"], accepted["h"]) == ("accepted", 120.0)
    assert (held["y"], held["h"]) == (0.0, 40.0)  # stacked up to the top
    assert day_bars([])["bars"] == []


def test_alerts_read_in_chinese_and_unknown_text_stays_english() -> None:
    zh, en = translator("zh"), translator("en")
    assert zh("rolled_back") == "数据库回退" and en("Terminals") == "Terminals"
    assert zh("not a known string") == "not a known string"

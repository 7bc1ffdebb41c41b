"""Trace refusals on the web faces: the HTTP sale API's body names the line; a page shows the
translated sentence after the line it concerns."""

from __future__ import annotations

from terminal.checkout.tracing import TraceRefused
from terminal.trace import TraceRefusal
from terminal.web import i18n
from terminal.web.errors import explain, sale_problem


def test_the_sale_api_answers_a_trace_refusal_with_its_line() -> None:
    dup = TraceRefused(TraceRefusal("trace_duplicate", "line 2: sold before", 2))
    assert sale_problem(dup) == (
        409,
        {"error": "trace_duplicate", "message": "line 2: sold before", "line": 2},
    )
    bad = TraceRefused(TraceRefusal("bad_trace_format", "line 1: not a code", 1))
    assert sale_problem(bad)[0] == 422


def test_a_translated_refusal_keeps_its_line_in_front() -> None:
    token = i18n.current.set("zh")
    try:
        text = explain("trace_missing", "line 3: needs 2 codes")
    finally:
        i18n.current.reset(token)
    assert text.startswith("第 3 行: ") and "追溯码" in text
    assert explain("no_such_code", "line 3: as it is") == "line 3: as it is"

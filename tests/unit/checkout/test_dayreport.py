"""A closed day shows its signed closure's figures, and what was sold after it as the next period,
on the day-end page and in `medpos report day` alike (issue 13, finding 4)."""

from __future__ import annotations

import pytest

from terminal.checkout.counter import Counter
from terminal.errors import MedposError
from terminal.ledger import day_report, guards
from terminal.web.routes.day import day_figures

from .test_counter import BARCODE, _known


def _sell(counter: Counter) -> None:
    counter.identify(_known(counter.service), "id", "id_checked")
    counter.scan(BARCODE)
    counter.confirm(counter.state.basket_id, payment_method="cash", operator="1001")


def test_a_closed_day_shows_the_closure_and_later_sales_as_the_next_period(
    counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = counter.service
    _sell(counter)
    _sell(counter)
    closure = service.close_day(None, "2001")
    with pytest.raises(MedposError) as refused:  # medpos no longer dates a sale into a closed day
        _sell(counter)
    assert "is closed (its closure is signed)" in str(refused.value)
    counter.void("1001")  # the refused basket
    # a database written by an older medpos, which did, must still read right on the page
    monkeypatch.setattr(guards, "time_refusal", lambda _ledger, _now: None)
    _sell(counter)  # after the closure, dated the same day
    monkeypatch.undo()
    day = service.local_now().date()
    report = day_report(service.ledger, day)
    assert report["closed"] and report["figures"]["sale_count"] == closure["sale_count"] == 2
    assert report["figures"]["medfee_sumamt"] == closure["medfee_sumamt"]
    later = report["next_period"]
    assert later is not None and later["sale_count"] == 1 and later["first_seq"] == 3
    assert later["medfee_sumamt"] * 2 == closure["medfee_sumamt"]  # the same basket each time
    page = day_figures(service, day)  # what the day-end page shows
    assert page["totals"] == report["figures"] and page["next_period"] == later


def test_an_open_day_shows_its_live_totals(counter: Counter) -> None:
    _sell(counter)
    report = day_report(counter.service.ledger, counter.service.local_now().date())
    assert not report["closed"] and report["next_period"] is None
    assert report["figures"]["sale_count"] == 1

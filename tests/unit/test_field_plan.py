"""`plan_field`: what a field device can do offline for N days (terminal/risk/field.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from terminal.risk import RiskLimits
from terminal.risk.field import plan_field

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
LIMITS = RiskLimits(200000, 3, 500000, 5000000, max_sync_age_h=240, max_hotlist_age_days=7)


def test_five_days_with_fresh_lists_are_covered() -> None:
    result = plan_field(
        LIMITS,
        now=NOW,
        days=5,
        last_sync_at=NOW,
        hotlist_confirmed_at=NOW,
        trust_list_confirmed_at=NOW,
        max_trust_list_age_days=14,
    )
    assert result.covered and result.problems() == []
    assert result.as_json()["age_at_end_days"] == {"sync": 5.0, "hotlist": 5.0, "trustlist": 5.0}
    assert result.as_json()["limits"]["offline_max_fund_per_sale"] == "2000.00"


def test_a_hotlist_three_days_old_passes_seven_days_on_day_four_of_five() -> None:
    result = plan_field(
        LIMITS,
        now=NOW,
        days=5,
        last_sync_at=NOW,
        hotlist_confirmed_at=NOW - timedelta(days=3, hours=1),
        trust_list_confirmed_at=NOW,
        max_trust_list_age_days=14,
    )
    assert not result.covered
    [problem] = result.problems()
    assert (problem.code, problem.day) == ("hotlist_too_old", 4)
    assert "max_hotlist_age_days (7) on day 4" in problem.message


def test_the_default_72_hours_without_sync_stop_insurance_on_day_four() -> None:
    limits = RiskLimits(200000, 3, 500000, 5000000, max_sync_age_h=72, max_hotlist_age_days=7)
    result = plan_field(
        limits,
        now=NOW,
        days=5,
        last_sync_at=NOW,
        hotlist_confirmed_at=NOW,
        trust_list_confirmed_at=None,
        max_trust_list_age_days=14,
    )
    codes = [(p.code, p.day) for p in result.problems()]
    assert codes == [("trust_list_stale", 1), ("sync_too_old", 4)]
    assert "e-card codes stop verifying" not in result.problems()[0].message  # none held


def test_a_stale_trust_list_stops_e_cards_only() -> None:
    result = plan_field(
        LIMITS,
        now=NOW,
        days=5,
        last_sync_at=NOW,
        hotlist_confirmed_at=NOW,
        trust_list_confirmed_at=NOW - timedelta(days=12, hours=1),
        max_trust_list_age_days=14,
    )
    [problem] = result.problems()
    assert (problem.code, problem.day) == ("trust_list_stale", 2)
    assert "e-card codes stop verifying (cards and cash go on)" in problem.message

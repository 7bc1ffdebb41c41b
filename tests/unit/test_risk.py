"""Offline risk limits: each refusal is a value with a code and a sentence; cash always works."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from terminal.risk import RiskLimits, RiskState, check_limits

NOW = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
LIMITS = RiskLimits(
    offline_max_fund_per_sale=200000,
    offline_max_sales_per_person_day=3,
    offline_max_fund_per_person_day=500000,
    max_unsynced_fund=5000000,
    max_sync_age_h=72,
    max_hotlist_age_days=7,
)


def state(**changes: object) -> RiskState:
    base: dict[str, object] = {
        "now": NOW,
        "online": False,
        "fund_pay": 10000,
        "person_offline_sales_today": 0,
        "person_offline_fund_today": 0,
        "unsynced_fund": 0,
        "last_sync_at": NOW - timedelta(hours=1),
        "sync_age_origin": NOW - timedelta(days=30),
        "hotlist_confirmed_at": NOW - timedelta(days=1),
    }
    base.update(changes)
    return RiskState(**base)  # type: ignore[arg-type]


def test_a_small_offline_sale_goes_through() -> None:
    assert check_limits(LIMITS, state()) is None


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"fund_pay": 200001}, "offline_sale_limit"),
        ({"person_offline_sales_today": 3}, "offline_person_count"),
        ({"person_offline_fund_today": 400000, "fund_pay": 100001}, "offline_person_amount"),
        ({"unsynced_fund": 4990001}, "unsynced_exposure"),
        ({"last_sync_at": NOW - timedelta(hours=72, seconds=1)}, "sync_too_old"),
        (
            {"last_sync_at": None, "sync_age_origin": NOW - timedelta(hours=73)},
            "sync_too_old",
        ),
        ({"hotlist_confirmed_at": NOW - timedelta(days=7, seconds=1)}, "hotlist_too_old"),
        ({"hotlist_confirmed_at": None}, "hotlist_too_old"),
    ],
)
def test_each_limit_refuses_with_its_code_and_a_sentence(
    changes: dict[str, object], code: str
) -> None:
    refusal = check_limits(LIMITS, state(**changes))
    assert refusal is not None
    assert refusal.code == code
    assert "cash" in refusal.message
    assert refusal.as_json() == {"error": code, "message": refusal.message}


@pytest.mark.parametrize(
    "changes",
    [
        {"fund_pay": 200000},
        {"person_offline_sales_today": 2},
        {"person_offline_fund_today": 300000, "fund_pay": 200000},
        {"unsynced_fund": 4990000},
        {"last_sync_at": NOW - timedelta(hours=72)},
        {"hotlist_confirmed_at": NOW - timedelta(days=7)},
    ],
)
def test_exactly_at_a_limit_is_still_allowed(changes: dict[str, object]) -> None:
    assert check_limits(LIMITS, state(**changes)) is None


def test_a_sale_with_no_fund_payment_counts_toward_no_limit() -> None:
    assert (
        check_limits(
            LIMITS,
            state(
                fund_pay=0,
                person_offline_sales_today=99,
                last_sync_at=None,
                sync_age_origin=NOW - timedelta(days=99),
            ),
        )
        is None
    )


def test_an_online_sale_is_not_held_to_offline_limits() -> None:
    assert check_limits(LIMITS, state(online=True, fund_pay=99999999)) is None

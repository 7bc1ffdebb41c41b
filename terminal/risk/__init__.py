"""Offline risk limits (DESIGN.md "Offline risk").

Pure: the caller gathers a `RiskState` from the ledger and the clock, and `check_limits` answers
with `None` (go ahead) or a `Refusal` value carrying a code and a sentence for the cashier. Like EMV
floor limits: the terminal settles without the platform, so what it may owe the fund is bounded.
Sales with no fund payment count toward none of the limits, and a cash sale is always possible.
The limits apply to sales settled offline; an online sale was checked by the platform's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from terminal.settlement.money import format_fen

if TYPE_CHECKING:
    from terminal.config import RiskConfig

__all__ = ["Refusal", "RiskLimits", "RiskState", "check_limits"]


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The `[risk]` section of config.toml, amounts in fen."""

    offline_max_fund_per_sale: int
    offline_max_sales_per_person_day: int
    offline_max_fund_per_person_day: int
    max_unsynced_fund: int
    max_sync_age_h: int
    max_hotlist_age_days: int

    @classmethod
    def of(cls, risk: RiskConfig) -> RiskLimits:
        """The limits a terminal's `[risk]` configuration sets."""
        return cls(
            risk.offline_max_fund_per_sale,
            risk.offline_max_sales_per_person_day,
            risk.offline_max_fund_per_person_day,
            risk.max_unsynced_fund,
            risk.max_sync_age_h,
            risk.max_hotlist_age_days,
        )


@dataclass(frozen=True, slots=True)
class RiskState:
    """What the limits look at, for one sale about to be committed."""

    now: datetime
    online: bool
    fund_pay: int
    person_offline_sales_today: int
    person_offline_fund_today: int
    unsynced_fund: int
    last_sync_at: datetime | None
    sync_age_origin: datetime
    hotlist_confirmed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Refusal:
    """An expected refusal: `code` for machines, `message` for the cashier."""

    code: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


_CASH = "the customer can still pay the whole amount in cash"


def check_limits(limits: RiskLimits, state: RiskState) -> Refusal | None:
    """The first limit this sale would break, or None."""
    if state.fund_pay <= 0 or state.online:
        return None
    since = state.last_sync_at or state.sync_age_origin
    if state.now - since > timedelta(hours=limits.max_sync_age_h):
        return Refusal(
            "sync_too_old",
            f"no successful sync for more than {limits.max_sync_age_h} h: insurance cannot be "
            f"settled until the terminal syncs with the platform; {_CASH}",
        )
    if state.hotlist_confirmed_at is None or state.now - state.hotlist_confirmed_at > timedelta(
        days=limits.max_hotlist_age_days
    ):
        return Refusal(
            "hotlist_too_old",
            f"the list of blocked cards is older than {limits.max_hotlist_age_days} days: sync "
            f"with the platform before settling insurance; {_CASH}",
        )
    total_unsynced = state.unsynced_fund + state.fund_pay
    if total_unsynced > limits.max_unsynced_fund:
        return Refusal(
            "unsynced_exposure",
            f"unsynced insurance payments would reach {format_fen(total_unsynced)} (limit "
            f"{format_fen(limits.max_unsynced_fund)}): sync with the platform first; {_CASH}",
        )
    if state.fund_pay > limits.offline_max_fund_per_sale:
        return Refusal(
            "offline_sale_limit",
            f"offline, the fund may pay at most {format_fen(limits.offline_max_fund_per_sale)} "
            f"per sale and this sale needs {format_fen(state.fund_pay)}: split the basket or wait "
            f"for the network; {_CASH}",
        )
    if state.person_offline_sales_today + 1 > limits.offline_max_sales_per_person_day:
        return Refusal(
            "offline_person_count",
            f"this person already had {state.person_offline_sales_today} offline insurance sales "
            f"today (limit {limits.offline_max_sales_per_person_day}): wait for the network; "
            f"{_CASH}",
        )
    person_total = state.person_offline_fund_today + state.fund_pay
    if person_total > limits.offline_max_fund_per_person_day:
        return Refusal(
            "offline_person_amount",
            f"offline fund payments for this person today would reach {format_fen(person_total)} "
            f"(limit {format_fen(limits.offline_max_fund_per_person_day)}): wait for the "
            f"network; {_CASH}",
        )
    return None

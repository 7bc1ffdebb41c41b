"""What a field device can do offline for N days (issue 17, docs/field.md "Preparing").

Pure: the caller gives the site's own limits (`[risk]`, `[ecard] max_trust_list_age_days`), the
time now and when the last sync, the hotlist and the trust list were confirmed; `plan_field`
answers with a `FieldPlan` saying, for each limit that lapses with time, when it lapses and
whether that is inside the period, the first lapse being the reason the device cannot cover it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from terminal.risk import RiskLimits
from terminal.settlement.money import format_fen

__all__ = ["FieldPlan", "Lapse", "plan_field"]

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Lapse:
    """A limit that runs out with time: `code`, when (`at`), and the day of the period it falls
    on (1 = the first 24 h from now; None when after the period)."""

    code: str
    limit: str
    at: datetime | None  # None: nothing held (the limit has lapsed already)
    day: int | None
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "limit": self.limit,
            "until": self.at.isoformat(timespec="seconds") if self.at else None,
            "day": self.day,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class FieldPlan:
    days: int
    start: datetime
    end: datetime
    limits: RiskLimits
    lapses: tuple[Lapse, ...]
    ages_at_end: dict[str, float | None]  # kind → age in days at the end of the period

    @property
    def covered(self) -> bool:
        return all(lapse.day is None for lapse in self.lapses)

    def problems(self) -> list[Lapse]:
        """The lapses inside the period, earliest first."""
        inside = [lapse for lapse in self.lapses if lapse.day is not None]
        return sorted(inside, key=lambda lapse: lapse.day or 0)

    def as_json(self) -> dict[str, Any]:
        lim = self.limits
        return {
            "days": self.days,
            "from": self.start.isoformat(timespec="seconds"),
            "until": self.end.isoformat(timespec="seconds"),
            "covered": self.covered,
            "limits": {
                "offline_max_fund_per_sale": format_fen(lim.offline_max_fund_per_sale),
                "offline_max_sales_per_person_day": lim.offline_max_sales_per_person_day,
                "offline_max_fund_per_person_day": format_fen(lim.offline_max_fund_per_person_day),
                "max_unsynced_fund": format_fen(lim.max_unsynced_fund),
                "max_sync_age_h": lim.max_sync_age_h,
                "max_hotlist_age_days": lim.max_hotlist_age_days,
            },
            "age_at_end_days": self.ages_at_end,
            "lapses": [lapse.as_json() for lapse in self.lapses],
        }


def _lapse(
    code: str,
    limit: str,
    what: str,
    since: datetime | None,
    allowed: timedelta,
    now: datetime,
    end: datetime,
    stops: str = "insurance sales stop",
) -> Lapse:
    if since is None:
        return Lapse(code, limit, None, 1, f"{what}: none held; sync before going out")
    at = since + allowed
    if at >= end:
        return Lapse(code, limit, at, None, f"{what}: good until {at:%Y-%m-%d %H:%M}")
    day = max(0, (at - now) // _DAY) + 1
    return Lapse(
        code,
        limit,
        at,
        int(day),
        f"{what} would pass {limit} on day {day} ({at:%Y-%m-%d %H:%M}): {stops} then; raise "
        "the limit in config.toml if the site allows, or come back sooner",
    )


def plan_field(
    limits: RiskLimits,
    *,
    now: datetime,
    days: int,
    last_sync_at: datetime | None,
    hotlist_confirmed_at: datetime | None,
    trust_list_confirmed_at: datetime | None,
    max_trust_list_age_days: int,
) -> FieldPlan:
    """The plan for `days` days offline from `now` (aware datetimes)."""
    end = now + days * _DAY
    sync = _lapse(
        "sync_too_old",
        f"max_sync_age_h ({limits.max_sync_age_h})",
        "the time since the last sync",
        last_sync_at,
        timedelta(hours=limits.max_sync_age_h),
        now,
        end,
    )
    hotlist = _lapse(
        "hotlist_too_old",
        f"max_hotlist_age_days ({limits.max_hotlist_age_days})",
        "the hotlist",
        hotlist_confirmed_at,
        timedelta(days=limits.max_hotlist_age_days),
        now,
        end,
    )
    trust = _lapse(
        "trust_list_stale",
        f"max_trust_list_age_days ({max_trust_list_age_days})",
        "the e-card trust list",
        trust_list_confirmed_at,
        timedelta(days=max_trust_list_age_days),
        now,
        end,
        "e-card codes stop verifying (cards and cash go on)",
    )

    def age(since: datetime | None) -> float | None:
        return None if since is None else round((end - since) / _DAY, 2)

    ages = {
        "sync": age(last_sync_at),
        "hotlist": age(hotlist_confirmed_at),
        "trustlist": age(trust_list_confirmed_at),
    }
    return FieldPlan(days, now, end, limits, (sync, hotlist, trust), ages)

"""The 18-character citizen ID number (GB 11643): birth date, age, ISO 7064 MOD 11-2 check."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

__all__ = ["age_on", "birth_date", "id_check_ok"]

_ID = re.compile(r"[0-9]{17}[0-9X]")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def birth_date(psn_cert: str) -> date | None:
    """The birth date embedded in an ID number, or None when it is not a well-formed one."""
    if not isinstance(psn_cert, str):
        return None
    return _birth_date(psn_cert)


@lru_cache(maxsize=256)  # a claim's is read when it is checked and again when it is settled
def _birth_date(psn_cert: str) -> date | None:
    if not _ID.fullmatch(psn_cert):
        return None
    try:
        return date(int(psn_cert[6:10]), int(psn_cert[10:12]), int(psn_cert[12:14]))
    except ValueError:
        return None


def id_check_ok(psn_cert: str) -> bool:
    """True when the check character is right (ISO 7064 MOD 11-2) and the birth date is valid."""
    if birth_date(psn_cert) is None:
        return False
    total = sum(int(c) * w for c, w in zip(psn_cert[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == psn_cert[17]


def age_on(psn_cert: str, day: date) -> int:
    """Whole years of age on `day` (a birthday on 29 February counts from 1 March)."""
    born = birth_date(psn_cert)
    if born is None:
        raise ValueError(f"{psn_cert!r} is not an ID number with a valid birth date")
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

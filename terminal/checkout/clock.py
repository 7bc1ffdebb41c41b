"""The clock adapter: the one place checkout reads the time."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    """The machine's clock; `MEDPOS_CLOCK_OFFSET_S` shifts it (drills and tests of day changes)."""

    def __init__(self, offset_s: float | None = None) -> None:
        if offset_s is None:
            offset_s = float(os.environ.get("MEDPOS_CLOCK_OFFSET_S", "0") or 0)
        self._offset = timedelta(seconds=offset_s)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

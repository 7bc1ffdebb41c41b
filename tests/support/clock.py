"""A clock for tests that must wait out the code's own timers against real servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["ShiftedClock"]


class ShiftedClock:
    """The machine's clock plus a shift the test moves: the code's backoffs and deadlines pass
    without the test sleeping, while the time it sends stays close enough to a real hub's."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift

    def advance(self, **delta: float) -> None:
        self.shift += timedelta(**delta)

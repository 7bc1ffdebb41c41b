"""A platform link that stops asking for a while after the platform failed to answer.

Pre-settlement asks the platform for fresh accumulators (1101) within `[platform]
presettle_wait_s` before every quote and every sale. When the network is gone in a way that does
not refuse at once (a cable pulled, a captive Wi-Fi), each of those would wait the whole bound:
at a counter that is every scan. After an unanswered request the link answers "offline" at once
for `quiet_s`, then tries again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["QuietAfterFailure"]


class QuietAfterFailure:
    def __init__(
        self, link: Any, quiet_s: float = 20.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.link = link
        self.quiet_s = quiet_s
        self._clock = clock
        self._failed_at: float | None = None

    def fetch_person(self, psn_cert: str, timeout_s: float) -> Mapping[str, Any] | None:
        now = self._clock()
        if self._failed_at is not None and now - self._failed_at < self.quiet_s:
            return None
        answer: Mapping[str, Any] | None = self.link.fetch_person(psn_cert, timeout_s)
        self._failed_at = now if answer is None else None
        return answer

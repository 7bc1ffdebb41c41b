"""The platform link's quiet time after a failure (pure logic, a recorded fake link)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from terminal.checkout.breaker import QuietAfterFailure


class Link:
    def __init__(self) -> None:
        self.answers: list[Mapping[str, Any] | None] = []
        self.asked = 0
        self.transport = "the wrapped link's transport"  # not reached through the quiet link

    def fetch_person(self, psn_cert: str, timeout_s: float) -> Mapping[str, Any] | None:
        self.asked += 1
        return self.answers.pop(0)


def test_after_a_failure_it_answers_offline_without_asking_until_the_quiet_time_passes() -> None:
    now = [100.0]
    link = Link()
    quiet = QuietAfterFailure(link, quiet_s=20.0, clock=lambda: now[0])
    link.answers = [{"ok": 1}, None, {"ok": 2}]
    assert quiet.fetch_person("p", 1.5) == {"ok": 1}
    assert quiet.fetch_person("p", 1.5) is None and link.asked == 2
    now[0] += 19.9
    assert quiet.fetch_person("p", 1.5) is None and link.asked == 2  # quiet: not asked
    now[0] += 0.2
    assert quiet.fetch_person("p", 1.5) == {"ok": 2} and link.asked == 3
    # it is a PlatformLink and nothing more: sign-in and reconciliation use the sync service
    assert quiet.link is link and not hasattr(quiet, "transport")

"""What the running terminal plugs into the pages beyond the checkout service: the camera's codes
and frames, the receipt printer, the sync loop and (embedded default only) the demo hardware."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CodeFeed", "Hooks"]


class CodeFeed:
    """What the camera pipeline reports (`QrReader` events) and the last frame it looked at."""

    def __init__(self, source: str = "") -> None:
        self.source = source
        self._lock = threading.Lock()
        self._last: dict[str, Any] | None = None
        self.error: str | None = None
        self.frame: Any = None  # the last frame (numpy image) the pipeline read
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    def on_event(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._last = {**event, "at": time.time()}
        for listener in list(self.listeners):
            listener(event)

    def on_error(self, exc: Exception) -> None:
        self.error = str(exc)

    def latest(self, max_age_s: float = 600.0) -> dict[str, Any] | None:
        with self._lock:
            last = self._last
        if last is None or time.time() - last["at"] > max_age_s:
            return None
        return last

    def view(self) -> dict[str, Any]:
        """What the counter's camera panel shows: source, error, the last code's latency."""
        last = self.latest(30.0)
        return {
            "source": self.source,
            "error": self.error,
            "latency_ms": last.get("latency_ms") if last else None,
            "seen": last is not None,
        }


@dataclass
class Hooks:
    """What the running terminal plugs into the pages beyond the service (all optional)."""

    codes: CodeFeed | None = None
    print_receipt: Callable[[Any], str] | None = None  # Receipt → where it went; raises on error
    sync_now: Callable[[], None] | None = None
    platform: Any = None  # the sync service of an enrolled terminal: sign-in, reconciliation
    demo_card: Callable[[str, int], str] | None = None  # ("insert" | "remove", person) → text
    demo_phone: Callable[[int], str] | None = None  # person → the code now shown
    demo_people: list[dict[str, str]] = field(default_factory=list)

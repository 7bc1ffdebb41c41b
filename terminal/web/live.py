"""The counter's changes for the event streams without a thread per stream.

One watcher thread waits on the counter (`Counter.wait_change`) and wakes every stream's
`asyncio.Event` in its own loop; an idle stream is a coroutine waiting on that event, so any
number of open pages hold no worker thread and cannot starve a sale (docs/security.md).
"""

from __future__ import annotations

import asyncio
import threading

from terminal.checkout.counter import Counter

__all__ = ["ChangeFeed"]

_WATCH_S = 5.0  # the watcher's own wait; a change wakes it at once


class ChangeFeed:
    """Wake-ups for every subscribed stream after each change of `counter`."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._thread: threading.Thread | None = None

    def subscribe(self) -> asyncio.Event:
        """An event set after each change of the counter (call `unsubscribe` when done)."""
        event = asyncio.Event()
        with self._lock:
            self._waiters.add((asyncio.get_running_loop(), event))
            if self._thread is None:
                thread = threading.Thread(target=self._watch, name="counter-feed", daemon=True)
                thread.start()
                self._thread = thread
        return event

    def unsubscribe(self, event: asyncio.Event) -> None:
        with self._lock:
            self._waiters = {(loop, e) for loop, e in self._waiters if e is not event}

    def _watch(self) -> None:
        seen = self.counter.version
        while True:
            version = self.counter.wait_change(seen, _WATCH_S)
            with self._lock:
                if not self._waiters:  # no stream left: the watcher ends (a new one starts it)
                    self._thread = None
                    return
                waiters = list(self._waiters)
            if version == seen:
                continue
            seen = version
            for loop, event in waiters:
                try:
                    loop.call_soon_threadsafe(event.set)
                except RuntimeError:  # that stream's loop is closed
                    self.unsubscribe(event)

"""The counter's hardware in the background: the card reader watched, the camera's frames kept,
and (embedded default only) the demo card slot and the virtual phone under the page's control."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from terminal.checkout.counter import Counter
from terminal.checkout.service import CheckoutService

__all__ = ["CardWatch", "DemoCardSlot", "FrameTap"]

log = logging.getLogger(__name__)


class CardWatch:
    """Watches the user-card slot; a card inserted is read, checked offline and identifies the
    customer at the counter; a card removed is shown.

    Nothing a reader, the PSAM or pcscd does stops the watch (issue 13, finding 2): a read that
    fails in any way says "reinsert the card" and the next insertion is read; the event source
    failing (pcscd gone, a reader unplugged) says "reader lost: reconnecting" and the watch starts
    it again after `retry_s`. The PSAM is opened afresh by every read, so a reset PSAM recovers
    with the next one. `events` and `read` are the pcscd defaults, replaced by tests."""

    def __init__(
        self,
        service: CheckoutService,
        counter: Counter,
        interval: float = 0.1,
        *,
        events: Callable[[], Iterator[dict[str, Any]]] | None = None,
        read: Callable[[], Any] | None = None,
        retry_s: float = 1.0,
    ) -> None:
        self.service = service
        self.counter = counter
        self.interval = interval
        self.retry_s = retry_s
        self._events = events or self._pcsc_events
        self._read_card = read or self._pcsc_read
        self._stop = threading.Event()
        self._again = threading.Event()
        self._thread = threading.Thread(target=self.run, name="card-watch", daemon=True)
        self.failures = 0  # errors caught (reads and event sources): the bench reports them
        counter.reread = self.request_read

    def start(self) -> CardWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def request_read(self) -> None:
        """Read the card in the reader again at the watch's next look (the page's button)."""
        self._again.set()

    def run(self) -> None:
        """Watch until `stop()`: every failure is said and the event source started again."""
        while not self._stop.is_set():
            try:
                for event in self._events():
                    if self._stop.is_set():
                        return
                    self._handle(event)
            except Exception as exc:  # noqa: BLE001 - pcscd, a reader or pyscard: never fatal
                self.failures += 1
                log.warning("card watch: the reader was lost (%s); reconnecting", exc)
                self.counter.card_event("lost", f"reader lost: reconnecting ({exc})")
            self._stop.wait(self.retry_s)

    def _handle(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "card_inserted":
            self.counter.timings["inserted"] = time.perf_counter()
            self.counter.card_event("reading")
            self._read()
        elif kind in ("card_removed", "reader_removed"):
            self.counter.card_event("none")
        elif kind == "reader_added" and self.counter.state.card == "lost":
            self.counter.card_event("none")

    def _wait(self, present: Any, timeout_s: float) -> None:
        """Between two looks at pcscd: a read asked for by the cashier happens here."""
        from drivers.card.pcsc import wait_for_change

        if self._again.is_set():
            self._again.clear()
            if any(present.values()):
                self.counter.card_event("reading")
                self._read()
            return
        wait_for_change(present, timeout_s)

    def _pcsc_events(self) -> Iterator[dict[str, Any]]:
        from drivers.card.monitor import poll_events

        return poll_events(self.service.config.card.reader, interval=self.interval, wait=self._wait)

    def _pcsc_read(self) -> Any:
        from terminal.identity.card import read_card_data

        config = self.service.config.card
        return read_card_data(config.reader, config.sam or None)

    def _read(self) -> None:
        from drivers.card.errors import CardError
        from terminal.errors import IdentityError
        from terminal.identity.card import CARD_MESSAGES, identity_from_card

        try:
            read = self._read_card()
        except CardError as exc:
            self.failures += 1
            self.counter.card_event("error", CARD_MESSAGES.get(exc.reason, str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - whatever pyscard raised: never fatal
            self.failures += 1
            log.warning("card read failed: %r", exc)
            self.counter.card_event("error", f"the card could not be read ({exc}): reinsert it")
            return
        with self.counter.lock:
            try:
                identity = identity_from_card(
                    read, self.service.hotlist(), self.service.local_now().date()
                )
            except IdentityError as exc:
                self.counter.card_event("error", str(exc))
                self.counter.identify_failed(exc.code, str(exc))
                return
            self.counter.card_event("read")
            self.counter.identify(identity, "card", "card_checked")


class FrameTap:
    """A frame source that keeps the last frame it handed out (for the page's camera view)."""

    def __init__(self, source: Any, keep: Callable[[Any], None]) -> None:
        self.source = source
        self.name = source.name
        self._keep = keep

    def read(self) -> Any:
        frame = self.source.read()
        if frame is not None:
            self._keep(frame)
        return frame

    def close(self) -> None:
        self.source.close()


class DemoCardSlot:
    """The embedded default's user-card slot (vpcd port 35963): insert or remove demo cards.

    vpcd takes a new card only once it has noticed the last one leave, so an insertion is checked
    with pcscd and made again if pcscd does not report the card (seen when a card is pulled while
    a read is under way)."""

    def __init__(self, people: list[Any], today: Any, reader: str, port: int = 35963) -> None:
        self.people = people
        self.today = today
        self.reader = reader
        self.port = port
        self._client: Any = None
        self._lock = threading.Lock()

    def insert(self, index: int) -> str:
        from drivers.card.virtual import serve_in_thread
        from drivers.card.virtual.card import card_from_dict
        from terminal.demo.cards import demo_card_doc

        person = self.people[index % len(self.people)]
        doc = demo_card_doc(person, 0x10000001 + index % len(self.people), self.today)
        with self._lock:
            self._remove()
            for _ in range(5):
                self._client = serve_in_thread(card_from_dict(doc), self.port)
                if self._seen(True, 2.0):
                    break
                self._remove()
        return f"{person.name} ({person.card_no})"

    def remove(self) -> None:
        with self._lock:
            self._remove()

    def _remove(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
            self._seen(False, 2.0)
            time.sleep(0.1)  # vpcd polls its socket: let it see the slot empty

    def _seen(self, present: bool, limit_s: float) -> bool:
        from drivers.card.pcsc import card_atr

        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if (card_atr(self.reader) is not None) == present:
                return True
            time.sleep(0.01)
        return False

    def control(self, action: str, index: int) -> str:
        if action == "insert":
            return self.insert(index)
        self.remove()
        return ""

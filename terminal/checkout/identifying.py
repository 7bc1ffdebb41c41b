"""The counter's identification: the card slot watched, a card read, an e-card code scanned or
seen by the camera (docs/ui.md "The counter"). Part of `Counter` (terminal/checkout/counter.py),
which holds the state these methods change under its lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from terminal.checkout.counter_state import UNKNOWN_PERSON, State, person_of
from terminal.checkout.service import CheckoutService
from terminal.errors import CheckoutError, IdentityError
from terminal.identity.model import Identity
from terminal.ledger.his_desk import record_identification

__all__ = ["Identifying"]


class Identifying:
    """Who the customer is; `Counter` provides the state, the lock and the change signal."""

    service: CheckoutService
    lock: threading.RLock
    state: State
    timings: dict[str, float]
    reread: Callable[[], None] | None

    def read_card_again(self) -> None:
        """Ask the card watch to read the card in the reader again (the page's button, F6)."""
        if self.reread is None:
            raise CheckoutError("no_reader", "this terminal has no card reader: scan the e-card")
        self.reread()

    def _bump(self) -> None:
        raise NotImplementedError

    def _requote(self) -> None:
        raise NotImplementedError

    def card_event(self, event: str, detail: str = "") -> None:
        """The card slot's state: inserted ("present"), being read, read, failed ("error"),
        removed ("none") or the reader lost ("lost": the watch is reconnecting).

        A new insertion or a failed read clears the customer at once, whoever identified them,
        and a removal clears the customer that card identified: nothing is quoted or confirmed
        for a person whose card is not the one in the reader (issue 13, finding 1)."""
        with self.lock:
            st = self.state
            st.card = event
            if event == "reading":
                st.card_serial += 1
            person = st.person
            removed = event == "none" and person is not None and person.how == "card"
            if removed or (person is not None and event in ("reading", "error", "lost")):
                self.forget_person("card_removed" if removed else "")
            elif st.problem is not None and st.problem[0] == "reader_lost":
                st.problem = None  # the reader answers again
            if event in ("error", "lost"):
                st.quote = None
                st.problem = ("card" if event == "error" else "reader_lost", detail)
            self._bump()

    def forget_person(self, notice: str = "") -> None:
        """Nobody is identified any more; the basket stays for the next customer's card."""
        with self.lock:
            st = self.state
            st.person = None
            st.problem = None
            st.notice = notice
            self._requote()

    def identify(
        self, identity: Identity, how: str, checked: str, *, by_camera: bool = False
    ) -> None:
        with self.lock:
            if self.state.person is not None and self.state.person.identity.psn_cert != (
                identity.psn_cert
            ):
                # another customer's card or code while a basket is open: a new sale begins
                # with the new person, and the basket stays (the cashier voids it if wrong)
                self.state.notice = "person_changed"
            cached = self.service.ledger.get_person(identity.psn_cert)
            if cached is None and identity.card_no:
                cached = self.service.ledger.find_person_by_card(identity.card_no)
            self.state.person = person_of(identity, cached, how, checked, by_camera=by_camera)
            self.state.last_sale = None  # the next customer: the last sale's box goes
            if how == "card":
                self.state.person.card_serial = self.state.card_serial
            self.state.problem = UNKNOWN_PERSON if cached is None else None
            self.timings["identified"] = time.perf_counter()
            note_identification(self.service, identity, how)
            self._requote()
            self._bump()

    def identify_ecard(self, text: str, *, by_camera: bool = False) -> None:
        """A scanned or photographed e-card code: verified offline, then the counter's person."""
        with self.lock:
            try:
                verified = self.service.verify_ecard(text)
            except IdentityError as exc:
                self.state.problem = (exc.code, str(exc))
                self._bump()
                return
            self.identify(verified.identity(), "ecard", "ecard_checked", by_camera=by_camera)

    def camera_ecard(self, text: str) -> bool:
        """An e-card code the camera saw; True when it identified the customer.

        The camera also sees phones held up by the next people in the queue, so it only names the
        customer when nobody is named yet, or when the camera itself named them and the basket is
        still empty. Otherwise the code is left unverified (it stays unused, so its owner can show
        it again) and the page says another code was seen: the cashier scans it on purpose, or
        finishes or voids this basket first. A card or a scanned code always takes effect."""
        with self.lock:
            person = self.state.person
            if person is not None and (not person.by_camera or self.state.lines):
                if self.state.notice != "camera_other_code":
                    self.state.notice = "camera_other_code"
                    self._bump()
                return False
            self.identify_ecard(text, by_camera=True)
            return True

    def identify_failed(self, code: str, message: str) -> None:
        with self.lock:
            self.state.problem = (code, message)
            self._bump()


def note_identification(service: CheckoutService, identity: Identity, how: str) -> None:
    """Remember who was identified here and how, for the hospital desk (his-api.md "Identity at
    the desk": 1101, 2201 and 2401 need a person proved at this terminal)."""
    if how == "card":
        checks = ["psam_auth"] if identity.authenticated else []
        checks += ["expiry", "hotlist"]
    else:
        checks = ["signature", "expiry", "hotlist", "replay"]
    now = service.clock.now()
    body = {
        "mdtrt_cert_type": identity.mdtrt_cert_type,
        "mdtrt_cert_no": identity.mdtrt_cert_no,
        "psn_cert_type": "01",
        "certno": identity.psn_cert,
        "psn_name": identity.name,
        "read_at": service.local_now().strftime("%Y-%m-%d %H:%M:%S"),
        "checks": checks,
    }
    if identity.card_sn:
        body["card_sn"] = identity.card_sn
    record_identification(
        service.ledger, now.timestamp(), identity.mdtrt_cert_type, identity.mdtrt_cert_no, body
    )

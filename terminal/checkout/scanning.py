"""The counter's basket as the cashier builds it: scans (barcodes, e-card codes, catalogue codes,
`*N`, words to search for) and line edits (docs/ui.md "The counter"). Part of `Counter`
(terminal/checkout/counter.py), which holds the state these methods change under its lock.

A `*N` acts on the line last scanned or merged (`State.last_line`), within `[web] max_qty`; a
barcode the catalogue does not know is kept as a self-pay line only when its GTIN check digit is
right: a mistyped one is said to be one (issue 13, "Bounds and messages").
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from terminal.checkout.basket import (
    CatalogueSearch,
    Line,
    add_item,
    check_scanned_qty,
    gtin_ok,
    is_barcode,
    item_view,
    remove_line,
    scanned_qty,
    set_line_name,
    set_line_price,
    set_line_qty,
)
from terminal.checkout.counter_state import State
from terminal.checkout.counter_trace import looks_like_trace, missing_codes, take_code
from terminal.checkout.service import CheckoutService
from terminal.errors import CheckoutError

__all__ = ["Scanning"]


class Scanning:
    """The basket's scans and edits; `Counter` provides the state, the lock and the signal."""

    service: CheckoutService
    lock: threading.RLock
    state: State
    _search: tuple[tuple[int, int], CatalogueSearch] | None

    def _bump(self) -> None:
        raise NotImplementedError

    def _changed_basket(self) -> None:
        raise NotImplementedError

    def identify_ecard(self, text: str, *, by_camera: bool = False) -> None:
        raise NotImplementedError

    def _max_qty(self) -> int:
        return self.service.config.web.max_qty

    def catalogue_search(self) -> CatalogueSearch:
        ref = self.service.reference()
        key = (ref.catalogue_version, id(ref.catalogue))
        if self._search is None or self._search[0] != key:
            self._search = (key, CatalogueSearch(ref.catalogue))
        return self._search[1]

    def search(self, query: str, limit: int = 8) -> list[dict[str, Any]]:
        with self.lock:
            found = self.catalogue_search()
            catalogue = self.service.reference().catalogue
            return [item_view(catalogue, code) for code in found.search(query, limit)]

    def scan(self, text: str) -> None:
        """One line from the scan field or a wedge scanner: a barcode, an e-card code, a
        catalogue code, `*N` (quantity of the last line) or words to search for."""
        text = text.strip()
        with self.lock:
            if not text:  # Enter on the empty field: say which drug line needs how many codes
                missing = missing_codes(self.state.lines)
                if missing or self.state.trace_missing:  # nothing to say: nothing changes
                    self.state.trace_missing = missing
                    self.state.notice = "trace_missing" if missing else ""
                    self._bump()
                return
            self.state.notice = ""
            self.state.trace_missing = []
            if text.startswith("ESC1:"):
                self.identify_ecard(text)
                return
            if self._trace_scan(text):
                return
            qty = scanned_qty(text)
            if qty is not None and self.state.lines:
                last = self.state.last_line
                index = last if last is not None else len(self.state.lines) - 1
                set_line_qty(self.state.lines, index, check_scanned_qty(qty, self._max_qty()))
                self._changed_basket()
                return
            catalogue = self.service.reference().catalogue
            if is_barcode(text):
                code = catalogue.barcode_index.get(text)
                if code is None and not gtin_ok(text):
                    raise CheckoutError(
                        "bad_barcode",
                        "this barcode's check digit is wrong (mistyped or misread): scan it again",
                    )
                if code is None:
                    # not in the catalogue: kept as a self-pay line, never dropped
                    self.state.lines.append(Line(code=text, name="", known=False))
                    self.state.last_line = len(self.state.lines) - 1
                    self.state.notice = "unknown_barcode"
                    self._changed_basket()
                    return
                self.add(code)
                return
            if text in catalogue.items:
                self.add(text)
                return
            choices = self.search(text)
            if len(choices) == 1:
                self.add(choices[0]["code"])
                return
            self.state.choices = choices
            self.state.notice = "choose" if choices else "nothing_found"
            self._bump()

    def _trace_scan(self, text: str) -> bool:
        """A code for the drug line waiting for codes (True: taken). A product barcode or a
        catalogue code is never a code; a code is never an item."""
        st = self.state
        if is_barcode(text):
            # a product barcode, or one misread (its check digit wrong): the item path, which
            # says so; 8 or 12-14 digits are never taken for a code at the counter
            return False
        if text in self.service.reference().catalogue.items:
            return False
        index = st.trace_line
        if index is None or index >= len(st.lines) or not st.lines[index].trac_required:
            if looks_like_trace(text):
                raise CheckoutError(
                    "trace_no_line",
                    "this is a traceability code: scan the drug's box first, then its codes",
                )
            return False
        allow = self.service.config.trace.allow_other
        if not take_code(st.lines, index, text, allow_other=allow):
            return False
        st.last_line = index
        self._changed_basket()
        return True

    def scan_codes_for_lines(self, make_code: Callable[[], str]) -> int:
        """As a scanner would: scan each drug line's box, then its missing codes (`make_code`
        gives a fresh one), through `scan`; how many codes were scanned (the demo box)."""
        scanned = 0
        with self.lock:
            for index, line in enumerate(self.state.lines):
                need = line.trac_need
                if need is None:
                    continue
                self.state.trace_line = index  # as if its box had just been scanned
                for _ in range(need - len(line.trac)):
                    self.scan(make_code())
                    scanned += 1
        return scanned

    def add(self, code: str, qty: str = "1") -> None:
        with self.lock:
            catalogue = self.service.reference().catalogue
            self.state.last_line = add_item(self.state.lines, catalogue, code, qty)
            if self.state.lines[self.state.last_line].trac_required:
                self.state.trace_line = self.state.last_line  # the scan field takes its codes
            self.state.choices = []
            self._changed_basket()

    def set_qty(self, index: int, qty: str) -> None:
        with self.lock:
            set_line_qty(self.state.lines, index, qty, self._max_qty())
            self._changed_basket()

    def set_price(self, index: int, price: str) -> None:
        with self.lock:
            set_line_price(self.state.lines, index, price)
            self._changed_basket()

    def set_name(self, index: int, name: str) -> None:
        with self.lock:
            set_line_name(self.state.lines, index, name)
            self._bump()

    def remove(self, index: int) -> None:
        with self.lock:
            remove_line(self.state.lines, index)
            last = self.state.last_line
            if last is not None and last >= index:
                self.state.last_line = None if last == index else last - 1
            waiting = self.state.trace_line
            if waiting is not None and waiting >= index:
                self.state.trace_line = None if waiting == index else waiting - 1
            self._changed_basket()

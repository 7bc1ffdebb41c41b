"""The counter's basket as the cashier builds it: scans (barcodes, e-card codes, catalogue codes,
`*N`, words to search for) and line edits (docs/ui.md "The counter"). Part of `Counter`
(terminal/checkout/counter.py), which holds the state these methods change under its lock.

A `*N` acts on the line last scanned or merged (`State.last_line`), within `[web] max_qty`; a
barcode the catalogue does not know is kept as a self-pay line only when its GTIN check digit is
right: a mistyped one is said to be one (issue 13, "Bounds and messages").
"""

from __future__ import annotations

import threading
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
        if not text:
            return
        with self.lock:
            self.state.notice = ""
            if text.startswith("ESC1:"):
                self.identify_ecard(text)
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

    def add(self, code: str, qty: str = "1") -> None:
        with self.lock:
            catalogue = self.service.reference().catalogue
            self.state.last_line = add_item(self.state.lines, catalogue, code, qty)
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
            self._changed_basket()

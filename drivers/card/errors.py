"""Card errors (card.md "Status words the terminal must tell apart"), each with its refusal reason.

::

    DriverError (terminal.errors)
    └── CardError(reason)
        ├── ReaderError            no_reader: the named reader is not there
        ├── NoCardError            no_card
        ├── CardRemovedError       card_removed
        ├── CardResetError         card_reset: another handle reset the card (0x80100068)
        ├── MalformedAnswerError   malformed_answer: short answer, bad TLV
        └── ApduError(sw)          a status word other than 90 00
"""

from __future__ import annotations

from terminal.errors import DriverError

__all__ = [
    "ApduError",
    "CardError",
    "CardRemovedError",
    "CardResetError",
    "MalformedAnswerError",
    "NoCardError",
    "ReaderError",
]


class CardError(DriverError):
    """A card or reader problem; `reason` is card.md's refusal code."""

    reason = "card_error"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class ReaderError(CardError):
    reason = "no_reader"


class NoCardError(CardError):
    reason = "no_card"


class CardRemovedError(CardError):
    reason = "card_removed"

    def __init__(self, message: str = "card removed: insert it again") -> None:
        super().__init__(message)


class CardResetError(CardError):
    """The card (often the PSAM) was reset under this handle: connect again."""

    reason = "card_reset"

    def __init__(self, message: str = "the card was reset") -> None:
        super().__init__(f"{message}: insert it again")


class MalformedAnswerError(CardError):
    reason = "malformed_answer"


class ApduError(CardError):
    """The card answered with status word `sw` (not 90 00)."""

    def __init__(self, sw: int, what: str) -> None:
        self.sw = sw
        reason = {0x6283: "cancelled", 0x9303: "blocked", 0x6983: "blocked"}.get(sw, "apdu_error")
        super().__init__(f"{what}: the card answered {sw:04X}", reason)

"""Printer errors::

    DriverError (terminal.errors)
    └── PrinterError     a receipt could not be rendered or delivered; the sale stands, reprint

The message says what happened and what to do. The sale is committed before it prints, so the
caller shows the message and offers a reprint.
"""

from __future__ import annotations

from terminal.errors import DriverError

__all__ = ["PrinterError"]


class PrinterError(DriverError):
    """A receipt could not be printed: the message names the printer and what to check."""

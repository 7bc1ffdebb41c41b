"""The platform's exceptions (platform-api.md "Envelope", "Platform administration").

::

    MedposError (terminal.errors)
    └── HubError   an administration problem (no root key, a bad file): the message says what to do
    Exception
    └── Refused    a message refused at the envelope (`infcode` -1, `err_msg` starting with the
                   reason); `Hub` answers it and it never leaves the message path
"""

from __future__ import annotations

from terminal.errors import MedposError

__all__ = ["HubError", "Refused"]


class HubError(MedposError):
    """An administration problem (no root key, bad file); the message says what to do."""


class Refused(Exception):
    """A message refused at the envelope (`infcode` -1)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason

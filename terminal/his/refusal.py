"""A refusal of the HIS API (his-api.md tables): an `err_code` and a sentence for the clerk."""

from __future__ import annotations

from terminal.errors import CheckoutError

__all__ = ["HisRefused"]


class HisRefused(CheckoutError):
    """An expected refusal: answered `infcode` -1 with `err_code` = `code`; nothing written.

    `deferred`: (mdtrt_id, chrg_bchno, total fen) of a settlement deferred while offline, which
    the desk lists as pending (his-api.md "Deferred settlement")."""

    def __init__(
        self, code: str, message: str, deferred: tuple[str, str | None, int] | None = None
    ) -> None:
        super().__init__(code, message)
        self.deferred = deferred

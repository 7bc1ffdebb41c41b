"""What a field device holds for its days away (docs/field.md): the persons cached, and the
outcome of the last `medpos field prepare` (kept in `meta.field_prepared`)."""

from __future__ import annotations

import json
from typing import Any

from terminal.ledger.store import SqliteLedger

__all__ = ["cached_persons", "last_prepare", "unsynced_fund"]


def cached_persons(ledger: SqliteLedger) -> list[dict[str, Any]]:
    """The person cache by name: `psn_cert`, `name`, `insutype`, `psn_type`, `source`,
    `updated_at`."""
    return [
        dict(r)
        for r in ledger.query(
            "SELECT psn_cert, name, insutype, psn_type, source, updated_at FROM persons "
            "ORDER BY name, psn_cert"
        )
    ]


def unsynced_fund(ledger: SqliteLedger) -> int:
    """The fund payments waiting in the outbox, fen."""
    value = ledger.get_meta("outbox_fund")
    return int(value) if value else 0


def last_prepare(ledger: SqliteLedger) -> dict[str, Any] | None:
    """The last `field prepare`'s outcome (`at`, `days`, `covered`, `problems`), or None."""
    value = ledger.get_meta("field_prepared")
    return dict(json.loads(value)) if value else None

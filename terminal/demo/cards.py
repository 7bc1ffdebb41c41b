"""Card files for the demo persons (the virtual cards of the embedded default)."""

from __future__ import annotations

from datetime import date
from typing import Any

from drivers.card.virtual.demo import card_doc
from terminal.demo.people import DemoPerson

__all__ = ["demo_card_doc"]


def demo_card_doc(person: DemoPerson, serial: int, today: date, **changes: Any) -> dict[str, Any]:
    """The card file of a demo person's social security card (see `card_doc` for `changes`)."""
    return card_doc(
        psn_cert=person.psn_cert,
        name=person.name,
        card_no=person.card_no,
        sex=person.sex,
        ethnicity=person.ethnicity,
        birthplace=person.birthplace,
        serial=serial,
        today=today,
        **changes,
    )

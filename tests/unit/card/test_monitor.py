"""The card monitor's events from a sequence of PC/SC states: readers plugged and unplugged,
cards inserted and removed (the real pcscd run is in tests/integration/card)."""

from __future__ import annotations

from itertools import islice

from drivers.card.errors import ReaderError
from drivers.card.monitor import poll_events


def test_readers_plugged_and_unplugged_and_cards_in_and_out() -> None:
    states = iter(
        [
            ([], {}),
            (["ACS 00"], {}),
            (["ACS 00"], {"ACS 00": "3B68"}),
            (["ACS 00", "HID 01"], {"ACS 00": "3B68"}),
            (["HID 01"], {}),  # the ACS reader was unplugged with its card in it
            (None, {}),  # pcscd went away
            (["HID 01"], {"HID 01": "3B6A"}),
        ]
    )
    current: dict[str, object] = {}

    def readers() -> list[str]:
        names, cards = next(states)
        current["cards"] = cards
        if names is None:
            raise ReaderError("cannot list card readers")
        return names

    def atr_of(name: str) -> str | None:
        return current["cards"].get(name)  # type: ignore[attr-defined, no-any-return]

    events = list(
        islice(
            poll_events(interval=0, list_names=readers, atr_of=atr_of, wait=lambda _p, _t: None), 7
        )
    )
    assert events == [
        {"event": "reader_added", "reader": "ACS 00"},
        {"event": "card_inserted", "reader": "ACS 00", "atr": "3B68"},
        {"event": "reader_added", "reader": "HID 01"},
        {"event": "reader_removed", "reader": "ACS 00"},
        {"event": "reader_removed", "reader": "HID 01"},
        {"event": "reader_added", "reader": "HID 01"},
        {"event": "card_inserted", "reader": "HID 01", "atr": "3B6A"},
    ]

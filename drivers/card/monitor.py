"""Card insertion and removal as events (card.md "Readers and slots").

Looks at pyscard's reader list and each reader's card state, then waits for pcscd to report a
card entering or leaving (at most `interval`): an insertion is seen as soon as pcscd sees it, and
readers plugged in or out appear in the list without a restart. Events: `{"event":
"reader_added" | "reader_removed" | "card_inserted" | "card_removed", "reader": name, "atr"?: hex}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from drivers.card.errors import CardError
from drivers.card.pcsc import card_atr, list_readers, wait_for_change

__all__ = ["poll_events"]


def _card_token(name: str) -> str | None:
    return card_atr(name, with_events=True)


def poll_events(
    substring: str | None = None,
    *,
    interval: float = 0.25,
    list_names: Callable[[], list[str]] = list_readers,
    atr_of: Callable[[str], str | None] = _card_token,
    wait: Callable[[Mapping[str, bool], float], None] = wait_for_change,
) -> Iterator[dict[str, Any]]:
    """Events as they happen, forever (the caller stops iterating); `list_names`, `atr_of` and
    `wait` are the PC/SC queries (pcscd by default). `atr_of` may answer `ATR#count`: a card
    swapped for another between two looks is then a removal and an insertion."""
    readers: set[str] = set()
    cards: dict[str, str | None] = {}
    while True:
        try:
            now = {r for r in list_names() if substring is None or substring in r}
        except CardError:
            now = set()
        for name in sorted(now - readers):
            yield {"event": "reader_added", "reader": name}
        for name in sorted(readers - now):
            cards.pop(name, None)
            yield {"event": "reader_removed", "reader": name}
        readers = now
        for name in sorted(readers):
            atr = atr_of(name)
            before = cards.get(name)
            if before is not None and atr != before:
                # gone, or another card since the last look (pcscd's event count moved)
                yield {"event": "card_removed", "reader": name}
            if atr is not None and atr != before:
                yield {"event": "card_inserted", "reader": name, "atr": atr.split("#")[0]}
            cards[name] = atr
        wait({name: cards[name] is not None for name in readers}, interval)

"""The one hotlist rule of ecard-qr.md "Hotlist", shared by the terminal and the platform.

| entry kind | matches |
| `card_no`  | a physical card or an e-card with that card number |
| `card_sn`  | a physical card with that card identification code |
| `psn_cert` | any identification of that person |

`hotlist_match` takes the hotlist document or a `HotlistIndex` built from it once per version
(a dictionary lookup instead of a walk over every entry, for lists of many thousand entries).
Pure and standard-library only: the terminal (`terminal/identity`) and the platform (`sync/hub`)
both import it from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["HotlistIndex", "hotlist_match"]

_KINDS = ("card_no", "card_sn", "psn_cert")


def _norm(kind: str, value: str) -> str:
    # card identification codes are hex and ID numbers may end in x: compare them upper-case
    return value.upper() if kind in ("card_sn", "psn_cert") else value


class HotlistIndex:
    """A hotlist document indexed by `(kind, value)`; the first entry of each key wins."""

    __slots__ = ("_by_key", "doc")

    def __init__(self, doc: Mapping[str, Any] | None) -> None:
        self.doc = doc
        self._by_key: dict[tuple[str, str], dict[str, Any]] = {}
        for entry in (doc or {}).get("entries", ()) or ():
            if not isinstance(entry, Mapping):
                continue
            kind, value = entry.get("kind"), entry.get("value")
            if kind in _KINDS and isinstance(value, str):
                self._by_key.setdefault((kind, _norm(kind, value)), dict(entry))

    def __len__(self) -> int:
        return len(self._by_key)

    def match(
        self, *, card_no: str | None, card_sn: str | None, psn_cert: str | None
    ) -> dict[str, Any] | None:
        for kind, value in (("card_no", card_no), ("card_sn", card_sn), ("psn_cert", psn_cert)):
            if value:
                found = self._by_key.get((kind, _norm(kind, value)))
                if found is not None:
                    return dict(found)
        return None


def hotlist_match(
    hotlist: Mapping[str, Any] | HotlistIndex | None,
    *,
    card_no: str | None,
    card_sn: str | None,
    psn_cert: str | None,
) -> dict[str, Any] | None:
    """A hotlist entry matching this identification, or None."""
    if not hotlist:
        return None
    index = hotlist if isinstance(hotlist, HotlistIndex) else HotlistIndex(hotlist)
    return index.match(card_no=card_no, card_sn=card_sn, psn_cert=psn_cert)

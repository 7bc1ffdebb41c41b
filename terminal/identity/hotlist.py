"""The one hotlist rule of ecard-qr.md "Hotlist", shared by the terminal and the platform.

| entry kind | matches |
| `card_no`  | a physical card or an e-card with that card number |
| `card_sn`  | a physical card with that card identification code |
| `psn_cert` | any identification of that person |

Pure and standard-library only: `sync/hub` imports it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["hotlist_match"]


def hotlist_match(
    hotlist: Mapping[str, Any] | None,
    *,
    card_no: str | None,
    card_sn: str | None,
    psn_cert: str | None,
) -> dict[str, Any] | None:
    """The first hotlist entry matching this identification, or None."""
    if not hotlist:
        return None
    wanted = {
        "card_no": card_no,
        # card identification codes are hex: compare them upper-case
        "card_sn": card_sn.upper() if card_sn else None,
        "psn_cert": psn_cert.upper() if psn_cert else None,
    }
    for entry in hotlist.get("entries", ()):
        if not isinstance(entry, Mapping):
            continue
        kind, value = entry.get("kind"), entry.get("value")
        if kind not in wanted or not isinstance(value, str) or wanted[kind] is None:
            continue
        if kind in ("card_sn", "psn_cert"):
            value = value.upper()
        if value == wanted[kind]:
            return dict(entry)
    return None

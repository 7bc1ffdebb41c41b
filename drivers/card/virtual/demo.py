"""Card files for demo and test cards, made for a given day (dates relative to it).

Demo master keys: the demo PSAM's IRK and RK_SSSE; each card's K_int and K_ext are diversified
from them with its identification code, as an issuer would. These keys are public demo values.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from drivers.card.virtual.card import sm4

__all__ = ["DEMO_IRK", "DEMO_RK_SSSE", "card_doc", "psam_doc"]

DEMO_IRK = bytes.fromhex("4D4544504F532D444543D9454D4F2D31")
DEMO_RK_SSSE = bytes.fromhex("4D4544504F532D444543D9454D4F2D32")
DEMO_TERMINAL_NO = "330100000001"


def psam_doc(terminal_no: str = DEMO_TERMINAL_NO) -> dict[str, Any]:
    return {
        "type": "psam",
        "irk": DEMO_IRK.hex(),
        "rk_ssse": DEMO_RK_SSSE.hex(),
        "terminal_no": terminal_no,
    }


def card_doc(
    *,
    psn_cert: str,
    name: str,
    card_no: str,
    sex: str,
    ethnicity: str,
    birthplace: str,
    serial: int,
    today: date,
    version: str = "3.00",
    category: str = "3",
    expired: bool = False,
    counterfeit: bool = False,
    pin: str | None = None,
    answer_style: str = "exact",
    region: str = "330100",
) -> dict[str, Any]:
    """A card file for one person; `counterfeit` copies the data with a wrong key."""
    card_sn = f"{region}D156000005{serial:08X}{(serial * 2654435761) & 0xFFFFFFFF:08X}"
    d = bytes.fromhex(card_sn)
    issued = date(today.year - 3, today.month, min(today.day, 28))
    if expired:
        expires = date(today.year, today.month, 1) if today.day > 1 else date(today.year - 1, 12, 1)
    else:
        expires = date(today.year + 7, today.month, min(today.day, 28))
    names = (name[:15], name[15:]) if len(name) > 15 else (name, "")
    elements = {
        "01": card_sn,
        "02": category,
        "03": version,
        "04": f"9156000002{region}{region}1",
        "05": issued.strftime("%Y%m%d"),
        "06": expires.strftime("%Y%m%d"),
        "07": card_no,
        "08": psn_cert,
        "09": names[0],
        "0A": sex,
        "0B": ethnicity,
        "0C": birthplace,
        "0D": psn_cert[6:14],
    }
    if names[1]:
        elements["4E"] = names[1]
    k_int = sm4(DEMO_IRK, d)
    if counterfeit:
        k_int = bytes(16)  # right data, wrong key
    return {
        "type": "card",
        "elements": elements,
        "k_int": k_int.hex(),
        "k_ext": sm4(DEMO_RK_SSSE, d).hex(),
        "pin": pin,
        "pin_tries": 3,
        "answer_style": answer_style,
    }

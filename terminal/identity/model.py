"""The verified insured person that checkout settles for, whatever identified them."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CERT_CARD", "CERT_ECARD", "CERT_ID_NUMBER", "Identity"]

CERT_ECARD = "01"  # mdtrt_cert_type: e-card QR code
CERT_ID_NUMBER = "02"  # ID number typed in (or given by a hospital system's claim)
CERT_CARD = "03"  # physical social security card


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is buying, and how that was established (platform-api.md "Settlement upload")."""

    psn_cert: str
    name: str
    mdtrt_cert_type: str
    mdtrt_cert_no: str
    card_no: str | None = None
    card_sn: str | None = None
    insuplc_admdvs: str | None = None
    insutype: str | None = None
    psn_no: str | None = None
    authenticated: bool = False
    ecard_cti: bytes | None = None
    ecard_exp: int | None = None

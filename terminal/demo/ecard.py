"""The embedded default's e-card issuer: a demo key, its trust list and codes for demo people.

The key lives in the terminal's data directory (mode 0600) and its trust list is seeded as local
version 0 of the `trust_list` reference data, so the virtual phone's codes verify offline; the first
sync with a real platform replaces the trust list and the demo codes stop verifying, as they should.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from terminal.demo.people import DemoPerson
from terminal.files import check_private_file
from terminal.identity.issuer import IssuerKey, generate_issuer_key, load_issuer_key, trust_entry

__all__ = ["DEMO_ISSUER", "demo_ecard_claims", "demo_issuer_key", "demo_trust_list"]

DEMO_ISSUER = "CN-330100"
KEY_FILE = "demo-ecard-issuer.pem"


def demo_issuer_key(data_dir: Path) -> IssuerKey:
    """The demo issuer key of this data directory, created on first use."""
    path = data_dir / KEY_FILE
    if path.exists():
        with path.open("rb") as f:
            check_private_file(path, os.fstat(f.fileno()).st_mode, "demo e-card issuer key")
            return load_issuer_key(f.read(), str(path))
    key = generate_issuer_key("ES256")
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.pem())
    return key


def demo_trust_list(key: IssuerKey, issued_at: int) -> dict[str, Any]:
    """A trust list holding the demo key, valid from a year before to ten years after."""
    entry = trust_entry(key, DEMO_ISSUER, issued_at - 366 * 86400, issued_at + 3653 * 86400)
    return {"version": 0, "issued_at": issued_at, "keys": [entry]}


def demo_ecard_claims(person: DemoPerson) -> dict[str, Any]:
    """The `ecard` map of a demo person's code."""
    return {
        "card_no": person.card_no,
        "psn_cert": person.psn_cert,
        "name": person.name,
        "insuplc_admdvs": "330100",
        "insutype": person.insutype,
        "psn_no": person.psn_no,
    }

"""Settlement uploads (platform-api.md "Settlement upload"): the entry hash both sides compute.

`ledger.hash` is the hex SHA-256 of the canonical JSON of the upload's `input` without
`ledger.hash` and `ledger.sig`; `ledger.sig` is the device's Ed25519 signature over those 32 bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from sync.protocol.canonical import canonical_json

__all__ = ["RECONCILED_AMOUNTS", "ZERO_HASH", "entry_hash"]

ZERO_HASH = "0" * 64  # prev_hash of a device's first entry
# the amounts 3201 totals and 3202 details compare (platform-api.md)
RECONCILED_AMOUNTS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")


def entry_hash(
    upload_input: Mapping[str, Any], *, strict: bool = True, canonical: bytes | None = None
) -> str:
    """The entry hash of an upload input (its `ledger.hash` and `ledger.sig` left out).

    `strict=False` skips canonical JSON's walk for floats, for inputs built from INTEGER and TEXT
    columns only (the terminal's own ledger). `canonical`: the canonical JSON of the whole input
    when the caller has it already (the platform does); only its `ledger` member is rewritten."""
    ledger = upload_input["ledger"]
    chain = {k: v for k, v in ledger.items() if k not in ("hash", "sig")}
    if canonical is not None:
        # the member `"ledger":{…}` occurs once in canonical JSON unless the document holds
        # the very same text elsewhere too (then serialise it afresh, below)
        whole = b'"ledger":' + canonical_json(ledger, strict=False)
        if canonical.count(whole) == 1:
            signed = canonical.replace(whole, b'"ledger":' + canonical_json(chain, strict=False))
            return hashlib.sha256(signed).hexdigest()
    return hashlib.sha256(
        canonical_json({**upload_input, "ledger": chain}, strict=strict)
    ).hexdigest()

"""Reference data as checkout uses it, and pricing: the policy, catalogue, hotlist and e-card
trust list the terminal holds, each parsed once per version (platform-api.md refdata), and a
basket priced from the catalogue (DESIGN.md "A transaction's life", step 2)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from terminal.errors import CheckoutError
from terminal.identity.hotlist import HotlistIndex
from terminal.ledger import SqliteLedger
from terminal.settlement import Catalogue, Policy, parse_catalogue, parse_policy

__all__ = ["HeldReference", "Reference", "price_basket"]


@dataclass(frozen=True, slots=True)
class Reference:
    """The policy and catalogue in force, parsed, with their versions."""

    policy: Policy
    policy_version: int
    catalogue: Catalogue
    catalogue_version: int
    key: tuple[tuple[int, int], tuple[int, int]]


Versions = dict[str, tuple[int, int, str]]  # kind → (version, issued_at, confirmed_at)


class HeldReference:
    """The parsed reference data of one ledger.

    Each caller passes the versions it read (a sale: inside its own write unit); a body is read
    and parsed again whenever its version differs from the one parsed last."""

    def __init__(self, ledger: SqliteLedger) -> None:
        self._ledger = ledger
        self._reference: Reference | None = None
        self._hotlist: tuple[tuple[int, int], HotlistIndex] | None = None
        self._trust: tuple[tuple[int, int], Any] | None = None

    def reference(self, held: Versions) -> Reference:
        """The policy and catalogue of the versions `held`."""
        missing = [kind for kind in ("policy", "catalogue") if kind not in held]
        if missing:
            raise CheckoutError(
                "no_reference_data",
                f"this terminal holds no {missing[0]} yet: sync with the platform (or start the "
                "embedded default with demo = true)",
            )
        key = (held["policy"][:2], held["catalogue"][:2])
        parsed = self._reference
        if parsed is None or parsed.key != key:
            policy = self._ledger.get_refdata("policy")
            catalogue = self._ledger.get_refdata("catalogue")
            assert policy is not None and catalogue is not None
            parsed = Reference(
                parse_policy(policy.body, "policy (reference data)"),
                policy.version,
                parse_catalogue(json.loads(catalogue.body), "catalogue (reference data)"),
                catalogue.version,
                key,
            )
            self._reference = parsed
        return parsed

    def hotlist(self, held: Versions) -> HotlistIndex | None:
        """The hotlist of the version `held`, indexed; None when the terminal holds none."""
        version = held.get("hotlist")
        if version is None:
            return None
        if self._hotlist is None or self._hotlist[0] != version[:2]:
            row = self._ledger.get_refdata("hotlist")
            assert row is not None
            self._hotlist = (version[:2], HotlistIndex(json.loads(row.body)))
        return self._hotlist[1]

    def trust_list(self, held: Versions, now: datetime, max_age_days: int) -> Any:
        """The e-card trust list in force, refused when it is missing or stale (ecard-qr.md)."""
        from terminal.identity.ecard import EcardError, parse_trust_list

        version = held.get("trustlist")
        if version is None:
            raise EcardError("no_trust_list")
        confirmed = datetime.fromisoformat(version[2])
        if (now - confirmed).total_seconds() > max_age_days * 86400:
            raise EcardError(
                "trust_list_stale",
                f"last confirmed {confirmed:%Y-%m-%d %H:%M}, limit {max_age_days} d",
            )
        if self._trust is None or self._trust[0] != version[:2]:
            row = self._ledger.get_refdata("trustlist")
            assert row is not None
            self._trust = (version[:2], parse_trust_list(json.loads(row.body), "trust list"))
        return self._trust[1]


def price_basket(
    catalogue: Catalogue, basket: Sequence[Mapping[str, Any]], source: str = "basket"
) -> list[dict[str, Any]]:
    """Basket lines `{code | barcode, qty, price?, trac?, trdn_flag?}` → priced claim lines.

    A barcode is looked up in the catalogue; an item the catalogue does not know stays in the
    basket (self-pay, never dropped) and then needs its price.
    """
    lines = []
    if not isinstance(basket, list) or not basket:
        raise CheckoutError("bad_basket", f"{source}: the basket must be a non-empty list")
    for i, item in enumerate(basket):
        where = f"{source}: [{i}]"
        if not isinstance(item, Mapping):
            raise CheckoutError("bad_basket", f"{where}: each line is an object")
        code = item.get("code")
        if code is None and "barcode" in item:
            code = catalogue.barcode_index.get(str(item["barcode"]), str(item["barcode"]))
        if not isinstance(code, str) or not code:
            raise CheckoutError("bad_basket", f"{where}.code: give a catalogue code or barcode")
        qty = item.get("qty", "1")
        price = item.get("price")
        if price is None:
            known = catalogue.items.get(code)
            if known is None or known.price is None:
                raise CheckoutError(
                    "bad_basket",
                    f"{where}.price: {code} has no catalogue price: enter the selling price",
                )
            price = format(known.price, "f")
        line = {"code": code, "qty": qty, "price": price}
        for key in ("trac", "trdn_flag"):  # trace-codes.md "Basket line additions"
            if key in item:
                line[key] = item[key]
        lines.append(line)
    return lines

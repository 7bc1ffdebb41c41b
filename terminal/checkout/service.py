"""The checkout service: price, settle, check limits and commit a sale; refund; close the day.

This is the path every front end uses (the `medpos checkout` command, a hospital system, the web
UI): DESIGN.md "A transaction's life" steps 2–4. Everything it touches outside itself comes in
through the constructor: the ledger, the clock and, when there is one, the platform link for fresh
accumulators. The settlement engine is pure; risk limits are pure; the commit path
(`terminal/checkout/committing.py`) composes them inside one ledger unit of work so that the
accumulators read are the ones the sale advances. A pre-settlement runs the same unit and does not
commit it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from terminal.checkout.after_sale import AfterSale
from terminal.checkout.clock import Clock, SystemClock
from terminal.checkout.committing import (
    SaleRequest,
    mask_psn_cert,
    outcome_of,
    sale_record,
    settle_in_unit,
)
from terminal.checkout.model import (
    SOFT_LIMITS,
    CheckoutRefused,
    PlatformLink,
    PreparedClaim,
    Quote,
    SaleOutcome,
)
from terminal.checkout.pricing import HeldReference, Reference, price_basket
from terminal.checkout.tender import TenderRequest
from terminal.checkout.tracing import TraceRefused, trace_claim
from terminal.config import Config
from terminal.errors import CheckoutError
from terminal.identity.hotlist import HotlistIndex
from terminal.identity.model import CERT_ID_NUMBER, Identity
from terminal.ledger import (
    SqliteLedger,
    WriteUnit,
    basket_answer,
    remember_basket,
)
from terminal.risk import Refusal, RiskLimits
from terminal.settlement import Catalogue, parse_claim
from terminal.trace import TracePlan

__all__ = [
    "SOFT_LIMITS",
    "CheckoutRefused",
    "CheckoutService",
    "PlatformLink",
    "PreparedClaim",
    "Quote",
    "SaleOutcome",
]

_BASKET_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # as a self-pay basket id


class CheckoutService(AfterSale):
    """Sales, refunds and closures against one terminal ledger."""

    def __init__(
        self,
        config: Config,
        ledger: SqliteLedger,
        clock: Clock | None = None,
        platform: PlatformLink | None = None,
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.clock = clock or SystemClock()
        self.platform = platform
        self._held = HeldReference(ledger)
        self.limits = RiskLimits.of(config.risk)

    def local_now(self) -> datetime:
        """Now, in the region's time zone (every calendar date in medpos is in it)."""
        return self.clock.now().astimezone(self.config.tz)

    # -- reference data ---------------------------------------------------------------------

    def reference(self) -> Reference:
        """The policy and catalogue the terminal holds, parsed once per version."""
        return self._held.reference(self.ledger.refdata_versions())

    def hotlist(self) -> HotlistIndex | None:
        """The hotlist in force, parsed and indexed once per version."""
        return self._held.hotlist(self.ledger.refdata_versions())

    def trust_list(self) -> Any:
        """The e-card trust list in force, refused when it is missing or stale (ecard-qr.md)."""
        return self._held.trust_list(
            self.ledger.refdata_versions(),
            self.clock.now(),
            self.config.ecard.max_trust_list_age_days,
        )

    def verify_ecard(self, text: str) -> Any:
        """An e-card code checked offline against the held trust list, hotlist and replay store.

        The code's `cti` is not recorded here: the sale that uses it records it when it commits.
        """
        from terminal.identity.ecard import verify_ecard

        trust = self.trust_list()
        ecard = self.config.ecard
        return verify_ecard(
            text,
            trust,
            now=int(self.clock.now().timestamp()),
            seen=self.ledger.ecard_seen,
            hotlist=self.hotlist(),
            tolerance_s=ecard.clock_tolerance_s,
            max_lifetime_s=ecard.max_lifetime_s,
        )

    # -- sales ------------------------------------------------------------------------------

    def sell_claim(
        self,
        claim: Mapping[str, Any],
        *,
        source: str = "claim",
        operator: str | None = None,
        payment_method: str | None = None,
        basket_id: str | None = None,
        tender: TenderRequest | None = None,
    ) -> SaleOutcome:
        """The headless sale of a hospital system's claim (identity: the ID number, type 02).

        The claim's person fields are used as given; its accumulators only seed the cache for a
        person this terminal has never seen (DESIGN.md "Persons and accumulators").
        `basket_id`: the caller's idempotency key; the same id again returns the first sale's
        outcome and writes nothing (stored in the sale's own unit of work).
        """
        _check_basket_id(basket_id, source)
        return self.commit_claim(
            self.prepare_claim(claim, source),
            operator=operator,
            payment_method=payment_method,
            basket_id=basket_id,
            tender=tender,
        )

    def prepare_claim(self, claim: Mapping[str, Any], source: str = "claim") -> PreparedClaim:
        """The claim validated (InvalidInputError naming the field), its visit dated today when
        it names no date: everything `sell_claim` does before the write lock is taken."""
        if isinstance(claim, Mapping) and isinstance(claim.get("visit"), Mapping):
            visit = dict(claim["visit"])
            if "date" not in visit:
                visit["date"] = self.local_now().date().isoformat()
            claim = {**claim, "visit": visit}
        parsed = parse_claim(claim, source)  # validate before anything is written
        return PreparedClaim(
            parsed,
            dict(claim["person"]),
            claim["visit"],  # parsed, so an object: the copy made above
            [dict(line) for line in claim["basket"]],
            claim.get("accumulators") or {},
            source,
        )

    def commit_claim(
        self,
        prepared: PreparedClaim,
        *,
        operator: str | None = None,
        payment_method: str | None = None,
        basket_id: str | None = None,
        tender: TenderRequest | None = None,
    ) -> SaleOutcome:
        """The commit path of a validated claim: limits, settlement, the one transaction."""
        _check_basket_id(basket_id, prepared.source)
        psn_cert = prepared.parsed.person.psn_cert
        identity = Identity(
            psn_cert=psn_cert, name="", mdtrt_cert_type=CERT_ID_NUMBER, mdtrt_cert_no=psn_cert
        )
        sale = SaleRequest(  # reads the prepared person, visit and basket; changes none
            identity,
            prepared.person,
            prepared.visit,
            prepared.basket,
            prepared.seed_accumulators,
            prepared.source,
            parsed=prepared.parsed,
        )
        return self._commit(
            sale,
            operator=operator,
            payment_method=payment_method,
            basket_id=basket_id,
            tender=tender,
        )

    def sell(
        self,
        identity: Identity,
        basket: Sequence[Mapping[str, Any]],
        *,
        med_type: str = "41",
        operator: str | None = None,
        payment_method: str | None = None,
        source: str = "basket",
        approved_by: str | None = None,
        tender: TenderRequest | None = None,
    ) -> SaleOutcome:
        """A sale to a verified card or e-card holder, priced from the catalogue.

        `approved_by`: the supervisor who approved going past a soft limit (`SOFT_LIMITS`)."""
        sale = self._basket_sale(identity, basket, med_type=med_type, source=source)
        return self._commit(
            sale,
            operator=operator,
            payment_method=payment_method,
            approved_by=approved_by,
            tender=tender,
        )

    def quote(
        self,
        identity: Identity,
        basket: Sequence[Mapping[str, Any]],
        *,
        med_type: str = "41",
        operator: str | None = None,
        source: str = "basket",
    ) -> Quote:
        """The pre-settlement of `sell` with the same arguments: nothing is written.

        It reads and settles exactly as the sale would, in a write unit it does not commit."""
        sale = self._basket_sale(identity, basket, med_type=med_type, source=source)
        now = self.local_now()
        fresh = self._fresh_person(sale.person["psn_cert"])  # before the write lock is taken
        with self.ledger.write() as unit:  # not committed: a person it seeded is rolled back
            settled = settle_in_unit(self.ledger, unit, self._held, self.limits, sale, now, fresh)
            refusal = settled.refusal
            if refusal is None:
                try:
                    self.trace_plan(unit, settled.claim, source, settled.catalogue)
                except TraceRefused as exc:
                    refusal = Refusal(exc.code, str(exc))
        return Quote(settled.result, settled.offline, refusal)

    def _basket_sale(
        self,
        identity: Identity,
        basket: Sequence[Mapping[str, Any]],
        *,
        med_type: str,
        source: str,
    ) -> SaleRequest:
        cached = self.ledger.get_person(identity.psn_cert)
        if cached is None and identity.card_no:
            cached = self.ledger.find_person_by_card(identity.card_no)
        if cached is None:
            raise CheckoutError(
                "unknown_person",
                "this person is not in the terminal's person list, so insurance cannot be "
                "settled offline: sell the basket as self-pay (no insurance), or sync with the "
                "platform and try again",
            )
        today = self.local_now().date()
        visit = {"med_type": med_type, "inst_level": self.config.terminal.inst_level}
        visit["date"] = today.isoformat()
        return SaleRequest(
            identity,
            dict(cached["person"]),
            visit,
            self.price_basket(basket, source),
            None,
            source,
            name=identity.name or cached["name"],
        )

    def price_basket(
        self, basket: Sequence[Mapping[str, Any]], source: str = "basket"
    ) -> list[dict[str, Any]]:
        """Basket lines `{code | barcode, qty, price?, trac?, trdn_flag?}` → priced claim lines
        (`terminal/checkout/pricing.py`)."""
        return price_basket(self.reference().catalogue, basket, source)

    def _commit(
        self,
        sale: SaleRequest,
        *,
        operator: str | None,
        payment_method: str | None,
        approved_by: str | None = None,
        basket_id: str | None = None,
        tender: TenderRequest | None = None,
    ) -> SaleOutcome:
        """Settle and commit one sale in one unit of work, or refuse it (audited) and raise."""
        now = self.local_now()
        psn_cert = sale.person["psn_cert"]
        fresh = self._fresh_person(psn_cert)  # the network, before the write lock is taken
        with self.ledger.write() as unit:
            done = basket_answer(self.ledger, basket_id) if basket_id else None
            if done is not None:  # sold before under this basket id: its outcome, nothing new
                return SaleOutcome(**done)
            settled = settle_in_unit(self.ledger, unit, self._held, self.limits, sale, now, fresh)
            refusal = settled.refusal
            lifted = refusal is not None and bool(approved_by) and refusal.code in SOFT_LIMITS
            if refusal is None or lifted:
                plan = self.trace_plan(unit, settled.claim, sale.source, settled.catalogue)
                if refusal is not None:
                    unit.audit(
                        "override",
                        approved_by,
                        {
                            "code": refusal.code,
                            "operator": operator,
                            "psn_cert": mask_psn_cert(psn_cert),
                        },
                        now,
                    )
                assert settled.result is not None  # settled, so not refused before settling
                paid = (tender or TenderRequest()).settle(
                    settled.result.psn_cash_pay, payment_method
                )
                record = sale_record(sale, settled, now, operator, payment_method, paid.rows())
                appended = unit.append_sale(record)
                unit.record_trace(appended.txn_id, plan, now)
                if basket_id:
                    outcome = outcome_of(
                        appended, settled.offline, paid if tender is not None else None
                    )
                    remember_basket(self.ledger, basket_id, appended.txn_id, asdict(outcome))
                unit.commit()
        if refusal is not None and not lifted:  # nothing was committed: the refusal is audited
            refused = CheckoutRefused(refusal)
            self.ledger.audit(
                "refusal",
                operator,
                {
                    "code": refused.code,
                    "psn_cert": mask_psn_cert(psn_cert),
                    "message": str(refused),
                },
                now,
            )
            raise refused
        return outcome_of(appended, settled.offline, paid if tender is not None else None)

    @property
    def held(self) -> HeldReference:
        """The parsed reference data (the commit path's reads: `settle_in_unit`)."""
        return self._held

    def fresh_person(self, psn_cert: str) -> Mapping[str, Any] | None:
        """The platform's figures of a person (a bounded wait), or None: settle offline."""
        return self._fresh_person(psn_cert)

    def trace_plan(
        self,
        unit: WriteUnit,
        claim: dict[str, Any],
        source: str,
        catalogue: Catalogue,
    ) -> TracePlan:
        """A claim's traceability codes checked in `unit` (raises `TraceRefused`), by the rules of
        `catalogue`: the one the claim was settled with in the same unit (`Settlement`)."""
        return trace_claim(unit, catalogue, claim, self.config.trace, source)

    def _fresh_person(self, psn_cert: str) -> Mapping[str, Any] | None:
        if self.platform is None:
            return None
        return self.platform.fetch_person(psn_cert, self.config.platform.presettle_wait_s)


def _check_basket_id(basket_id: str | None, source: str) -> None:
    if basket_id is not None and not _BASKET_ID.fullmatch(basket_id):
        raise CheckoutError(
            "bad_basket_id", f"{source}: basket_id: 1 to 64 letters, digits or . _ : -"
        )

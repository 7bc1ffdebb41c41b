"""The commit path's reads and settlement, inside one ledger write unit (DESIGN.md "A
transaction's life", steps 3–4).

`settle_in_unit` reads everything a sale depends on in the unit's own snapshot (the reference
data versions, the hotlist, the person's accumulators, the offline counters), seeds a person the
terminal has never seen, settles and checks the limits. A sale then appends its entry and commits
the unit; a pre-settlement runs the very same steps and lets the unit roll back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from terminal.checkout.model import SaleOutcome
from terminal.checkout.pricing import HeldReference
from terminal.checkout.tender import Tender
from terminal.identity.hotlist import HotlistIndex, hotlist_match
from terminal.identity.model import Identity
from terminal.ledger import Appended, SaleRecord, SqliteLedger, WriteUnit, insurance_refusal
from terminal.risk import Refusal, RiskLimits, RiskState, check_limits
from terminal.settlement import (
    Accumulators,
    Catalogue,
    Claim,
    SettlementResult,
    accumulators_from_json,
    parse_claim,
    settle,
)
from terminal.settlement.money import parse_money

__all__ = [
    "SaleRequest",
    "Settlement",
    "mask_psn_cert",
    "outcome_of",
    "sale_record",
    "settle_in_unit",
]


@dataclass(frozen=True, slots=True)
class SaleRequest:
    """What a sale or pre-settlement settles: who, the claim's person, visit and basket."""

    identity: Identity
    person: dict[str, Any]
    visit: dict[str, Any]
    basket: list[dict[str, Any]]
    seed_accumulators: Mapping[str, Any] | None  # seed a person never seen (a claim's figures)
    source: str
    name: str | None = None
    parsed: Claim | None = None  # the claim, validated beforehand (`prepare_claim`)


@dataclass(frozen=True, slots=True)
class Settlement:
    """The sale as settled inside the unit, and the refusal it meets (None: it may commit)."""

    claim: dict[str, Any]
    offline: bool
    refusal: Refusal | None
    result: SettlementResult | None  # None: refused before settling (a blocked card)
    before: Accumulators | None
    catalogue_version: int
    year: int
    catalogue: Catalogue  # what it was priced with (its traceability rules too)


def settle_in_unit(
    ledger: SqliteLedger,
    unit: WriteUnit,
    held: HeldReference,
    limits: RiskLimits,
    sale: SaleRequest,
    now: datetime,
    fresh: Mapping[str, Any] | None,
) -> Settlement:
    """Read, seed, settle and check the limits in `unit`; nothing here commits it."""
    visit, person = sale.visit, sale.person
    if "date" not in visit:
        visit["date"] = now.date().isoformat()
    year = date.fromisoformat(visit["date"]).year
    psn_cert = person["psn_cert"]
    claim: dict[str, Any] = {"person": person, "visit": visit, "basket": sale.basket}
    # every read in the unit's own snapshot: what is checked is what is committed
    versions = ledger.refdata_versions()
    ref = held.reference(versions)
    # time runs forward, the chain is not behind the platform's, the data is the platform's
    stopped = insurance_refusal(ledger, now, ref.catalogue_version)
    if stopped is not None:
        return Settlement(
            claim,
            fresh is None,
            Refusal(*stopped),
            None,
            None,
            ref.catalogue_version,
            year,
            ref.catalogue,
        )
    blocked = _hotlisted(sale.identity, psn_cert, held.hotlist(versions))
    if blocked is not None:
        return Settlement(
            claim, fresh is None, blocked, None, None, ref.catalogue_version, year, ref.catalogue
        )
    accumulators = ledger.accumulators_value(psn_cert, year)
    if accumulators is None:
        seed = dict(sale.seed_accumulators or {})
        accumulators_from_json(seed, sale.source)  # a bad seed is named, not stored
        unit.upsert_person(
            person,
            source="claim",
            at=now,
            name=sale.name,
            card_no=sale.identity.card_no,
            acct_balance=parse_money(seed.get("acct_balance", "0.00"), "acct_balance"),
        )
        unit.set_accumulators(psn_cert, year, seed)
    if fresh is not None and not ledger.has_unsynced(psn_cert):
        # the platform's figures cannot include sales still in this outbox: only a person with
        # none takes them (DESIGN.md "Persons and accumulators")
        unit.set_accumulators(psn_cert, year, fresh["accumulators"])
    if accumulators is None or fresh is not None:
        accumulators = ledger.accumulators_value(psn_cert, year)
        assert accumulators is not None
    parsed = sale.parsed if sale.parsed is not None else parse_claim(claim, sale.source)
    # the claim was validated; the accumulators are always the terminal's own
    parsed = Claim(parsed.person, parsed.visit, accumulators, parsed.basket)
    result = settle(ref.policy, ref.catalogue, parsed)
    hotlist_confirmed = versions["hotlist"][2] if "hotlist" in versions else None
    state = _risk_state(
        ledger, now, fresh is not None, result.fund_pay_sumamt, psn_cert, hotlist_confirmed
    )
    refusal = check_limits(limits, state)
    return Settlement(
        claim,
        fresh is None,
        refusal,
        result,
        accumulators,
        ref.catalogue_version,
        year,
        ref.catalogue,
    )


def sale_record(
    sale: SaleRequest,
    settled: Settlement,
    now: datetime,
    operator: str | None,
    payment_method: str | None,
    tenders: tuple[tuple[str, int, int | None], ...] | None = None,
) -> SaleRecord:
    """The ledger's record of a settled sale (`tenders`: how the person paid, `Tender.rows`)."""
    assert settled.result is not None and settled.before is not None  # refused before settling
    identity = sale.identity
    return SaleRecord(
        settled_at=now,
        offline=settled.offline,
        operator=operator,
        payment_method=payment_method,
        identity={
            "mdtrt_cert_type": identity.mdtrt_cert_type,
            "mdtrt_cert_no": identity.mdtrt_cert_no,
            "card_no": identity.card_no,
            "card_sn": identity.card_sn,
        },
        psn_name=sale.name or identity.name or None,
        claim=settled.claim,
        before=settled.before,
        result=settled.result,
        catalogue_version=settled.catalogue_version,
        year=settled.year,
        ecard_cti=identity.ecard_cti,
        ecard_exp=identity.ecard_exp,
        tenders=tenders,
    )


def _hotlisted(identity: Identity, psn_cert: str, hotlist: HotlistIndex | None) -> Refusal | None:
    entry = hotlist_match(
        hotlist, card_no=identity.card_no, card_sn=identity.card_sn, psn_cert=psn_cert
    )
    if entry is None:
        return None
    return Refusal(
        "hotlisted",
        f"this card or person is blocked by the platform ({entry.get('reason', '')}): "
        "do not settle on insurance; ask the customer to contact the insurance office "
        "(a self-pay sale, without insurance, is still possible)",
    )


def _risk_state(
    ledger: SqliteLedger,
    now: datetime,
    online: bool,
    fund: int,
    psn_cert: str,
    hotlist_confirmed: str | None,
) -> RiskState:
    # running totals kept by each commit: one row each however long the history is
    exposure = ledger.exposure(psn_cert, now.date().isoformat())
    return RiskState(
        now=now,
        online=online,
        fund_pay=fund,
        person_offline_sales_today=exposure.person_offline_sales,
        person_offline_fund_today=exposure.person_offline_fund,
        unsynced_fund=exposure.unsynced_fund,
        last_sync_at=_parse_time(exposure.last_sync_at),
        sync_age_origin=_parse_time(exposure.sync_origin) or now,
        hotlist_confirmed_at=_parse_time(hotlist_confirmed),
    )


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def mask_psn_cert(psn_cert: str) -> str:
    """An ID number as the audit log keeps it: region and check character only."""
    return psn_cert[:6] + "*" * max(0, len(psn_cert) - 7) + psn_cert[-1:]


def outcome_of(appended: Appended, offline: bool, paid: Tender | None) -> SaleOutcome:
    """What checkout hands back for a sale just appended, paid by `paid` (None: the caller gave
    no tender, so the answer has none, as before tender existed)."""
    return SaleOutcome(
        appended.txn_id,
        appended.seq,
        appended.hash,
        offline,
        appended.upload_input["result"],
        appended.upload_input,
        paid.to_json() if paid is not None else None,
    )

"""The checkout service: price, settle, check limits and commit a sale; refund; close the day.

This is the path every front end uses (the `medpos checkout` command, a hospital system, the web
UI): DESIGN.md "A transaction's life" steps 2–4. Everything it touches outside itself comes in
through the constructor: the ledger, the clock and, when there is one, the platform link for fresh
accumulators. The settlement engine is pure; risk limits are pure; this module composes them inside
one ledger unit of work so that the accumulators read are the ones the sale advances.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from terminal.checkout.clock import Clock, SystemClock
from terminal.config import Config
from terminal.errors import CheckoutError, LedgerError
from terminal.identity.hotlist import HotlistIndex, hotlist_match
from terminal.identity.model import CERT_ID_NUMBER, Identity
from terminal.ledger import Appended, SqliteLedger, close_day
from terminal.risk import Refusal, RiskLimits, RiskState, check_limits
from terminal.settlement import (
    Catalogue,
    Claim,
    Policy,
    SettlementResult,
    accumulators_from_json,
    parse_catalogue,
    parse_claim,
    parse_policy,
    settle,
)
from terminal.settlement.money import parse_money

__all__ = [
    "SOFT_LIMITS",
    "CheckoutRefused",
    "CheckoutService",
    "PlatformLink",
    "PreparedClaim",
    "Quote",
    "SaleOutcome",
]

# Refusals a supervisor may override for one sale (their approval is audited); the others (sync
# too old, hotlist too old, the terminal's total exposure, a blocked card) bound the terminal's risk
# as a whole and no one at the counter may lift them.
SOFT_LIMITS = frozenset({"offline_sale_limit", "offline_person_count", "offline_person_amount"})


class PlatformLink(Protocol):
    """Fresh person data from the platform (1101), or None when it cannot answer in time."""

    def fetch_person(self, psn_cert: str, timeout_s: float) -> Mapping[str, Any] | None: ...


class CheckoutRefused(CheckoutError):
    """An expected refusal (an offline limit, a hotlisted person): carries the `Refusal` value."""

    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal
        super().__init__(refusal.code, refusal.message)


@dataclass(frozen=True, slots=True)
class SaleOutcome:
    """A committed sale: what checkout prints and the receipt needs."""

    txn_id: str
    seq: int
    hash: str
    offline: bool
    result: dict[str, Any]
    upload_input: dict[str, Any]

    def line(self) -> dict[str, Any]:
        """The JSON line `medpos checkout` prints after each commit."""
        return {
            "txn_id": self.txn_id,
            "seq": self.seq,
            "hash": self.hash,
            "setlinfo": self.result["setlinfo"],
        }


@dataclass(frozen=True, slots=True)
class PreparedClaim:
    """A claim `prepare_claim` validated: its parsed form and its own copy of the document's
    person, visit (dated) and basket lines, so that a later edit by the caller cannot make the
    stored text differ from what was settled."""

    parsed: Claim
    person: dict[str, Any]
    visit: dict[str, Any]
    basket: list[dict[str, Any]]
    seed_accumulators: Mapping[str, Any]
    source: str


@dataclass(frozen=True, slots=True)
class Quote:
    """A pre-settlement: the split the sale would get now, and the refusal it would meet."""

    result: SettlementResult | None  # None: refused before settling (a blocked card)
    offline: bool
    refusal: Refusal | None

    @property
    def overridable(self) -> bool:
        return self.refusal is not None and self.refusal.code in SOFT_LIMITS


class _Quoted(Exception):  # noqa: N818 - control flow: leaves the write unit, which rolls back
    def __init__(self, quote: Quote) -> None:
        self.quote = quote


@dataclass(frozen=True, slots=True)
class _Reference:
    policy: Policy
    policy_version: int
    catalogue: Catalogue
    catalogue_version: int
    key: tuple[tuple[int, int], tuple[int, int]]


class CheckoutService:
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
        self._reference: _Reference | None = None
        self._hotlist: tuple[tuple[int, int], HotlistIndex] | None = None
        self._trust: tuple[tuple[int, int], Any] | None = None
        risk = config.risk
        self.limits = RiskLimits(
            risk.offline_max_fund_per_sale,
            risk.offline_max_sales_per_person_day,
            risk.offline_max_fund_per_person_day,
            risk.max_unsynced_fund,
            risk.max_sync_age_h,
            risk.max_hotlist_age_days,
        )

    def local_now(self) -> datetime:
        """Now, in the region's time zone (every calendar date in medpos is in it)."""
        return self.clock.now().astimezone(self.config.tz)

    # -- reference data ---------------------------------------------------------------------

    def reference(self, held: dict[str, tuple[int, int, str]] | None = None) -> _Reference:
        """The policy and catalogue the terminal holds, parsed once per version."""
        held = held if held is not None else self.ledger.refdata_versions()
        missing = [kind for kind in ("policy", "catalogue") if kind not in held]
        if missing:
            raise CheckoutError(
                "no_reference_data",
                f"this terminal holds no {missing[0]} yet: sync with the platform (or start the "
                "embedded default with demo = true)",
            )
        key = (held["policy"][:2], held["catalogue"][:2])
        cached = self._reference
        if cached is None or cached.key != key:
            policy = self.ledger.get_refdata("policy")
            catalogue = self.ledger.get_refdata("catalogue")
            assert policy is not None and catalogue is not None
            cached = _Reference(
                parse_policy(policy.body, "policy (reference data)"),
                policy.version,
                parse_catalogue(json.loads(catalogue.body), "catalogue (reference data)"),
                catalogue.version,
                key,
            )
            self._reference = cached
        return cached

    def hotlist(
        self, versions: dict[str, tuple[int, int, str]] | None = None
    ) -> HotlistIndex | None:
        """The hotlist in force, parsed and indexed once per version."""
        held = (versions if versions is not None else self.ledger.refdata_versions()).get("hotlist")
        if held is None:
            return None
        if self._hotlist is None or self._hotlist[0] != held[:2]:
            row = self.ledger.get_refdata("hotlist")
            assert row is not None
            self._hotlist = (held[:2], HotlistIndex(json.loads(row.body)))
        return self._hotlist[1]

    def trust_list(self) -> Any:
        """The e-card trust list in force, refused when it is missing or stale (ecard-qr.md)."""
        from terminal.identity.ecard import EcardError, parse_trust_list

        held = self.ledger.refdata_versions().get("trustlist")
        if held is None:
            raise EcardError("no_trust_list")
        confirmed = datetime.fromisoformat(held[2])
        age = self.clock.now() - confirmed
        limit_days = self.config.ecard.max_trust_list_age_days
        if age.total_seconds() > limit_days * 86400:
            raise EcardError(
                "trust_list_stale",
                f"last confirmed {confirmed:%Y-%m-%d %H:%M}, limit {limit_days} d",
            )
        if self._trust is None or self._trust[0] != held[:2]:
            row = self.ledger.get_refdata("trustlist")
            assert row is not None
            self._trust = (held[:2], parse_trust_list(json.loads(row.body), "trust list"))
        return self._trust[1]

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
    ) -> SaleOutcome:
        """The headless sale of a hospital system's claim (identity: the ID number, type 02).

        The claim's person fields are used as given; its accumulators only seed the cache for a
        person this terminal has never seen (DESIGN.md "Persons and accumulators").
        """
        return self.commit_claim(
            self.prepare_claim(claim, source), operator=operator, payment_method=payment_method
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
    ) -> SaleOutcome:
        """The commit path of a validated claim: limits, settlement, the one transaction."""
        psn_cert = prepared.parsed.person.psn_cert
        identity = Identity(
            psn_cert=psn_cert, name="", mdtrt_cert_type=CERT_ID_NUMBER, mdtrt_cert_no=psn_cert
        )
        outcome = self._commit(  # reads the prepared person, visit and basket; changes none
            identity,
            prepared.person,
            visit=prepared.visit,
            basket=prepared.basket,
            seed_accumulators=prepared.seed_accumulators,
            source=prepared.source,
            operator=operator,
            payment_method=payment_method,
            parsed=prepared.parsed,
        )
        assert isinstance(outcome, SaleOutcome)
        return outcome

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
    ) -> SaleOutcome:
        """A sale to a verified card or e-card holder, priced from the catalogue.

        `approved_by`: the supervisor who approved going past a soft limit (`SOFT_LIMITS`)."""
        result = self._basket_sale(
            identity,
            basket,
            med_type=med_type,
            operator=operator,
            payment_method=payment_method,
            source=source,
            approved_by=approved_by,
            dry_run=False,
        )
        assert isinstance(result, SaleOutcome)
        return result

    def quote(
        self,
        identity: Identity,
        basket: Sequence[Mapping[str, Any]],
        *,
        med_type: str = "41",
        operator: str | None = None,
        source: str = "basket",
    ) -> Quote:
        """The pre-settlement of `sell` with the same arguments: nothing is written."""
        result = self._basket_sale(
            identity,
            basket,
            med_type=med_type,
            operator=operator,
            payment_method=None,
            source=source,
            approved_by=None,
            dry_run=True,
        )
        assert isinstance(result, Quote)
        return result

    def _basket_sale(
        self,
        identity: Identity,
        basket: Sequence[Mapping[str, Any]],
        *,
        med_type: str,
        operator: str | None,
        payment_method: str | None,
        source: str,
        approved_by: str | None,
        dry_run: bool,
    ) -> SaleOutcome | Quote:
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
        return self._commit(
            identity,
            dict(cached["person"]),
            visit=visit,
            basket=self.price_basket(basket, source),
            seed_accumulators=None,
            source=source,
            operator=operator,
            payment_method=payment_method,
            name=identity.name or cached["name"],
            approved_by=approved_by,
            dry_run=dry_run,
        )

    def price_basket(
        self, basket: Sequence[Mapping[str, Any]], source: str = "basket"
    ) -> list[dict[str, str]]:
        """Basket lines `{code | barcode, qty, price?}` → claim lines with the selling price.

        A barcode is looked up in the catalogue; an item the catalogue does not know stays in the
        basket (self-pay, never dropped) and then needs its price.
        """
        catalogue = self.reference().catalogue
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
            lines.append({"code": code, "qty": qty, "price": price})
        return lines

    def _commit(
        self,
        identity: Identity,
        person: dict[str, Any],
        *,
        visit: dict[str, Any],
        basket: list[dict[str, Any]],
        seed_accumulators: Mapping[str, Any] | None,
        source: str,
        operator: str | None,
        payment_method: str | None,
        name: str | None = None,
        parsed: Claim | None = None,
        approved_by: str | None = None,
        dry_run: bool = False,
    ) -> SaleOutcome | Quote:
        now = self.local_now()
        if "date" not in visit:
            visit["date"] = now.date().isoformat()
        year = date.fromisoformat(visit["date"]).year
        psn_cert = person["psn_cert"]
        fresh = self._fresh_person(psn_cert)  # the network, before the write lock is taken
        try:
            with self.ledger.write() as unit:
                # every read in the unit's own snapshot: what is checked is what is committed
                versions = self.ledger.refdata_versions()
                ref = self.reference(versions)
                self._refuse_hotlisted(identity, psn_cert, self.hotlist(versions))
                accumulators = self.ledger.accumulators_value(psn_cert, year)
                if accumulators is None:
                    seed = dict(seed_accumulators or {})
                    accumulators_from_json(seed, source)  # a bad seed is named, not stored
                    unit.upsert_person(
                        person,
                        source="claim",
                        at=now,
                        name=name,
                        card_no=identity.card_no,
                        acct_balance=parse_money(seed.get("acct_balance", "0.00"), "acct_balance"),
                    )
                    unit.set_accumulators(psn_cert, year, seed)
                if fresh is not None and not self.ledger.has_unsynced(psn_cert):
                    # the platform's figures cannot include sales still in this outbox: only
                    # a person with none takes them (DESIGN.md "Persons and accumulators")
                    unit.set_accumulators(psn_cert, year, fresh["accumulators"])
                if accumulators is None or fresh is not None:
                    accumulators = self.ledger.accumulators_value(psn_cert, year)
                    assert accumulators is not None
                claim: dict[str, Any] = {"person": person, "visit": visit, "basket": basket}
                if parsed is None:
                    parsed = parse_claim(claim, source)
                # the claim was validated; the accumulators are always the terminal's own
                parsed = Claim(parsed.person, parsed.visit, accumulators, parsed.basket)
                result = settle(ref.policy, ref.catalogue, parsed)
                fund = result.fund_pay_sumamt
                refusal = check_limits(
                    self.limits,
                    self._risk_state(
                        now,
                        fresh is not None,
                        fund,
                        psn_cert,
                        versions["hotlist"][2] if "hotlist" in versions else None,
                    ),
                )
                if dry_run:
                    raise _Quoted(Quote(result, fresh is None, refusal))
                if refusal is not None and approved_by and refusal.code in SOFT_LIMITS:
                    unit.audit(
                        "override",
                        approved_by,
                        {"code": refusal.code, "operator": operator, "psn_cert": _mask(psn_cert)},
                        now,
                    )
                elif refusal is not None:
                    raise CheckoutRefused(refusal)
                appended = unit.append_sale(
                    settled_at=now,
                    offline=fresh is None,
                    operator=operator,
                    payment_method=payment_method,
                    identity={
                        "mdtrt_cert_type": identity.mdtrt_cert_type,
                        "mdtrt_cert_no": identity.mdtrt_cert_no,
                        "card_no": identity.card_no,
                        "card_sn": identity.card_sn,
                    },
                    psn_name=name or identity.name or None,
                    claim=claim,
                    before=accumulators,
                    result=result,
                    catalogue_version=ref.catalogue_version,
                    year=year,
                    ecard_cti=identity.ecard_cti,
                    ecard_exp=identity.ecard_exp,
                )
        except _Quoted as quoted:
            return quoted.quote
        except CheckoutRefused as refused:
            if dry_run:  # a blocked card: the pre-settlement shows it, the sale will audit it
                return Quote(None, fresh is None, refused.refusal)
            self.ledger.audit(
                "refusal",
                operator,
                {"code": refused.code, "psn_cert": _mask(psn_cert), "message": str(refused)},
                now,
            )
            raise
        return SaleOutcome(
            appended.txn_id,
            appended.seq,
            appended.hash,
            fresh is None,
            appended.upload_input["result"],
            appended.upload_input,
        )

    def _fresh_person(self, psn_cert: str) -> Mapping[str, Any] | None:
        if self.platform is None:
            return None
        return self.platform.fetch_person(psn_cert, self.config.platform.presettle_wait_s)

    def _refuse_hotlisted(
        self, identity: Identity, psn_cert: str, hotlist: HotlistIndex | None
    ) -> None:
        entry = hotlist_match(
            hotlist,
            card_no=identity.card_no,
            card_sn=identity.card_sn,
            psn_cert=psn_cert,
        )
        if entry is not None:
            raise CheckoutRefused(
                Refusal(
                    "hotlisted",
                    f"this card or person is blocked by the platform ({entry.get('reason', '')}): "
                    "do not settle on insurance; ask the customer to contact the insurance office "
                    "(a self-pay sale, without insurance, is still possible)",
                )
            )

    def _risk_state(
        self, now: datetime, online: bool, fund: int, psn_cert: str, hotlist_confirmed: str | None
    ) -> RiskState:
        # running totals kept by each commit: one row each however long the history is (and,
        # while the database is unchanged since the last sale, none: `ReadCache`)
        exposure = self.ledger.exposure(psn_cert, now.date().isoformat())
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

    # -- after the sale ---------------------------------------------------------------------

    def refund(self, txn_id: str, *, reason: str, operator: str) -> Appended:
        """Reverse a sale: a new signed entry, and the person's accumulators given back."""
        if not reason.strip():
            raise CheckoutError("bad_refund", "give the reason for the refund (--reason)")
        if not operator.strip():
            raise CheckoutError("bad_refund", "give the supervisor's operator id (--operator)")
        now = self.local_now()
        try:
            with self.ledger.write() as unit:
                appended = unit.append_reversal(
                    orig_txn_id=txn_id, reason=reason, operator=operator, settled_at=now
                )
                unit.audit(
                    "refund",
                    operator,
                    {"txn_id": appended.txn_id, "orig_txn_id": txn_id, "reason": reason},
                    now,
                )
        except LedgerError as exc:
            if type(exc) is LedgerError:
                self.ledger.audit("refusal", operator, {"refund": txn_id, "message": str(exc)}, now)
                raise CheckoutError("refund_refused", str(exc)) from None
            raise
        return appended

    def close_day(self, day: date | None, operator: str | None) -> dict[str, Any]:
        """The signed closure of `day` (default: today in the region)."""
        now = self.local_now()
        return close_day(self.ledger, day or now.date(), operator=operator, at=now)


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _mask(psn_cert: str) -> str:
    """An ID number as the audit log keeps it: region and check character only."""
    return psn_cert[:6] + "*" * max(0, len(psn_cert) - 7) + psn_cert[-1:]

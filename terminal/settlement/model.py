"""The settlement engine's values (settlement.md "Inputs", "Catalogue entries", "Policy").

Amounts are `int` fen; quantities, prices and ratios are `Decimal`; every value is frozen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

__all__ = [
    "ACCT_PARTS",
    "SUPPLEMENT_FUNDS",
    "Accumulators",
    "BasketLine",
    "Catalogue",
    "CatalogueItem",
    "Claim",
    "LineResult",
    "Person",
    "Policy",
    "PoolAccumulators",
    "Scheme",
    "Segment",
    "SettlementResult",
    "Supplement",
    "SupplementAccumulators",
    "Visit",
]

SUPPLEMENT_FUNDS = ("hifmi_pay", "cvlserv_pay", "maf_pay", "oth_pay")
ACCT_PARTS = ("inscp_selfpay", "preselfpay", "overlmt_selfpay", "fulamt_ownpay")


@dataclass(frozen=True, slots=True)
class Segment:
    """A band of the year's cumulative amount, in fen, paid at `ratio`; `upper` None: unbounded."""

    lower: int
    upper: int | None
    ratio: Decimal


@dataclass(frozen=True, slots=True)
class Supplement:
    fund: str
    pool: str
    flags: tuple[str, ...]
    cap: int | None
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class Scheme:
    id: str
    insutype: tuple[str, ...]
    med_type: tuple[str, ...]
    inst_level: tuple[str, ...] | None
    psn_type: tuple[str, ...] | None
    age_min: int | None
    age_max: int | None
    pool: str
    deductible: int
    cap: int | None
    acct_may_pay: tuple[str, ...]
    segments: tuple[Segment, ...]
    supplements: tuple[Supplement, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    region: str
    year: int
    version: str
    valid_from: date
    valid_to: date
    schemes: tuple[Scheme, ...]


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    code: str
    name: str
    category: str
    selfpay_ratio: Decimal | None = None
    price_cap: Decimal | None = None
    restrict_med_types: tuple[str, ...] | None = None
    restrict_flags: tuple[str, ...] | None = None
    unit: str | None = None
    barcodes: tuple[str, ...] = ()
    price: Decimal | None = None
    # trace-codes.md "Catalogue additions"; the engine ignores them
    trac_required: bool = False
    pack_qty: Decimal | None = None
    unit_is_pack: bool = True
    no_code_qty: int = 0


@dataclass(frozen=True, slots=True)
class Catalogue:
    items: Mapping[str, CatalogueItem]
    barcode_index: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Person:
    psn_cert: str
    insutype: str
    psn_type: str
    insuplc_admdvs: str
    flags: tuple[str, ...] = ()
    psn_no: str | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    med_type: str
    inst_level: str
    date: date


@dataclass(frozen=True, slots=True)
class PoolAccumulators:
    dedc_used: int = 0
    inscp_cum: int = 0
    fund_paid: int = 0


@dataclass(frozen=True, slots=True)
class SupplementAccumulators:
    base_cum: int = 0
    paid: int = 0


@dataclass(frozen=True, slots=True)
class Accumulators:
    acct_balance: int = 0
    pools: Mapping[str, PoolAccumulators] = field(default_factory=dict)
    supplements: Mapping[str, SupplementAccumulators] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BasketLine:
    code: str
    qty: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class Claim:
    person: Person
    visit: Visit
    accumulators: Accumulators
    basket: tuple[BasketLine, ...]


@dataclass(frozen=True, slots=True)
class LineResult:
    code: str
    name: str | None
    chrgitm_lv: str | None
    covered: bool
    reason: str | None
    det_item_fee_sumamt: int
    fulamt_ownpay_amt: int
    overlmt_selfpay: int
    preselfpay_amt: int
    inscp_scp_amt: int


@dataclass(frozen=True, slots=True)
class SettlementResult:
    """The split of one bill (settlement.md "Output"), amounts in fen."""

    policy_version: str
    scheme: str
    medfee_sumamt: int
    fulamt_ownpay_amt: int
    overlmt_selfpay: int
    preselfpay_amt: int
    inscp_scp_amt: int
    act_pay_dedc: int
    hifp_pay: int
    pool_prop_selfpay: Decimal
    cvlserv_pay: int
    hifmi_pay: int
    maf_pay: int
    oth_pay: int
    fund_pay_sumamt: int
    psn_part_amt: int
    acct_pay: int
    psn_cash_pay: int
    balc: int
    lines: tuple[LineResult, ...]
    accumulators_after: Accumulators

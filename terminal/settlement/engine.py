"""The settlement computation, exactly as settlement.md "The computation, exactly" states it.

Pure and deterministic: no clock, no I/O, no configuration. Amounts are int fen; each rounding is
one `round_half_up_fen` at the step the spec names (per line for the amount, the price cap's
excess and a B line's first self-pay; per bill for each fund).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from terminal.errors import NoSchemeError
from terminal.settlement.identity import age_on
from terminal.settlement.model import (
    Accumulators,
    BasketLine,
    Catalogue,
    Claim,
    LineResult,
    Person,
    Policy,
    PoolAccumulators,
    Scheme,
    Segment,
    SettlementResult,
    SupplementAccumulators,
    Visit,
)
from terminal.settlement.money import round_half_up_fen

__all__ = ["line_amount", "match_scheme", "price_lines", "settle"]

_HUNDRED = Decimal(100)


_r = round_half_up_fen


def match_scheme(policy: Policy, person: Person, visit: Visit) -> Scheme:
    """The first scheme, in file order, that applies; raises NoSchemeError with the reason."""
    if policy.region != person.insuplc_admdvs:
        raise NoSchemeError(
            f"policy {policy.version} is for region {policy.region}, the person is insured in "
            f"{person.insuplc_admdvs}"
        )
    if not policy.valid_from <= visit.date <= policy.valid_to or visit.date.year != policy.year:
        raise NoSchemeError(
            f"policy {policy.version} is valid {policy.valid_from} to {policy.valid_to} "
            f"(year {policy.year}); the visit is on {visit.date}"
        )
    age = age_on(person.psn_cert, visit.date)
    for scheme in policy.schemes:
        if (
            person.insutype in scheme.insutype
            and visit.med_type in scheme.med_type
            and (scheme.inst_level is None or visit.inst_level in scheme.inst_level)
            and (scheme.psn_type is None or person.psn_type in scheme.psn_type)
            and (scheme.age_min is None or age >= scheme.age_min)
            and (scheme.age_max is None or age <= scheme.age_max)
        ):
            return scheme
    raise NoSchemeError(
        f"no scheme of policy {policy.version} covers insutype {person.insutype}, psn_type "
        f"{person.psn_type}, age {age}, med_type {visit.med_type} at level {visit.inst_level}"
    )


def line_amount(line: BasketLine) -> int:
    """A line's amount `r(qty × price)` in fen (settlement.md "The computation, exactly")."""
    return _r(line.qty * line.price)


def _price_line(catalogue: Catalogue, claim: Claim, i: int) -> LineResult:
    line = claim.basket[i]
    amount = line_amount(line)
    item = catalogue.items.get(line.code)
    reason = None
    if item is None:
        reason = "unknown_code"
    elif item.category == "C":
        reason = "category_c"
    elif not _restriction_met(item.restrict_med_types, item.restrict_flags, claim):
        reason = "restricted"
    name = item.name if item is not None else None
    level = item.category if item is not None else None
    if item is None or reason is not None:
        return LineResult(line.code, name, level, False, reason, amount, amount, 0, 0, 0)
    over = 0
    if item.price_cap is not None and line.price > item.price_cap:
        over = _r((line.price - item.price_cap) * line.qty)
    rest = amount - over
    pre = 0
    if item.category == "B" and item.selfpay_ratio is not None:
        pre = _r(item.selfpay_ratio * Decimal(rest) / _HUNDRED)
    return LineResult(line.code, name, level, True, None, amount, 0, over, pre, rest - pre)


def price_lines(catalogue: Catalogue, claim: Claim) -> tuple[LineResult, ...]:
    """Each basket line's own split (category, restriction, price cap, B ratio), before the pool:
    what a hospital system's fee-line upload answers per line (his-api.md 2204)."""
    return tuple([_price_line(catalogue, claim, i) for i in range(len(claim.basket))])


def _restriction_met(
    med_types: tuple[str, ...] | None, flags: tuple[str, ...] | None, claim: Claim
) -> bool:
    if med_types is not None and claim.visit.med_type not in med_types:
        return False
    return flags is None or any(f in claim.person.flags for f in flags)


def _banded(segments: Iterable[Segment], start: int, length: int) -> Decimal:
    """Σ over segments of (the part of [start, start + length] inside it) × its ratio, in fen."""
    end = start + length
    total = Decimal(0)
    for seg in segments:
        upper = end if seg.upper is None else min(end, seg.upper)
        part = upper - max(start, seg.lower)
        if part > 0:
            total += part * seg.ratio
    return total


def _remaining(cap: int | None, used: int) -> int | None:
    return None if cap is None else max(0, cap - used)


def _capped(amount: int, room: int | None) -> int:
    return amount if room is None else min(amount, room)


def settle(policy: Policy, catalogue: Catalogue, claim: Claim) -> SettlementResult:
    """The split of the claim's bill under the policy; raises NoSchemeError when none applies."""
    scheme = match_scheme(policy, claim.person, claim.visit)
    lines = price_lines(catalogue, claim)
    medfee = fulamt = overlmt = preself = inscp = 0
    for x in lines:  # the bill's five totals in one pass
        medfee += x.det_item_fee_sumamt
        fulamt += x.fulamt_ownpay_amt
        overlmt += x.overlmt_selfpay
        preself += x.preselfpay_amt
        inscp += x.inscp_scp_amt

    acc = claim.accumulators
    pool = acc.pools.get(scheme.pool, PoolAccumulators())
    dedc = min(inscp, max(0, scheme.deductible - pool.dedc_used))
    start = pool.inscp_cum + dedc
    hifp = _capped(
        _r(_banded(scheme.segments, start, inscp - dedc) / _HUNDRED),
        _remaining(scheme.cap, pool.fund_paid),
    )
    funds = {"hifmi_pay": 0, "cvlserv_pay": 0, "maf_pay": 0, "oth_pay": 0}
    supplements = dict(acc.supplements)
    paid_by_supplements = 0
    for supp in scheme.supplements:
        if not all(f in claim.person.flags for f in supp.flags):
            continue
        held = supplements.get(supp.pool, SupplementAccumulators())
        base = inscp - hifp - paid_by_supplements
        pay = _capped(
            _r(_banded(supp.segments, held.base_cum, base) / _HUNDRED),
            _remaining(supp.cap, held.paid),
        )
        funds[supp.fund] += pay
        paid_by_supplements += pay
        supplements[supp.pool] = SupplementAccumulators(held.base_cum + base, held.paid + pay)

    fund_total = hifp + paid_by_supplements
    psn_part = medfee - fund_total
    parts = {
        "inscp_selfpay": inscp - fund_total,
        "preselfpay": preself,
        "overlmt_selfpay": overlmt,
        "fulamt_ownpay": fulamt,
    }
    acct = min(acc.acct_balance, sum(parts[p] for p in set(scheme.acct_may_pay)))
    balance = acc.acct_balance - acct
    pools = dict(acc.pools)
    pools[scheme.pool] = PoolAccumulators(
        pool.dedc_used + dedc, pool.inscp_cum + inscp, pool.fund_paid + hifp
    )
    after = Accumulators(balance, pools, supplements)
    return SettlementResult(
        policy_version=policy.version,
        scheme=scheme.id,
        medfee_sumamt=medfee,
        fulamt_ownpay_amt=fulamt,
        overlmt_selfpay=overlmt,
        preselfpay_amt=preself,
        inscp_scp_amt=inscp,
        act_pay_dedc=dedc,
        hifp_pay=hifp,
        pool_prop_selfpay=_ratio_at(scheme.segments, pool.inscp_cum + inscp),
        cvlserv_pay=funds["cvlserv_pay"],
        hifmi_pay=funds["hifmi_pay"],
        maf_pay=funds["maf_pay"],
        oth_pay=funds["oth_pay"],
        fund_pay_sumamt=fund_total,
        psn_part_amt=psn_part,
        acct_pay=acct,
        psn_cash_pay=psn_part - acct,
        balc=balance,
        lines=lines,
        accumulators_after=after,
    )


def _ratio_at(segments: Iterable[Segment], point: int) -> Decimal:
    """The ratio of the segment with from ≤ point < to (0 when none holds it)."""
    for seg in segments:
        if seg.lower <= point and (seg.upper is None or point < seg.upper):
            return seg.ratio
    return Decimal(0)

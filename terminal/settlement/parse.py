"""Reading and validating the policy TOML, catalogue JSON and claim JSON (settlement.md "Files").

Every error is an `InvalidInputError(source, path, message)` whose text names the file and the
field, e.g. `claim.json: basket[2].qty: "-1" is not a positive quantity`. Money and quantities
given as JSON numbers instead of strings are invalid.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from typing import Any

from terminal.settlement._reader import PLACES, Reader, join_path, show
from terminal.settlement.identity import birth_date
from terminal.settlement.model import (
    ACCT_PARTS,
    SUPPLEMENT_FUNDS,
    Accumulators,
    BasketLine,
    Catalogue,
    CatalogueItem,
    Claim,
    Person,
    Policy,
    PoolAccumulators,
    Scheme,
    Segment,
    Supplement,
    SupplementAccumulators,
    Visit,
)

__all__ = ["accumulators_from_json", "parse_catalogue", "parse_claim", "parse_policy"]

INST_LEVELS = ("pharmacy", "1", "2", "3")


# -- policy ------------------------------------------------------------------------------------


def parse_policy(text: str, source: str = "policy") -> Policy:
    """The policy TOML text as a `Policy`; raises InvalidInputError naming the field."""
    r = Reader(source)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise r.fail("", f"not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses into nested arrays and inline tables
        raise r.fail("", "not valid TOML: nested too deeply") from None
    head = r.table(r.get(doc, "policy", ""), "policy")
    region = r.text(r.get(head, "region", "policy"), "policy.region")
    year = r.integer(r.get(head, "year", "policy"), "policy.year")
    version = r.text(r.get(head, "version", "policy"), "policy.version")
    valid_from = r.day(r.get(head, "valid_from", "policy"), "policy.valid_from")
    valid_to = r.day(r.get(head, "valid_to", "policy"), "policy.valid_to")
    if valid_to < valid_from:
        raise r.fail("policy.valid_to", "is before policy.valid_from")
    raw_schemes = doc.get("scheme", [])
    if not isinstance(raw_schemes, list) or not raw_schemes:
        raise r.fail("scheme", "the policy needs at least one [[scheme]]")
    schemes = tuple(_scheme(r, s, f"scheme[{i}]") for i, s in enumerate(raw_schemes))
    ids = [s.id for s in schemes]
    for i, sid in enumerate(ids):
        if sid in ids[:i]:
            raise r.fail(f"scheme[{i}].id", f"{show(sid)} is used by an earlier scheme")
    return Policy(region, year, version, valid_from, valid_to, schemes)


def _optional_texts(r: Reader, s: dict[str, Any], key: str, path: str) -> tuple[str, ...] | None:
    return r.texts(s[key], join_path(path, key), empty=False) if key in s else None


def _scheme(r: Reader, raw: Any, path: str) -> Scheme:
    s = r.table(raw, path)
    sid = r.text(r.get(s, "id", path), join_path(path, "id"))
    insutype = r.texts(r.get(s, "insutype", path), join_path(path, "insutype"), empty=False)
    med_type = r.texts(r.get(s, "med_type", path), join_path(path, "med_type"), empty=False)
    inst_level = _optional_texts(r, s, "inst_level", path)
    for i, level in enumerate(inst_level or ()):
        if level not in INST_LEVELS:
            raise r.fail(f"{path}.inst_level[{i}]", f"{show(level)} is not one of {INST_LEVELS}")
    psn_type = _optional_texts(r, s, "psn_type", path)
    age_min = r.integer(s["age_min"], join_path(path, "age_min")) if "age_min" in s else None
    age_max = r.integer(s["age_max"], join_path(path, "age_max")) if "age_max" in s else None
    pool = r.text(r.get(s, "pool", path), join_path(path, "pool"))
    deductible = r.amount(s.get("deductible", "0"), join_path(path, "deductible"))
    cap = r.amount(s["cap"], join_path(path, "cap")) if "cap" in s else None
    acct = r.texts(s.get("acct_may_pay", []), join_path(path, "acct_may_pay"))
    for i, part in enumerate(acct):
        if part not in ACCT_PARTS:
            raise r.fail(f"{path}.acct_may_pay[{i}]", f"{show(part)} is not one of {ACCT_PARTS}")
    segments = _segments(r, s.get("segments", []), join_path(path, "segments"))
    raw_supps = s.get("supplement", [])
    if not isinstance(raw_supps, list):
        raise r.fail(join_path(path, "supplement"), "expected [[scheme.supplement]] tables")
    supps = tuple(_supplement(r, x, f"{path}.supplement[{i}]") for i, x in enumerate(raw_supps))
    return Scheme(
        sid,
        insutype,
        med_type,
        inst_level,
        psn_type,
        age_min,
        age_max,
        pool,
        deductible,
        cap,
        acct,
        segments,
        supps,
    )


def _supplement(r: Reader, raw: Any, path: str) -> Supplement:
    s = r.table(raw, path)
    fund = r.text(r.get(s, "fund", path), join_path(path, "fund"))
    if fund not in SUPPLEMENT_FUNDS:
        raise r.fail(join_path(path, "fund"), f"{show(fund)} is not one of {SUPPLEMENT_FUNDS}")
    pool = r.text(r.get(s, "pool", path), join_path(path, "pool"))
    flags = r.texts(s.get("flags", []), join_path(path, "flags"))
    cap = r.amount(s["cap"], join_path(path, "cap")) if "cap" in s else None
    segments = _segments(r, s.get("segments", []), join_path(path, "segments"))
    return Supplement(fund, pool, flags, cap, segments)


def _segments(r: Reader, raw: Any, path: str) -> tuple[Segment, ...]:
    if not isinstance(raw, list):
        raise r.fail(path, f"{show(raw)} is not a list of segments")
    out: list[Segment] = []
    for i, item in enumerate(raw):
        p = f"{path}[{i}]"
        seg = r.table(item, p)
        lower = r.amount(r.get(seg, "from", p), f"{p}.from")
        upper = r.amount(seg["to"], f"{p}.to") if "to" in seg else None
        ratio = r.ratio(r.get(seg, "ratio", p), f"{p}.ratio")
        if upper is not None and upper <= lower:
            raise r.fail(f"{p}.to", "must be above from")
        if out:
            prev = out[-1]
            if prev.upper is None:
                raise r.fail(f"{p}.from", "follows an unbounded segment (only the last has no to)")
            if lower < prev.upper:
                raise r.fail(f"{p}.from", "overlaps the previous segment (segments are sorted)")
        out.append(Segment(lower, upper, ratio))
    return tuple(out)


# -- catalogue ---------------------------------------------------------------------------------


def parse_catalogue(data: object, source: str = "catalogue") -> Catalogue:
    """The catalogue JSON document (a list) as a `Catalogue` indexed by code and barcode."""
    r = Reader(source)
    if not isinstance(data, list):
        raise r.fail("", "the catalogue must be a JSON array of items")
    items: dict[str, CatalogueItem] = {}
    barcodes: dict[str, str] = {}
    for i, raw in enumerate(data):
        path = f"[{i}]"
        e = r.table(raw, path)
        code = r.text(r.get(e, "code", path), f"{path}.code")
        if code in items:
            raise r.fail(f"{path}.code", f"{show(code)} appears twice in the catalogue")
        name = r.text(r.get(e, "name", path), f"{path}.name")
        category = r.get(e, "category", path)
        if category not in ("A", "B", "C"):
            raise r.fail(f"{path}.category", f'{show(category)} is not one of "A", "B", "C"')
        ratio = None
        if "selfpay_ratio" in e:
            ratio = r.ratio(e["selfpay_ratio"], f"{path}.selfpay_ratio")
        elif category == "B":
            raise r.fail(f"{path}.selfpay_ratio", "is missing (a category B item needs one)")
        cap = (
            r.decimal(e["price_cap"], f"{path}.price_cap", "non-negative price", 4)
            if "price_cap" in e
            else None
        )
        price = (
            r.decimal(e["price"], f"{path}.price", "non-negative price", 4)
            if "price" in e
            else None
        )
        med = (
            r.texts(e["restrict_med_types"], f"{path}.restrict_med_types", empty=False)
            if "restrict_med_types" in e
            else None
        )
        flags = (
            r.texts(e["restrict_flags"], f"{path}.restrict_flags", empty=False)
            if "restrict_flags" in e
            else None
        )
        unit = r.text(e["unit"], f"{path}.unit") if "unit" in e else None
        codes = r.texts(e.get("barcodes", []), f"{path}.barcodes")
        for j, barcode in enumerate(codes):
            if barcode in barcodes and barcodes[barcode] != code:
                raise r.fail(f"{path}.barcodes[{j}]", f"{show(barcode)} belongs to another item")
            barcodes[barcode] = code
        items[code] = CatalogueItem(
            code, name, category, ratio, cap, med, flags, unit, codes, price, *_trace(r, e, path)
        )
    return Catalogue(items, barcodes)


def _trace(r: Reader, e: dict[str, Any], path: str) -> tuple[bool, Decimal | None, bool, int]:
    """The trace fields of an item (trace-codes.md "Catalogue additions")."""
    required, unit_is_pack = e.get("trac_required", False), e.get("unit_is_pack", True)
    for key, value in (("trac_required", required), ("unit_is_pack", unit_is_pack)):
        if type(value) is not bool:
            raise r.fail(f"{path}.{key}", f"{show(value)} is not true or false")
    pack = None
    if "pack_qty" in e:
        pack = r.decimal(e["pack_qty"], f"{path}.pack_qty", "positive quantity", 3)
        if pack <= 0:
            raise r.fail(f"{path}.pack_qty", f"{show(e['pack_qty'])} is not a positive quantity")
    elif not unit_is_pack:
        raise r.fail(f"{path}.pack_qty", "is missing (an item counted in units needs one)")
    raw = e.get("no_code_qty", "0")
    if type(raw) is not str or not raw.isascii() or not raw.isdigit():
        raise r.fail(f"{path}.no_code_qty", f"{show(raw)} is not a whole number of packages")
    return required, pack, unit_is_pack, int(raw)


# -- claim -------------------------------------------------------------------------------------


def parse_claim(data: object, source: str = "claim") -> Claim:
    """The claim JSON document as a `Claim`; raises InvalidInputError naming the field."""
    r = Reader(source)
    doc = r.table(data, "")
    p = r.table(r.get(doc, "person", ""), "person")
    psn_cert = r.text_at(p, "psn_cert", "person")
    if birth_date(psn_cert) is None:
        raise r.fail(
            "person.psn_cert",
            f"{show(psn_cert)} is not an 18-character ID number with a valid birth date",
        )
    person = Person(
        psn_cert=psn_cert,
        insutype=r.text_at(p, "insutype", "person"),
        psn_type=r.text_at(p, "psn_type", "person"),
        insuplc_admdvs=r.text_at(p, "insuplc_admdvs", "person"),
        flags=r.texts(p.get("flags", []), "person.flags"),
        psn_no=r.text_at(p, "psn_no", "person", empty=True) if "psn_no" in p else None,
    )
    v = r.table(r.get(doc, "visit", ""), "visit")
    level = r.text_at(v, "inst_level", "visit")
    if level not in INST_LEVELS:
        raise r.fail("visit.inst_level", f"{show(level)} is not one of {INST_LEVELS}")
    visit = Visit(
        med_type=r.text_at(v, "med_type", "visit"),
        inst_level=level,
        date=r.day(r.get(v, "date", "visit"), "visit.date"),
    )
    acc = accumulators_from_json(doc.get("accumulators", {}), source)
    return Claim(person, visit, acc, parse_basket(r.get(doc, "basket", ""), source))


def parse_basket(data: object, source: str = "claim") -> tuple[BasketLine, ...]:
    """A claim's `basket` (a non-empty list of `{code, qty, price}`) as `BasketLine`s."""
    r = Reader(source)
    if not isinstance(data, list) or not data:
        raise r.fail("basket", "must be a non-empty list of lines")
    basket = []
    for i, line in enumerate(data):
        # the usual line, checked in one expression; anything else is read field by field below,
        # which names what is wrong
        if type(line) is dict:
            code, qty, price = line.get("code"), line.get("qty"), line.get("price")
            if (
                type(code) is str
                and code
                and type(qty) is str
                and _QTY(qty)
                and type(price) is str
                and _PRICE(price)
            ):
                amount = Decimal(qty)
                if amount > 0:
                    basket.append(BasketLine(code, amount, Decimal(price)))
                    continue
        basket.append(_basket_line(r, line, f"basket[{i}]"))
    return tuple(basket)


_QTY = PLACES[3].fullmatch
_PRICE = PLACES[4].fullmatch


def _basket_line(r: Reader, raw: object, path: str) -> BasketLine:
    line = r.table(raw, path)
    code = r.text_at(line, "code", path)
    qty = r.decimal_at(line, "qty", path, "positive quantity", 3)
    if qty <= 0:
        raise r.fail(f"{path}.qty", f"{show(line['qty'])} is not a positive quantity")
    price = r.decimal_at(line, "price", path, "non-negative price", 4)
    return BasketLine(code, qty, price)


def accumulators_from_json(data: object, source: str, path: str = "accumulators") -> Accumulators:
    """Claim-shaped accumulators; anything missing is zero."""
    r = Reader(source)
    doc = r.table(data, path)
    balance = r.amount_at(doc, "acct_balance", path)
    pools: dict[str, PoolAccumulators] = {}
    for name, raw in r.table(doc.get("pools", {}), join_path(path, "pools")).items():
        p = f"{path}.pools.{name}"
        f = r.table(raw, p)
        pools[name] = PoolAccumulators(
            r.amount_at(f, "dedc_used", p),
            r.amount_at(f, "inscp_cum", p),
            r.amount_at(f, "fund_paid", p),
        )
    supps: dict[str, SupplementAccumulators] = {}
    for name, raw in r.table(doc.get("supplements", {}), join_path(path, "supplements")).items():
        p = f"{path}.supplements.{name}"
        f = r.table(raw, p)
        supps[name] = SupplementAccumulators(
            r.amount_at(f, "base_cum", p), r.amount_at(f, "paid", p)
        )
    return Accumulators(balance, pools, supps)

"""The platform's recomputation (platform-api.md "Messages" for pre-settlement, "Settlement
upload", "Settlement reversal"): the one engine of `terminal/settlement` run with the platform's
policy, catalogue and accumulators; a sale's outcome, a reversal's, and the accumulators each
moves."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from sync.hub import statements as q
from sync.hub._common import Transaction, amount, need
from sync.hub.errors import Refused
from sync.hub.persons import accumulators_body, accumulators_of, store_accumulators
from sync.hub.reference import ReferenceData
from sync.protocol.canonical import canonical_json
from sync.protocol.hotlist import hotlist_match
from sync.protocol.upload import RECONCILED_AMOUNTS
from terminal.errors import InvalidInputError, NoSchemeError
from terminal.settlement import parse_claim, result_to_json, settle
from terminal.settlement.model import Catalogue
from terminal.settlement.money import format_fen

__all__ = [
    "PERSON_ATTRIBUTES",
    "UNHANDLED",
    "lock_original",
    "outcome",
    "platform_person",
    "presettle",
    "settle_entry",
    "settle_reversal",
]

# the person's attributes the platform recomputes with from its own record
PERSON_ATTRIBUTES = ("insutype", "psn_type", "flags")
# what a value nobody checked for can raise inside the settlement engine (a 29-digit quantity,
# a wrong type deep in a claim): answered for the one message, never a failed batch
UNHANDLED = (ArithmeticError, ValueError, TypeError, KeyError, AttributeError, IndexError)


def presettle(
    conn: Connection, reference: ReferenceData, data: Mapping[str, Any]
) -> dict[str, Any]:
    """2101/2206/2303: the split with the platform's accumulators; nothing is recorded."""
    claim = need(data, "claim", dict)
    person = claim.get("person")
    visit = claim.get("visit")
    if not isinstance(person, Mapping) or not isinstance(visit, Mapping):
        raise Refused("bad_input", "input.claim: person and visit are required")
    policy_version = data.get("policy_version")
    policy = (
        reference.newest_policy(conn)
        if policy_version is None
        else reference.policy(conn, str(policy_version))
    )
    catalogue_version = data.get("catalogue_version")
    catalogue = (
        reference.catalogue(conn, catalogue_version)
        if isinstance(catalogue_version, int)
        else reference.newest_catalogue(conn)
    )
    if policy is None or catalogue is None:
        raise Refused("bad_input", "no published policy or catalogue to settle with")
    year = int(str(visit.get("date", "0000"))[:4])
    psn_cert = str(person.get("psn_cert", ""))
    accumulators = accumulators_of(conn, psn_cert, year)
    known = q.PERSON.scalar(conn, {"psn_cert": psn_cert})
    if known is not None:
        person = platform_person(person, json.loads(known))
    try:
        parsed = parse_claim(
            {**claim, "person": person, "accumulators": accumulators}, "input.claim"
        )
        return {"result": result_to_json(settle(policy, catalogue, parsed))}
    except InvalidInputError as exc:
        raise Refused("bad_input", str(exc)) from None
    except NoSchemeError as exc:
        raise Refused("bad_input", f"no scheme applies: {exc}") from None


def settle_entry(
    conn: Connection,
    tx: Transaction,
    reference: ReferenceData,
    txn_id: str,
    kind: str,
    data: Mapping[str, Any],
    setl_date: str,
) -> dict[str, Any]:
    """The outcome (status, reason, result, kept, accumulators) of an entry whose chain
    holds; the accumulators and the original of a reversal are updated here."""
    if kind == "reversal":
        return settle_reversal(conn, txn_id, data)
    return _settle_sale(conn, tx, reference, data, setl_date)


def _settle_sale(
    conn: Connection,
    tx: Transaction,
    reference: ReferenceData,
    data: Mapping[str, Any],
    setl_date: str,
) -> dict[str, Any]:
    claim, result = data["claim"], data["result"]
    policy = reference.policy(conn, str(result.get("policy_version", "")))
    if policy is None:
        return outcome("rejected", "unknown_policy")
    catalogue = reference.catalogue(conn, data["catalogue_version"])
    if catalogue is None:
        return outcome("rejected", "unknown_catalogue")
    person = claim.get("person", {})
    psn_cert = person.get("psn_cert", "")
    by_card = data.get("mdtrt_cert_type") == "03"
    if hotlist_match(
        reference.hotlist_at(conn, tx, data["settled_at"]),
        card_no=data.get("card_no") if by_card else None,
        card_sn=data.get("card_sn") if by_card else None,
        psn_cert=psn_cert,
    ):
        return outcome("rejected", "hotlisted")
    year = int(str(claim.get("visit", {}).get("date", setl_date))[:4])
    held = accumulators_body(conn, psn_cert, year, for_update=True)
    known = q.PERSON.scalar(conn, {"psn_cert": psn_cert})
    if known is None:
        q.INSERT_PERSON.run(
            conn,
            {
                "psn_cert": psn_cert,
                "person": canonical_json(person).decode(),
                "unregistered": True,
            },
        )
    accumulators = json.loads(held) if held else {}
    # his-api.md: a hospital desk's sale with acct_used_flag "0" leaves the personal account out
    no_account = claim.get("visit", {}).get("acct_used_flag") == "0"
    used = {**accumulators, "acct_balance": "0.00"} if no_account else accumulators
    try:
        ours_person = person if known is None else platform_person(person, json.loads(known))
        parsed = parse_claim({**claim, "person": ours_person, "accumulators": used}, "upload")
        if _above_catalogue(catalogue, parsed.basket):
            return outcome("rejected", "price_above_catalogue")
        ours = settle(policy, catalogue, parsed)
    except (InvalidInputError, NoSchemeError) as exc:
        return outcome("rejected", "bad_claim", result=str(exc))
    except UNHANDLED as exc:  # a value the engine cannot handle: this sale alone is refused
        return outcome("rejected", "bad_claim", result=f"{type(exc).__name__}: {exc}"[:200])
    ours_json = result_to_json(ours)
    theirs = result.get("setlinfo", {})
    same = all(
        theirs.get(k) == v or amount(theirs.get(k)) == amount(v)  # the same text: equal
        for k, v in ours_json["setlinfo"].items()
        if k != "pool_prop_selfpay"
    )
    after = ours_json["accumulators_after"]
    if no_account:
        after = {**after, "acct_balance": accumulators.get("acct_balance", "0.00")}
    store_accumulators(conn, psn_cert, year, after, exists=held is not None)
    kept = {k: ours_json["setlinfo"][k] for k in RECONCILED_AMOUNTS}
    moved = {"before": accumulators, "after": after}
    return outcome(
        "accepted" if same else "adjusted",
        None,
        result=None if same else canonical_json(ours_json).decode(),
        kept=canonical_json(kept).decode(),
        accumulators=canonical_json(moved).decode(),
    )


def settle_reversal(conn: Connection, txn_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The outcome of reversal `txn_id`; an accepted one marks its original reversed and gives
    back what the original took from the person's accumulators. Only a device of the
    original's institution (`fixmedins_code`) reverses it."""
    lock_original(conn, data["orig_txn_id"])
    orig = q.ENTRY_BY_TXN.first(conn, {"txn_id": data["orig_txn_id"]})
    if orig is None or orig.status in ("held", "pending"):
        # waits for its original, without holding up this device's chain
        return outcome("held", "original")
    if orig.kind == "reversal" or orig.status == "rejected":
        return outcome("rejected", "not_reversible")
    if _institution(conn, orig.dev_no) != _institution(conn, txn_id.rsplit("-", 1)[0]):
        return outcome("rejected", "not_reversible")
    if orig.reversed_by is not None and orig.reversed_by != txn_id:
        return outcome("rejected", "already_reversed")
    kept = json.loads(orig.kept)
    negated = {k: _negate(v) for k, v in kept.items()}
    q.MARK_REVERSED.run(
        conn, {"key": orig.txn_id, "key_date": orig.setl_date, "reversed_by": txn_id}
    )
    _give_back(conn, orig)
    return outcome("accepted", None, kept=canonical_json(negated).decode())


def _institution(conn: Connection, dev_no: str) -> str | None:
    device = q.DEVICE.first(conn, {"dev_no": dev_no})
    return None if device is None else str(device.fixmedins_code)


def platform_person(claimed: Mapping[str, Any], held: Mapping[str, Any]) -> dict[str, Any]:
    """The claim's person with the platform's own `insutype`, `psn_type` and `flags` (the
    person it holds): the claim's copies are only the terminal's view (platform-api.md "Trust
    rules"). An attribute the platform's record lacks is left out, not taken from the claim."""
    person = dict(claimed)
    for field in PERSON_ATTRIBUTES:
        if field in held:
            person[field] = held[field]
        else:
            person.pop(field, None)
    return person


def _above_catalogue(catalogue: Catalogue, basket: Any) -> bool:
    """True when a line's unit price is above the catalogue's `price` for its code."""
    for line in basket:
        item = catalogue.items.get(line.code)
        if item is not None and item.price is not None and line.price > item.price:
            return True
    return False


def _give_back(conn: Connection, orig: Any) -> None:
    """Undo what the original took from the person's accumulators: current − (after −
    before), with the accumulators the platform settled it with."""
    data = json.loads(orig.input)
    claim = data["claim"]
    year = int(str(claim.get("visit", {}).get("date", orig.setl_date))[:4])
    psn_cert = claim["person"]["psn_cert"]
    moved = json.loads(orig.accumulators) if orig.accumulators else {}
    held = accumulators_body(conn, psn_cert, year, for_update=True)
    current = json.loads(held) if held else {}
    restored = _subtract_delta(current, moved.get("before", {}), moved.get("after", {}))
    store_accumulators(conn, psn_cert, year, restored, exists=held is not None)


def lock_original(conn: Connection, txn_id: str) -> None:
    """PostgreSQL: serialise a sale's settling and the reversals of it on a lock for its
    `txn_id`, held until the transaction ends. A reversal from another terminal may arrive at
    another hub process while the sale's transaction is still open: without the lock, neither
    would see the other and the reversal would stay held for an original that has settled."""
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(txn_id.encode()).digest()[:8], "big", signed=True)
        q.ORIGINAL_LOCK.run(conn, {"key": key})


def outcome(
    status: str,
    reason: str | None,
    *,
    result: str | None = None,
    kept: str | None = None,
    accumulators: str | None = None,
) -> dict[str, Any]:
    """The columns settling an entry writes."""
    return {
        "status": status,
        "reason": reason,
        "result": result,
        "kept": kept,
        "accumulators": accumulators,
    }


def _negate(value: str) -> str:
    fen = amount(value)
    return format_fen(-fen) if fen is not None else value


def _subtract_delta(current: Any, before: Any, after: Any) -> Any:
    """current − (after − before), field by field, for the claim-shaped accumulators."""
    if isinstance(current, Mapping):
        out = dict(current)
        keys = set(before if isinstance(before, Mapping) else {}) | set(
            after if isinstance(after, Mapping) else {}
        )
        for k in keys:
            b = before.get(k) if isinstance(before, Mapping) else None
            a = after.get(k) if isinstance(after, Mapping) else None
            out[k] = _subtract_delta(current.get(k), b, a)
        return out
    cur, b, a = amount(current) or 0, amount(before) or 0, amount(after) or 0
    return format_fen(cur - (a - b))

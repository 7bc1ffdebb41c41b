"""Taking in signed reference data: checked against the platform root before anything is used.

`accept_refdata(ledger, obj, root, now)` is the one door for a new catalogue, policy, trust list or
hotlist, whether it came by sync or on a file (`medpos refdata import`): the root signature, the
version (lower than held: refused; equal: the held one is confirmed current), a delta's base
version, and the document itself (parsed as it will be used) are all checked first; a refused
object leaves the held version in use and says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from sync.protocol.refdata import RefdataError, apply_delta, verify_refdata
from terminal.errors import IdentityError, InvalidInputError, MedposError
from terminal.identity.ecard import parse_trust_list
from terminal.ledger import SqliteLedger, WriteUnit
from terminal.settlement import accumulators_from_json, parse_catalogue, parse_policy
from terminal.settlement.money import parse_money

__all__ = ["Accepted", "RefdataRefused", "accept_refdata"]

STORED_KINDS = ("catalogue", "policy", "trustlist", "hotlist", "persons")


class RefdataRefused(MedposError):
    """Reference data that was not taken in; the held version stays in use."""


@dataclass(frozen=True, slots=True)
class Accepted:
    kind: str
    version: int
    outcome: str  # "stored" | "confirmed"


def accept_refdata(
    ledger: SqliteLedger, obj: object, root: ed25519.Ed25519PublicKey, now: datetime
) -> Accepted:
    """Check and store one refdata object at `now` (the region's local time); raises
    `RefdataRefused` saying why."""
    try:
        data = verify_refdata(obj, root)
    except RefdataError as exc:
        raise RefdataRefused(str(exc)) from None
    kind, version = data["kind"], data["version"]
    if kind == "trace":
        return _accept_trace(ledger, data, now)
    if kind not in STORED_KINDS:
        raise RefdataRefused(f"{kind}: this terminal takes {kind} through sync only")
    held = ledger.get_refdata(kind)
    if held is not None and version < held.version:
        raise RefdataRefused(
            f"{kind} version {version} is older than the held version {held.version}: refused, "
            "the held one stays in use"
        )
    if held is not None and version == held.version:
        with ledger.write() as unit:
            unit.confirm_refdata(kind, now)
            unit.commit()
        return Accepted(kind, version, "confirmed")
    body = data["body"]
    if data.get("base_version") is not None:
        if held is None or held.version != data["base_version"]:
            raise RefdataRefused(
                f"{kind} delta from version {data['base_version']} does not apply to the held "
                f"version {held.version if held else 'none'}: ask for the whole document"
            )
        try:
            body = apply_delta(kind, _held_document(kind, held.body), body)
        except RefdataError as exc:
            raise RefdataRefused(str(exc)) from None
        if isinstance(body, dict):  # a hotlist document names its own version
            body.update(version=version, issued_at=data["issued_at"])
    text = _checked_text(kind, version, body)
    with ledger.write() as unit:
        unit.put_refdata(kind, version, data["issued_at"], text, data["sig"], now)
        if kind == "persons":
            _load_persons(ledger, unit, body, now)
        unit.audit("refdata", None, {"kind": kind, "version": version}, now)
        unit.commit()
    return Accepted(kind, version, "stored")


def _accept_trace(ledger: SqliteLedger, data: dict[str, Any], now: datetime) -> Accepted:
    """The other terminals' codes (trace-codes.md refdata kind `trace`): a delta since the held
    version, or (`base_version` null) the whole set. The codes go to their own table; the
    refdata row keeps the version only (a province's codes are not one JSON text)."""
    version, held = data["version"], ledger.get_refdata("trace")
    body = data["body"]
    codes = body.get("codes") if isinstance(body, dict) else None
    if (
        not isinstance(codes, dict)
        or not isinstance(codes.get("added", []), list)
        or not isinstance(codes.get("removed", []), list)
        or not all(
            isinstance(e, dict)
            and isinstance(e.get("code"), str)
            and isinstance(e.get("status"), str)
            for e in codes.get("added", [])
        )
    ):
        raise RefdataRefused(
            f"trace version {version}: the body is not {{codes: {{added, removed}}}}"
        )
    if held is not None and version < held.version:
        raise RefdataRefused(
            f"trace version {version} is older than the held version {held.version}: refused"
        )
    if held is not None and version == held.version:
        with ledger.write() as unit:
            unit.confirm_refdata("trace", now)
            unit.commit()
        return Accepted("trace", version, "confirmed")
    base = data.get("base_version")
    if base is not None and (held is None or held.version != base):
        raise RefdataRefused(
            f"trace delta from version {base} does not apply to the held version "
            f"{held.version if held else 'none'}: ask for the whole set"
        )
    with ledger.write() as unit:
        unit.apply_trace_refdata(body, whole=base is None)
        unit.put_refdata("trace", version, data["issued_at"], "{}", data["sig"], now)
        unit.commit()
    return Accepted("trace", version, "stored")


def _load_persons(ledger: SqliteLedger, unit: WriteUnit, persons: list[Any], now: datetime) -> None:
    """The platform's persons file into the person cache; accumulators only for persons with no
    sale waiting in the outbox (the platform's figures cannot include those)."""
    year = now.date().year
    for entry in persons:
        person, acc = entry["person"], entry.get("accumulators") or {}
        balance = acc.get("acct_balance")
        unsynced = ledger.has_unsynced(person["psn_cert"])
        unit.upsert_person(
            person,
            source="platform",
            at=now,
            acct_balance=parse_money(balance, "acct_balance")
            if balance is not None and not unsynced
            else None,
        )
        if not unsynced:
            unit.set_accumulators(person["psn_cert"], year, acc)


def _check_persons(body: Any, where: str) -> None:
    if not isinstance(body, list):
        raise RefdataRefused(f"{where}: the persons file is a list of {{person, accumulators}}")
    for i, entry in enumerate(body):
        person = entry.get("person") if isinstance(entry, dict) else None
        if not isinstance(person, dict):
            raise RefdataRefused(f"{where}: [{i}].person is missing")
        for field in ("psn_cert", "insutype", "psn_type", "insuplc_admdvs"):
            if not isinstance(person.get(field), str):
                raise RefdataRefused(f"{where}: [{i}].person.{field} must be text")
        acc = entry.get("accumulators", {})
        if acc:
            accumulators_from_json(acc, f"{where}: [{i}].accumulators")


def _held_document(kind: str, text: str) -> Any:
    return text if kind == "policy" else json.loads(text)


def _checked_text(kind: str, version: int, body: Any) -> str:
    """The document as stored, once it parses as it will be used."""
    where = f"{kind} version {version}"
    try:
        if kind == "policy":
            if not isinstance(body, str):
                raise RefdataRefused(f"{where}: the policy body must be the TOML text")
            parse_policy(body, where)
            return body
        if kind == "catalogue":
            parse_catalogue(body, where)
        elif kind == "trustlist":
            parse_trust_list(body, where)
        elif kind == "persons":
            _check_persons(body, where)
        elif not isinstance(body, dict) or not isinstance(body.get("entries"), list):
            raise RefdataRefused(f"{where}: a hotlist is an object with an entries list")
    except (InvalidInputError, IdentityError) as exc:
        raise RefdataRefused(
            f"{where} is malformed ({exc}): the held version stays in use"
        ) from exc
    return json.dumps(body, ensure_ascii=False, sort_keys=True)

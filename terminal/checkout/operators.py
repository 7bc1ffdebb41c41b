"""Operators: who may sell, refund and close the day, their PINs, and their sessions.

An operator is `{id, name, role}` with a PIN kept as a salted scrypt hash in the ledger's `meta`
table (key `operator/<id>`), so it travels with the terminal's database and its backups. Roles:
`cashier` sells; `supervisor` also approves refunds, soft-limit overrides and the day closure;
`admin` also manages operators. Sign-in and sign-out are audited and, when the terminal is
enrolled and the platform answers in time, told to the platform (9001 / 9002).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from terminal.checkout.service import CheckoutService
from terminal.errors import CheckoutError, SyncError

__all__ = [
    "ROLES",
    "Operator",
    "PlatformCalls",
    "add_operator",
    "check_pin",
    "get_operator",
    "list_operators",
    "seed_demo_operators",
    "sign_session",
]

ROLES = ("cashier", "supervisor", "admin")
_RANK = {role: i for i, role in enumerate(ROLES)}
_PREFIX = "operator/"
# scrypt at n=2**14 costs about 30 ms: slow enough to make guessing a PIN from a stolen database
# expensive, fast enough for a supervisor at the counter
_N, _R, _P = 2**14, 8, 1


@dataclass(frozen=True, slots=True)
class Operator:
    id: str
    name: str
    role: str

    def may(self, role: str) -> bool:
        """True when this operator's role is `role` or above it."""
        return _RANK[self.role] >= _RANK[role]


def _hash_pin(pin: str, salt: bytes) -> str:
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def _valid_pin(pin: str) -> bool:
    return pin.isdigit() and 4 <= len(pin) <= 12


def add_operator(
    service: CheckoutService, op_id: str, name: str, role: str, pin: str, *, actor: str | None
) -> Operator:
    """Add or replace an operator (audited as a configuration change)."""
    op_id = op_id.strip()
    if not op_id or not op_id.isalnum() or len(op_id) > 20:
        raise CheckoutError("bad_operator", "an operator id is 1 to 20 letters or digits")
    if role not in ROLES:
        raise CheckoutError("bad_operator", f"role must be one of {', '.join(ROLES)}")
    if not _valid_pin(pin):
        raise CheckoutError("bad_operator", "a PIN is 4 to 12 digits")
    record = {
        "name": name.strip() or op_id,
        "role": role,
        "pin": _hash_pin(pin, secrets.token_bytes(16)),
    }
    now = service.local_now()
    with service.ledger.write() as unit:
        unit.set_meta(_PREFIX + op_id, json.dumps(record, ensure_ascii=False))
        unit.audit("config", actor, {"operator": op_id, "role": role, "name": record["name"]}, now)
        unit.commit()
    return Operator(op_id, record["name"], role)


def _record(service: CheckoutService, op_id: str) -> dict[str, Any] | None:
    raw = service.ledger.get_meta(_PREFIX + op_id.strip())
    return json.loads(raw) if raw else None


def get_operator(service: CheckoutService, op_id: str) -> Operator | None:
    record = _record(service, op_id)
    return None if record is None else Operator(op_id.strip(), record["name"], record["role"])


def list_operators(service: CheckoutService) -> list[Operator]:
    out = []
    for key, value in service.ledger.metas_under(_PREFIX).items():
        record = json.loads(value)
        out.append(Operator(key[len(_PREFIX) :], record["name"], record["role"]))
    return out


def check_pin(service: CheckoutService, op_id: str, pin: str, role: str = "cashier") -> Operator:
    """The operator `op_id` if `pin` is theirs and their role is at least `role`; else refused.

    The refusal does not say whether the id or the PIN was wrong."""
    record = _record(service, op_id) if op_id.strip() else None
    if record is None:
        _hash_pin(pin, b"0" * 16)  # the same time whether or not the id exists
        raise CheckoutError("bad_pin", "operator id or PIN not recognised: try again")
    _, salt, _ = record["pin"].split("$")
    if not hmac.compare_digest(_hash_pin(pin, bytes.fromhex(salt)), record["pin"]):
        raise CheckoutError("bad_pin", "operator id or PIN not recognised: try again")
    operator = Operator(op_id.strip(), record["name"], record["role"])
    if not operator.may(role):
        raise CheckoutError(
            "not_allowed", f"{operator.name} is a {operator.role}: this needs a {role}'s approval"
        )
    return operator


# The demo site's staff (embedded default only): a cashier, a supervisor and an administrator.
DEMO_OPERATORS = (
    ("1001", "王芳", "cashier", "1234"),
    ("2001", "李强", "supervisor", "2468"),
    ("9001", "张敏", "admin", "9999"),
)


def seed_demo_operators(service: CheckoutService) -> None:
    """Give a demo terminal with no operators the demo staff."""
    if list_operators(service):
        return
    for op_id, name, role, pin in DEMO_OPERATORS:
        add_operator(service, op_id, name, role, pin, actor="demo")


class PlatformCalls(Protocol):
    """The platform as sign-in needs it (the sync service of an enrolled terminal)."""

    def call(self, infno: str, data: Mapping[str, Any], timeout_s: float) -> dict[str, Any]: ...


def sign_session(
    service: CheckoutService,
    operator: str,
    name: str,
    signing_in: bool,
    platform: PlatformCalls | None = None,
) -> dict[str, Any]:
    """Record a sign-in or sign-out, telling the platform (9001 / 9002) when it answers in time.

    Offline, or with no platform, the session is recorded here only and the sales still carry
    the operator."""
    key = f"sign_no/{operator}"
    sign_no = "" if signing_in else (service.ledger.get_meta(key) or "")
    answered = False
    if platform is not None:
        data = {"opter": operator, "opter_name": name}
        if not signing_in:
            data["sign_no"] = sign_no
        try:
            answer = platform.call(
                "9001" if signing_in else "9002",
                data,
                timeout_s=service.config.platform.presettle_wait_s,
            )
            if answer.get("infcode") == 0:
                answered = True
                if signing_in:
                    sign_no = str(answer.get("output", {}).get("sign_no", ""))
        except SyncError:
            pass
    now = service.local_now()
    with service.ledger.write() as unit:
        if signing_in:
            unit.set_meta(key, sign_no)
        unit.audit(
            "sign_in" if signing_in else "sign_out",
            operator,
            {"name": name, "sign_no": sign_no, "platform": answered},
            now,
        )
        unit.commit()
    return {"operator": operator, "sign_no": sign_no, "platform": answered}

"""The HIS API's message handling (his-api.md "Transport"): the national envelope in, the
national answer out, idempotence by `msgid`, the operator check, the audit of every refusal and
change, and one ledger unit of work per message.

A handler runs inside `with ledger.write() as unit`: the visit's change, its audit entry with the
`msgid` and the stored answer commit together, so a kill -9 before the answer leaves either
nothing (the resend is judged afresh) or the stored answer (the resend gets it byte for byte).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from terminal.checkout.service import CheckoutService
from terminal.his.numbers import text_of
from terminal.his.refusal import HisRefused
from terminal.ledger import SqliteLedger, WriteUnit
from terminal.ledger.his import his_message, prune_his_answers, remember_his_answer
from terminal.ledger.his_desk import person_by_psn_no, record_deferred, signed_in

__all__ = ["MAX_BODY", "Call", "HisDesk", "Handler"]

MAX_BODY = 1 << 20
ANSWERS_KEPT_DAYS = 30  # a resent msgid gets its stored answer this long
_REQUIRED = (("infno", str), ("msgid", str), ("opter", str), ("input", dict))


@dataclass
class Call:
    """One message being handled: what a handler reads, and what it leaves for the audit."""

    infno: str
    msgid: str
    opter: str
    input: dict[str, Any]
    dev_no: str
    now: datetime
    fresh: Mapping[str, Any] | None = None  # the platform's person figures (settlements)
    unit: WriteUnit | None = None  # the message's unit of work, while a handler runs
    undo: dict[str, Any] | None = None  # what 2601 would undo
    changes: dict[str, Any] = field(default_factory=dict)  # the audit entry's detail

    @property
    def stamp(self) -> str:
        return self.now.isoformat(timespec="seconds")

    @property
    def work(self) -> WriteUnit:
        assert self.unit is not None, "a handler runs inside the message's unit of work"
        return self.unit

    def data(self, key: str = "data") -> dict[str, Any]:
        value = self.input.get(key)
        if not isinstance(value, dict):
            raise HisRefused("bad_input", f"input.{key}: an object is needed")
        return value


Handler = Callable[["HisDesk", Call], Any]


class HisDesk:
    """The terminal as the HIS's local component: `call(body) -> (HTTP status, body bytes)`."""

    def __init__(
        self,
        service: CheckoutService,
        handlers: Mapping[str, Handler],
        dry: frozenset[str] = frozenset(),
        fresh: frozenset[str] = frozenset(),
    ) -> None:
        """`dry`: infnos answered in a unit that is rolled back and not stored (pre-settlements,
        queries); `fresh`: infnos that ask the platform for the person's figures first."""
        self.service = service
        self.dry = dry
        self.fresh = fresh
        self.ledger: SqliteLedger = service.ledger
        self.config = service.config
        self.handlers = dict(handlers)
        self._seq = itertools.count(1)
        kept_from = service.local_now() - timedelta(days=ANSWERS_KEPT_DAYS)
        prune_his_answers(self.ledger, kept_from.isoformat(timespec="seconds"))

    # -- the envelope -----------------------------------------------------------------------

    def call(self, body: bytes) -> tuple[int, bytes]:
        received = self.service.local_now()
        if len(body) > MAX_BODY:
            return 400, _bad_request("the body is over 1 MiB; send fewer lines per message")
        try:
            env = json.loads(body, parse_float=Decimal)
        except (ValueError, RecursionError):
            return 400, _bad_request("the body is not JSON; send the national envelope")
        if not isinstance(env, dict):
            return 400, _bad_request("the body must be a JSON object (the national envelope)")
        for name, kind in _REQUIRED:
            if not isinstance(env.get(name), kind):
                what = "an object" if kind is dict else "a string"
                return 400, _bad_request(f"{name}: missing or not {what}")
        if not 0 < len(env["msgid"]) <= 30:
            return 400, _bad_request("msgid: 1 to 30 characters, unique per HIS")
        dev_no = self.config.terminal.dev_no  # the envelope's dev_no is accepted and ignored
        call = Call(env["infno"], env["msgid"], env["opter"], env["input"], dev_no, received)
        return 200, self._answer(call)

    def _answer(self, call: Call) -> bytes:
        digest = hashlib.sha256(_canonical({"infno": call.infno, "input": call.input})).hexdigest()
        stored = his_message(self.ledger, call.msgid)
        if stored is not None:
            if stored["input_hash"] == digest:
                return bytes(stored["answer"], "utf-8")
            return self._refused(
                call,
                HisRefused(
                    "msgid_reused",
                    f"msgid {call.msgid} was used on {stored['at']} for another message "
                    f"({stored['infno']}); give each new message a new msgid",
                ),
            )
        handler = self.handlers.get(call.infno)
        try:
            if handler is None:
                raise HisRefused(
                    "bad_input",
                    f"infno {call.infno} is not a transaction this terminal answers; "
                    f"it answers {', '.join(sorted(self.handlers))}",
                )
            if not signed_in(self.ledger, call.opter):
                raise HisRefused(
                    "not_signed_in",
                    f"operator {call.opter} is not signed in on this terminal: sign in with "
                    "this operator id (medpos signin, or the terminal's page) and send again",
                )
            if call.infno in self.fresh:  # the network, before the write lock is taken
                call.fresh = self._fresh_person(call)
            with self.ledger.write() as unit:
                call.unit = unit
                output = handler(self, call)
                answer = self._ok(call, output)
                if call.infno in self.dry:
                    return bytes(answer, "utf-8")  # rolled back: nothing is stored
                if call.changes or call.undo:
                    detail = {"msgid": call.msgid, "infno": call.infno, **call.changes}
                    unit.audit("his", call.opter, detail, call.now)
                remember_his_answer(
                    self.ledger, call.msgid, call.infno, digest, answer, call.undo, call.stamp
                )
                unit.commit()
        except HisRefused as refused:
            return self._refused(call, refused)
        return bytes(answer, "utf-8")

    def _refused(self, call: Call, refused: HisRefused) -> bytes:
        if refused.deferred is not None:
            mdtrt_id, bchno, total = refused.deferred
            record_deferred(
                self.ledger, mdtrt_id, bchno, total, refused.code, call.msgid, call.stamp
            )
        self.ledger.audit(
            "his_refusal",
            call.opter,
            {
                "msgid": call.msgid,
                "infno": call.infno,
                "code": refused.code,
                "message": str(refused),
            },
            call.now,
        )
        return bytes(self._envelope(call, {"infcode": -1, "err_code": refused.code,
                                           "err_msg": str(refused)}), "utf-8")  # fmt: skip

    def _ok(self, call: Call, output: Any) -> str:
        answer: dict[str, Any] = {"infcode": 0}
        if output is not None:
            answer["output"] = output
        return self._envelope(call, answer)

    def _envelope(self, call: Call, answer: dict[str, Any]) -> str:
        now = self.service.local_now()
        seq = next(self._seq) % 10000
        answer["inf_refmsgid"] = f"{call.dev_no}{now:%Y%m%d%H%M%S}{seq:04d}"
        answer["refmsg_time"] = f"{call.now:%Y-%m-%d %H:%M:%S}"
        answer["respond_time"] = f"{now:%Y-%m-%d %H:%M:%S}"
        return _ANSWER.encode(answer)

    def _fresh_person(self, call: Call) -> Mapping[str, Any] | None:
        data = call.input.get("data")
        psn_no = data.get("psn_no") if isinstance(data, dict) else None
        psn_cert = person_by_psn_no(self.ledger, psn_no) if isinstance(psn_no, str) else None
        return self.service.fresh_person(psn_cert) if psn_cert else None

    # -- what handlers share ----------------------------------------------------------------

    def policy_med_types(self) -> dict[str, set[str]]:
        """med_types the policy's schemes name, by kind (`inpatient` / `outpatient`)."""
        ref = self.service.reference()
        kinds: dict[str, set[str]] = {"inpatient": set(), "outpatient": set()}
        for scheme in ref.policy.schemes:
            for med_type in scheme.med_type:
                kinds[kind_of_med_type(med_type)].add(med_type)
        return kinds


def kind_of_med_type(med_type: str) -> str:
    """his-api.md: inpatient when it begins with 2 or is 52, outpatient otherwise."""
    return "inpatient" if med_type.startswith("2") or med_type == "52" else "outpatient"


# made once: json.dumps builds an encoder per call, and a message's input can be a few hundred lines
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=text_of
)


_ANSWER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _canonical(obj: Any) -> bytes:
    return _CANONICAL.encode(obj).encode("utf-8")


def _bad_request(message: str) -> bytes:
    body = {"infcode": -1, "err_code": "bad_request", "err_msg": message}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")

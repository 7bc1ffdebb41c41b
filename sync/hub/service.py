"""The reference platform's message handling (platform-api.md "Transport", "Envelope",
"Messages"), over one database engine.

`Hub.call(envelope)` answers one message: the HTTP 400 shape check, then the envelope refusals in
the spec's order (`unknown_device`, `bad_signature`, `msgid_reused`, `clock_skew`, `bad_input`),
then the message itself; `Hub.batch` answers each message of a batch the same way, in order. A
batch is one database transaction and each message a SAVEPOINT in it; the response of a processed
message is stored under `(dev_no, msgid)`, so the same message again gets the same answer, and no
answer leaves before the commit that stores it. A constraint violation (another hub process
stored the same sale or message first) rolls the message's savepoint back and the message is
answered again from what was stored: idempotency rests on the database's keys, never on
check-then-insert.

The messages themselves are answered by the modules beside this one: `devices` (9101 enrolment,
9001/9002 sign-in/out, 2601 message reversal, and the root key), `persons` (1101), `settling`
(2101/2206/2303 pre-settlement, nothing recorded; the recomputation), `uploads` (settlement upload
2102/2207/2304 and reversal 2103/2208/2305: the chain checks and held entries), `reconciliation`
(3201/3202); `reference` publishes and serves the refdata documents, as deltas for the catalogue
and hotlist.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from sync.hub import (
    access,
    devices,
    fleet,
    months,
    persons,
    reconciliation,
    reference,
    settling,
    trace,
    uploads,
)
from sync.hub import statements as q
from sync.hub._common import (
    PRESETTLE_INFNOS,
    REVERSAL_INFNOS,
    UPLOAD_INFNOS,
    Message,
    Prechecked,
    Transaction,
    signed_input,
)
from sync.hub.errors import Refused
from sync.hub.readahead import read_ahead as _read_ahead
from sync.hub.settling import UNHANDLED
from sync.protocol.envelope import build_response, parse_inf_time
from sync.protocol.envelope import envelope_shape_error as shape_error

__all__ = ["Hub"]


class Hub:
    """The platform over `engine`; `clock()` is epoch seconds (tests move it)."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], float] = time.time,
        zone: str = "Asia/Shanghai",
        max_skew_s: int = 300,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.tz = ZoneInfo(zone)
        self.max_skew_s = max_skew_s
        self._reference = reference.ReferenceData(self.tz)  # parsed once, by version

    # -- administration ---------------------------------------------------------------------

    def keygen(self, *, replace: bool = False) -> str:
        """Create the platform root key (stored in the database); its public key, base64."""
        return devices.keygen(self.engine, replace=replace)

    def root_public_b64(self) -> str:
        """The platform root's public key, base64 of its 32 raw bytes."""
        return devices.root_public_b64(self.engine)

    def root_public_b64_on(self, conn: Connection) -> str:
        """The platform root's public key, base64, read on `conn`."""
        return devices.root_public_b64_on(conn)

    def enrol_code(
        self,
        dev_no: str,
        *,
        fixmedins_code: str = "P33010000001",
        fixmedins_name: str = "杭州市民康大药房",
        mdtrtarea_admvs: str = "330100",
    ) -> str:
        """A new one-time enrolment code for `dev_no`, valid for 24 h."""
        return devices.enrol_code(
            self.engine,
            self.clock,
            dev_no,
            fixmedins_code=fixmedins_code,
            fixmedins_name=fixmedins_name,
            mdtrtarea_admvs=mdtrtarea_admvs,
        )

    def publish(self, kind: str, document: Any) -> dict[str, Any]:
        """Sign and store a new version of reference data; the platform numbers it itself."""
        return reference.publish(self.engine, kind, document, clock=self.clock, tz=self.tz)

    # -- reference data ---------------------------------------------------------------------

    def refdata(
        self, kind: str, since: int | None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, dict[str, Any] | None]:
        """(HTTP status, refdata object): 401 unless `headers` (lower-case names) are an
        enrolled device's signed `X-Dev-No`, `X-Dev-Time`, `X-Dev-Sig`; 200 with the newest
        document (a delta since `since` for the catalogue and the hotlist when `since` is a
        version published here; the persons that device may have), 304 when `since` is
        current, 404 when nothing was published."""
        return reference.serve(
            self.engine, kind, since, headers=headers or {}, clock=self.clock, tz=self.tz
        )

    def assign_persons(self, dev_no: str, psn_certs: list[str]) -> int:
        """Assign persons to device `dev_no`: its persons refdata carries them from now on,
        whatever their region or institution; how many were not assigned before."""
        with self.engine.begin() as conn:
            return access.assign_persons(conn, dev_no, psn_certs)

    # -- messages ---------------------------------------------------------------------------

    def refusal(self, err_msg: str) -> dict[str, Any]:
        """The response envelope (`infcode` -1) of a request refused at HTTP level."""
        now = datetime.fromtimestamp(self.clock(), self.tz)
        return build_response(infcode=-1, refmsgid=_refmsgid(), now=now, err_msg=err_msg)

    def call(self, envelope: object) -> tuple[int, dict[str, Any]]:
        """(HTTP status, response envelope) of one message."""
        problem = shape_error(envelope)
        if problem is not None:
            now = datetime.fromtimestamp(self.clock(), self.tz)
            return 400, build_response(infcode=-1, refmsgid=_refmsgid(), now=now, err_msg=problem)
        return 200, self._answer_all([envelope])[0]

    def batch(self, body: object) -> tuple[int, dict[str, Any]]:
        """(HTTP status, `{"results": [response envelope, …]}`) of a batch of messages."""
        if not isinstance(body, Mapping) or not isinstance(body.get("messages"), list):
            now = datetime.fromtimestamp(self.clock(), self.tz)
            return 400, build_response(
                infcode=-1, refmsgid=_refmsgid(), now=now, err_msg="messages: a list is required"
            )
        messages = body["messages"]
        if len(messages) > 500:
            now = datetime.fromtimestamp(self.clock(), self.tz)
            return 413, build_response(
                infcode=-1, refmsgid=_refmsgid(), now=now, err_msg="more than 500 messages"
            )
        return 200, {"results": self._answer_all(messages)}

    def _answer_all(
        self, messages: list[object], *, bundled: Prechecked | None = None
    ) -> list[dict[str, Any]]:
        """The answers to `messages`, in order, each processed on its own.

        One database transaction carries as many messages as it can (one commit, and one SQLite
        write lock, for a whole batch), each message inside its own SAVEPOINT: a refusal or a
        constraint violation undoes that message alone. Nothing is answered before the commit
        that stores it. A lock problem (a deadlock between two batches on PostgreSQL, a busy
        SQLite file) commits what is answered so far, releasing its locks, and answers the
        message again in a new transaction (up to three times)."""
        answers: list[dict[str, Any]] = []
        failures, failed_at = 0, -1
        # PostgreSQL: this and next month's partitions, outside the batch's transaction
        months.keep_ahead(self.engine, datetime.fromtimestamp(self.clock(), self.tz).date())
        with self.engine.connect() as conn:
            while len(answers) < len(messages):
                done = len(answers)
                try:
                    with conn.begin():
                        self._answer_run(conn, messages, answers, bundled)
                except OperationalError:
                    # not begun, not committed, or the run's first message met a lock problem:
                    # what this transaction answered is not stored; answer it again
                    del answers[done:]
                    failures = failures + 1 if failed_at == done else 1
                    failed_at = done
                    if failures == 3:
                        raise
        return answers

    def _answer_run(
        self,
        conn: Connection,
        messages: list[object],
        answers: list[dict[str, Any]],
        bundled: Prechecked | None = None,
    ) -> None:
        """Answer messages from `len(answers)` on in the transaction begun on `conn`; return
        early (to commit) when a message met a lock problem after others were answered."""
        tx = Transaction()
        first = len(answers)
        _read_ahead(conn, tx, messages[first:])
        while len(answers) < len(messages):
            envelope = messages[len(answers)]
            now = datetime.fromtimestamp(self.clock(), self.tz)
            problem = shape_error(envelope)
            if problem is not None:
                answers.append(
                    build_response(infcode=-1, refmsgid=_refmsgid(), now=now, err_msg=problem)
                )
                continue
            assert isinstance(envelope, Mapping)
            try:
                answers.append(self._answer(conn, tx, envelope, now, bundled))
            except OperationalError:
                if len(answers) == first:
                    raise
                return

    def _answer(
        self,
        conn: Connection,
        tx: Transaction,
        envelope: Mapping[str, Any],
        now: datetime,
        bundled: Prechecked | None = None,
    ) -> dict[str, Any]:
        """One message in its own SAVEPOINT; a constraint violation (another process stored
        this sale or message first) undoes it and answers again from what is stored."""
        for attempt in range(3):
            mark = tx.mark()
            try:
                with _savepoint(conn, tx):
                    return self._call(conn, tx, envelope, now, bundled)
            except Refused as refused:
                tx.undo(mark)  # what the savepoint wrote and locked went with it
                return build_response(
                    infcode=-1, refmsgid=_refmsgid(), now=now, err_msg=str(refused)
                )
            except IntegrityError:
                tx.undo(mark)
                tx.messages.clear()  # another process stored some: read from now on
                tx.entries.clear()
                if attempt == 2:
                    raise
            except UNHANDLED as exc:
                # a value this platform cannot handle: answered for this message alone, with
                # nothing stored, and the rest of its batch goes on (platform-api.md "Trust
                # rules": one bad message is one bad message)
                tx.undo(mark)
                return build_response(
                    infcode=-1,
                    refmsgid=_refmsgid(),
                    now=now,
                    err_msg=f"bad_input: a value the platform cannot handle ({type(exc).__name__})",
                )
            except BaseException:
                tx.undo(mark)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _call(
        self,
        conn: Connection,
        tx: Transaction,
        env: Mapping[str, Any],
        now: datetime,
        bundled: Prechecked | None = None,
    ) -> dict[str, Any]:
        infno, dev_no, data = env["infno"], env["dev_no"], env["input"]
        if infno == "9101":
            tx.devices.clear()
            return build_response(
                infcode=0, refmsgid=_refmsgid(), now=now, output=devices.enrol(conn, env, now)
            )
        device = tx.devices.get(dev_no)
        if device is None:
            device = q.DEVICE.first(conn, {"dev_no": dev_no})
            if device is None:
                raise Refused("unknown_device", f"{dev_no} is not enrolled")
            tx.devices[dev_no] = device
        canonical = signed_input(env, device.public_key, bundled)
        input_hash = hashlib.sha256(canonical).hexdigest()
        key = (dev_no, env["msgid"])
        stored = (
            tx.messages.pop(key)
            if key in tx.messages
            else q.MESSAGE.first(conn, {"dev_no": dev_no, "msgid": env["msgid"]})
        )
        if stored is not None:
            if stored.input_hash != input_hash:
                raise Refused("msgid_reused", f"{env['msgid']} was sent with another input")
            response: dict[str, Any] = json.loads(stored.response)
            return response
        try:
            sent = parse_inf_time(env["inf_time"]).replace(tzinfo=self.tz)
        except ValueError:
            raise Refused("bad_input", "inf_time: not yyyy-MM-dd HH:mm:ss") from None
        # a bundle's messages were signed at export, days ago maybe: only the future is skew
        skew = (sent - now).total_seconds()
        if (skew if bundled else abs(skew)) > self.max_skew_s:
            raise Refused("clock_skew", f"inf_time {env['inf_time']} is off the platform's")
        message = Message(dev_no, device, data, now, canonical, input_hash, sent)
        output = self._dispatch(conn, tx, infno, message, env)
        response = build_response(infcode=0, refmsgid=_refmsgid(), now=now, output=output)
        q.INSERT_MESSAGE.run(
            conn,
            {
                "dev_no": dev_no,
                "msgid": env["msgid"],
                "infno": infno,
                "input_hash": input_hash,
                "response": json.dumps(response, ensure_ascii=False),
                "received_at": int(now.timestamp()),
            },
        )
        return response

    def _dispatch(
        self,
        conn: Connection,
        tx: Transaction,
        infno: str,
        message: Message,
        env: Mapping[str, Any],
    ) -> dict[str, Any]:
        dev_no, data, now = message.dev_no, message.data, message.now
        if infno in UPLOAD_INFNOS:
            setlinfo = uploads.upload(conn, tx, self._reference, message)
            return {"setlinfo": setlinfo, "chain_head": uploads.chain_head(conn, tx, dev_no)}
        if infno in REVERSAL_INFNOS:
            setlinfo = uploads.reversal(conn, tx, self._reference, message)
            return {"setlinfo": setlinfo, "chain_head": uploads.chain_head(conn, tx, dev_no)}
        if infno == "9001":
            return devices.sign_in(conn, dev_no, data, now)
        if infno == "9002":
            return devices.sign_out(conn, dev_no, env, data, now)
        if infno == "1101":
            return persons.person_info(conn, data, now)
        if infno in PRESETTLE_INFNOS:
            return settling.presettle(conn, self._reference, data)
        if infno == "2601":
            return devices.reverse_message(conn, dev_no, data, now)
        if infno == "3201":
            return reconciliation.totals(conn, dev_no, data)
        if infno == "3202":
            return reconciliation.detail(conn, dev_no, data)
        if infno == fleet.HEARTBEAT_INFNO:
            return fleet.heartbeat(conn, message, env["inf_time"])
        if infno == trace.REPORT_INFNO:
            return trace.report(conn, self._reference, message)
        raise Refused("bad_input", f"infno {infno}: not implemented by this platform")


@contextmanager
def _savepoint(conn: Connection, tx: Transaction) -> Iterator[None]:
    """A SAVEPOINT around one message, rolled back to when it raised; plain SQL on the DBAPI
    cursor (`begin_nested()` compiles its clauses afresh each time). Released when answered, on
    PostgreSQL with the next SAVEPOINT (or the COMMIT), in one round trip."""
    pg = conn.dialect.name == "postgresql"
    if tx.savepoint:
        q.run_sql(conn, "RELEASE SAVEPOINT message; SAVEPOINT message", None).close()
    else:
        q.run_sql(conn, "SAVEPOINT message").close()
    tx.savepoint = False
    try:
        yield
    except BaseException:
        if pg:
            q.run_sql(
                conn, "ROLLBACK TO SAVEPOINT message; RELEASE SAVEPOINT message", None
            ).close()
        else:
            q.run_sql(conn, "ROLLBACK TO SAVEPOINT message").close()
            q.run_sql(conn, "RELEASE SAVEPOINT message").close()
        raise
    if pg:
        tx.savepoint = True
    else:
        q.run_sql(conn, "RELEASE SAVEPOINT message").close()


def _refmsgid() -> str:
    return uuid.uuid4().hex

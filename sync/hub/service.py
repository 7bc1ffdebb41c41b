"""The reference platform's message handling (platform-api.md), over one database engine.

`Hub.call(envelope)` answers one message: the HTTP 400 shape check, then the envelope refusals in
the spec's order (`unknown_device`, `bad_signature`, `msgid_reused`, `clock_skew`, `bad_input`),
then the message itself; `Hub.batch` answers each message of a batch the same way, in order. A
batch is one database transaction and each message a SAVEPOINT in it; the response of a processed
message is stored under `(dev_no, msgid)`, so the same message again gets the same answer, and no
answer leaves before the commit that stores it. A constraint violation (another hub process
stored the same sale or message first) rolls the message's savepoint back and the message is
answered again from what was stored: idempotency rests on the database's keys, never on
check-then-insert.

Every message of the spec: 9101 enrolment, 9001/9002 sign-in/out, 1101 person information,
2101/2206/2303 pre-settlement (nothing recorded), settlement upload (2102/2207/2304) with the chain
checks, recomputation and held entries, reversal (2103/2208/2305), 2601 message reversal, 3201/3202
reconciliation; and the refdata documents, as deltas for the catalogue and hotlist.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import Connection, Engine, and_, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from sync.hub import schema as t
from sync.hub import statements as q
from sync.protocol.canonical import canonical_json
from sync.protocol.envelope import build_response, cainfo_ok, parse_inf_time
from sync.protocol.envelope import envelope_shape_error as shape_error
from sync.protocol.refdata import DELTA_KEYS, KINDS, sign_refdata
from sync.protocol.upload import RECONCILED_AMOUNTS, ZERO_HASH, entry_hash
from terminal.errors import InvalidInputError, NoSchemeError
from terminal.identity.hotlist import HotlistIndex, hotlist_match
from terminal.settlement import (
    parse_catalogue,
    parse_claim,
    parse_policy,
    result_to_json,
    settle,
)
from terminal.settlement.model import Catalogue, Policy
from terminal.settlement.money import format_fen

__all__ = ["Hub", "HubError"]

PRESETTLE_INFNOS = ("2101", "2206", "2303")
UPLOAD_INFNOS = ("2102", "2207", "2304")
REVERSAL_INFNOS = ("2103", "2208", "2305")
CODE_LIFETIME_S = 24 * 3600


class HubError(Exception):
    """An administration problem (no root key, bad file); the message says what to do."""


class _Refused(Exception):
    """A message refused at the envelope (`infcode` -1)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Link:
    """A device's entry as the next one's chain check needs it."""

    seq: int
    hash: str
    holds: bool  # held for a gap (or not yet settled): the next entry waits for it


@dataclass(slots=True)
class _Transaction:
    """What the current database transaction has read, written or locked already: a batch's
    messages share one transaction. Only one transaction at a time writes a device's entries
    (the device's row lock on PostgreSQL, the write lock on SQLite), so what this one knows of
    them stays true until it ends; `mark`/`undo` keep it true when a message's savepoint is
    rolled back."""

    devices: dict[str, Any] = dataclasses.field(default_factory=dict)  # device rows by dev_no
    hotlists: list[tuple[int, int]] | None = None  # (version, issued_at) of every hotlist
    # by dev_no, undone with a message's savepoint:
    locked: set[str] = dataclasses.field(default_factory=set)  # locked FOR UPDATE (PostgreSQL)
    links: dict[str, _Link] = dataclasses.field(default_factory=dict)  # the last entry written
    gaps: dict[str, bool] = dataclasses.field(default_factory=dict)  # may hold entries for a gap
    # read ahead for the batch, each taken once (a second look, or one after a constraint
    # violation, reads the database): stored messages by (dev_no, msgid) and entries by
    # txn_id, None when there was none
    messages: dict[tuple[str, str], Any] = dataclasses.field(default_factory=dict)
    entries: dict[str, Any] = dataclasses.field(default_factory=dict)

    def mark(self) -> tuple[set[str], dict[str, _Link], dict[str, bool]]:
        return set(self.locked), dict(self.links), dict(self.gaps)

    def undo(self, mark: tuple[set[str], dict[str, _Link], dict[str, bool]]) -> None:
        self.locked, self.links, self.gaps = mark


@dataclass(frozen=True, slots=True)
class _Message:
    """A message past the envelope checks: its device row, input and canonical input."""

    dev_no: str
    device: Any
    data: Mapping[str, Any]
    now: datetime
    canonical: bytes
    input_hash: str


def _sha(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj)).hexdigest()


def _need(doc: Mapping[str, Any], field: str, kind: type | tuple[type, ...]) -> Any:
    value = doc.get(field)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _Refused("bad_input", f"input.{field}: missing or of the wrong type")
    return value


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
        self._policies: dict[str, Policy] = {}  # by [policy].version
        self._policy_rows: set[int] = set()  # refdata versions parsed into _policies
        self._catalogues: dict[int, Catalogue] = {}
        self._hotlists: dict[int, HotlistIndex] = {}  # by refdata version

    # -- administration ---------------------------------------------------------------------

    def keygen(self, *, replace: bool = False) -> str:
        """Create the platform root key (stored in the database); its public key, base64."""
        key = ed25519.Ed25519PrivateKey.generate()
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        with self.engine.begin() as conn:
            held = conn.execute(select(t.hub_meta).where(t.hub_meta.c.key == "root_key")).first()
            if held is not None and not replace:
                raise HubError(
                    "this platform has a root key already: every terminal trusts it; replacing "
                    "it means enrolling every terminal again (--replace to do so)"
                )
            if held is not None:
                conn.execute(
                    update(t.hub_meta)
                    .where(t.hub_meta.c.key == "root_key")
                    .values(value=base64.b64encode(raw).decode())
                )
            else:
                conn.execute(
                    insert(t.hub_meta).values(key="root_key", value=base64.b64encode(raw).decode())
                )
        return self.root_public_b64()

    def _root(self, conn: Connection) -> ed25519.Ed25519PrivateKey:
        value = conn.execute(
            select(t.hub_meta.c.value).where(t.hub_meta.c.key == "root_key")
        ).scalar()
        if value is None:
            raise HubError("the platform has no root key yet: run `medpos hub keygen` first")
        return ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(value))

    def root_public_b64(self) -> str:
        with self.engine.connect() as conn:
            return self.root_public_b64_on(conn)

    def enrol_code(
        self,
        dev_no: str,
        *,
        fixmedins_code: str = "P33010000001",
        fixmedins_name: str = "杭州市民康大药房",
        mdtrtarea_admvs: str = "330100",
    ) -> str:
        """A new one-time enrolment code for `dev_no`, valid for 24 h."""
        code = secrets.token_hex(8).upper()
        with self.engine.begin() as conn:
            conn.execute(
                insert(t.enrol_codes).values(
                    code=code,
                    dev_no=dev_no,
                    fixmedins_code=fixmedins_code,
                    fixmedins_name=fixmedins_name,
                    mdtrtarea_admvs=mdtrtarea_admvs,
                    expires_at=int(self.clock()) + CODE_LIFETIME_S,
                )
            )
        return code

    def publish(self, kind: str, document: Any) -> dict[str, Any]:
        """Sign and store a new version of reference data; the platform numbers it itself."""
        if kind not in KINDS:
            raise HubError(f"unknown reference data kind {kind!r}: one of {', '.join(KINDS)}")
        self._check_document(kind, document)
        now = int(self.clock())
        with self.engine.begin() as conn:
            root = self._root(conn)
            latest = conn.execute(
                select(t.refdata.c.version)
                .where(t.refdata.c.kind == kind)
                .order_by(t.refdata.c.version.desc())
                .limit(1)
            ).scalar()
            version = (latest or 0) + 1
            if kind in ("trustlist", "hotlist"):
                document = {**document, "version": version, "issued_at": now}
            obj = sign_refdata(
                {
                    "kind": kind,
                    "version": version,
                    "base_version": None,
                    "issued_at": now,
                    "body": document,
                },
                root,
            )
            conn.execute(
                insert(t.refdata).values(
                    kind=kind,
                    version=version,
                    issued_at=now,
                    body=json.dumps(document, ensure_ascii=False, sort_keys=True),
                    sig=obj["sig"],
                )
            )
            if kind == "persons":
                self._load_persons(conn, document)
        return obj

    @staticmethod
    def _check_document(kind: str, document: Any) -> None:
        try:
            if kind == "policy":
                if not isinstance(document, str):
                    raise HubError("a policy is published as its TOML text")
                parse_policy(document, "policy")
            elif kind == "catalogue":
                parse_catalogue(document, "catalogue")
            elif kind == "persons":
                if not isinstance(document, list):
                    raise HubError("the persons file is a JSON array of {person, accumulators}")
            elif not isinstance(document, dict):
                raise HubError(f"a {kind} is a JSON object (ecard-qr.md)")
        except InvalidInputError as exc:
            raise HubError(str(exc)) from exc

    def _load_persons(self, conn: Connection, persons: list[Any]) -> None:
        year = datetime.fromtimestamp(self.clock(), self.tz).year
        for i, entry in enumerate(persons):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("person"), Mapping):
                raise HubError(f"persons[{i}]: expected {{person, accumulators}}")
            person = dict(entry["person"])
            psn_cert = person.get("psn_cert")
            if not isinstance(psn_cert, str):
                raise HubError(f"persons[{i}].person.psn_cert: missing")
            self._upsert(
                conn,
                t.persons,
                {"psn_cert": psn_cert},
                person=canonical_json(person).decode(),
                unregistered=False,
            )
            acc = entry.get("accumulators") or {}
            self._upsert(
                conn,
                t.accumulators,
                {"psn_cert": psn_cert, "year": year},
                body=canonical_json(acc).decode(),
            )

    @staticmethod
    def _upsert(conn: Connection, table: Any, key: dict[str, Any], **values: Any) -> None:
        cond = and_(*(table.c[k] == v for k, v in key.items()))
        if conn.execute(select(*table.primary_key.columns).where(cond)).first() is None:
            conn.execute(insert(table).values(**key, **values))
        else:
            conn.execute(update(table).where(cond).values(**values))

    # -- reference data ---------------------------------------------------------------------

    def refdata(self, kind: str, since: int | None) -> tuple[int, dict[str, Any] | None]:
        """(HTTP status, refdata object): 200 with the newest document (a delta since `since`
        for the catalogue and the hotlist when `since` is a version published here), 304 when
        `since` is current, 404 when nothing was published."""
        if kind not in KINDS:
            return 404, None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.refdata)
                .where(t.refdata.c.kind == kind)
                .order_by(t.refdata.c.version.desc())
                .limit(1)
            ).first()
            base = None
            if row is not None and since is not None and kind in DELTA_KEYS and since < row.version:
                base = conn.execute(
                    select(t.refdata.c.body).where(
                        and_(t.refdata.c.kind == kind, t.refdata.c.version == since)
                    )
                ).scalar()
            if row is None:
                return 404, None
            if since is not None and since >= row.version:
                return 304, None
            body = json.loads(row.body)
            if base is None:
                return 200, {
                    "kind": kind,
                    "version": row.version,
                    "base_version": None,
                    "issued_at": row.issued_at,
                    "body": body,
                    "sig": row.sig,
                }
            delta = _delta(kind, json.loads(base), body)
            obj = {
                "kind": kind,
                "version": row.version,
                "base_version": since,
                "issued_at": row.issued_at,
                "body": delta,
            }
            return 200, sign_refdata(obj, self._root(conn))

    # -- messages ---------------------------------------------------------------------------

    def call(self, envelope: object) -> tuple[int, dict[str, Any]]:
        """(HTTP status, response envelope) of one message."""
        problem = shape_error(envelope)
        if problem is not None:
            now = datetime.fromtimestamp(self.clock(), self.tz)
            return 400, build_response(infcode=-1, refmsgid=_refmsgid(), now=now, err_msg=problem)
        return 200, self._answer_all([envelope])[0]

    def batch(self, body: object) -> tuple[int, dict[str, Any]]:
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

    def _answer_all(self, messages: list[object]) -> list[dict[str, Any]]:
        """The answers to `messages`, in order, each processed on its own.

        One database transaction carries as many messages as it can (one commit, and one SQLite
        write lock, for a whole batch), each message inside its own SAVEPOINT: a refusal or a
        constraint violation undoes that message alone. Nothing is answered before the commit
        that stores it. A lock problem (a deadlock between two batches on PostgreSQL, a busy
        SQLite file) commits what is answered so far, releasing its locks, and answers the
        message again in a new transaction (up to three times)."""
        answers: list[dict[str, Any]] = []
        failures, failed_at = 0, -1
        with self.engine.connect() as conn:
            while len(answers) < len(messages):
                done = len(answers)
                try:
                    with conn.begin():
                        self._answer_run(conn, messages, answers)
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
        self, conn: Connection, messages: list[object], answers: list[dict[str, Any]]
    ) -> None:
        """Answer messages from `len(answers)` on in the transaction begun on `conn`; return
        early (to commit) when a message met a lock problem after others were answered."""
        tx = _Transaction()
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
                answers.append(self._answer(conn, tx, envelope, now))
            except OperationalError:
                if len(answers) == first:
                    raise
                return

    def _answer(
        self, conn: Connection, tx: _Transaction, envelope: Mapping[str, Any], now: datetime
    ) -> dict[str, Any]:
        """One message in its own SAVEPOINT; a constraint violation (another process stored
        this sale or message first) undoes it and answers again from what is stored."""
        for attempt in range(3):
            mark = tx.mark()
            try:
                with _savepoint(conn):
                    return self._call(conn, tx, envelope, now)
            except _Refused as refused:
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
            except BaseException:
                tx.undo(mark)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _call(
        self, conn: Connection, tx: _Transaction, env: Mapping[str, Any], now: datetime
    ) -> dict[str, Any]:
        infno, dev_no, data = env["infno"], env["dev_no"], env["input"]
        if infno == "9101":
            tx.devices.clear()
            return build_response(
                infcode=0, refmsgid=_refmsgid(), now=now, output=self._enrol(conn, env, now)
            )
        device = tx.devices.get(dev_no)
        if device is None:
            device = q.DEVICE.first(conn, {"dev_no": dev_no})
            if device is None:
                raise _Refused("unknown_device", f"{dev_no} is not enrolled")
            tx.devices[dev_no] = device
        try:
            canonical: bytes | None = canonical_json(data)  # the one walk that refuses floats
        except TypeError:
            canonical = None  # a float: no terminal signed that (money and ratios are strings)
        if canonical is None or not cainfo_ok(
            env, _public_key(device.public_key), input_json=canonical
        ):
            raise _Refused("bad_signature", "cainfo does not verify with the device key")
        input_hash = hashlib.sha256(canonical).hexdigest()
        key = (dev_no, env["msgid"])
        stored = (
            tx.messages.pop(key)
            if key in tx.messages
            else q.MESSAGE.first(conn, {"dev_no": dev_no, "msgid": env["msgid"]})
        )
        if stored is not None:
            if stored.input_hash != input_hash:
                raise _Refused("msgid_reused", f"{env['msgid']} was sent with another input")
            response: dict[str, Any] = json.loads(stored.response)
            return response
        try:
            sent = parse_inf_time(env["inf_time"]).replace(tzinfo=self.tz)
        except ValueError:
            raise _Refused("bad_input", "inf_time: not yyyy-MM-dd HH:mm:ss") from None
        if abs((now - sent).total_seconds()) > self.max_skew_s:
            raise _Refused("clock_skew", f"inf_time {env['inf_time']} is off the platform's")
        message = _Message(dev_no, device, data, now, canonical, input_hash)
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
        tx: _Transaction,
        infno: str,
        message: _Message,
        env: Mapping[str, Any],
    ) -> dict[str, Any]:
        dev_no, data, now = message.dev_no, message.data, message.now
        if infno in UPLOAD_INFNOS:
            return {"setlinfo": self._upload(conn, tx, message)}
        if infno in REVERSAL_INFNOS:
            return {"setlinfo": self._reversal(conn, tx, message)}
        if infno == "9001":
            opter = _need(data, "opter", str)
            sign_no = uuid.uuid4().hex
            conn.execute(
                insert(t.sign_ins).values(
                    sign_no=sign_no, dev_no=dev_no, opter=opter, signed_in_at=int(now.timestamp())
                )
            )
            return {"sign_no": sign_no}
        if infno == "9002":
            sign_no = env.get("sign_no") or data.get("sign_no") or ""
            conn.execute(
                update(t.sign_ins)
                .where(and_(t.sign_ins.c.sign_no == sign_no, t.sign_ins.c.dev_no == dev_no))
                .values(signed_out_at=int(now.timestamp()))
            )
            return {"sign_no": sign_no}
        if infno == "1101":
            return self._person_info(conn, data, now)
        if infno in PRESETTLE_INFNOS:
            return self._presettle(conn, data)
        if infno == "2601":
            return self._message_reversal(conn, dev_no, data)
        if infno == "3201":
            return self._totals(conn, dev_no, data)
        if infno == "3202":
            return self._detail(conn, dev_no, data)
        raise _Refused("bad_input", f"infno {infno}: not implemented by this platform")

    # -- 9101 enrolment ---------------------------------------------------------------------

    def _enrol(self, conn: Connection, env: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        data = env["input"]
        code = _need(data, "code", str)
        public = _need(data, "public_key", str)
        key_id = _need(data, "key_id", str)
        row = conn.execute(select(t.enrol_codes).where(t.enrol_codes.c.code == code)).first()
        stamp = int(now.timestamp())
        if (
            row is None
            or row.used_at is not None
            or row.expires_at < stamp
            or row.dev_no != env["dev_no"]
        ):
            raise _Refused(
                "bad_code",
                "the enrolment code is unknown, used, expired or not this "
                "device's: ask the platform operator for a new one",
            )
        try:
            raw = base64.b64decode(public, validate=True)
            ed25519.Ed25519PublicKey.from_public_bytes(raw)
        except (ValueError, InvalidSignature):
            raise _Refused("bad_input", "input.public_key: not base64 of 32 raw bytes") from None
        if hashlib.sha256(raw).hexdigest()[:16] != key_id:
            raise _Refused("bad_input", "input.key_id: not the public key's id")
        conn.execute(
            update(t.enrol_codes).where(t.enrol_codes.c.code == code).values(used_at=stamp)
        )
        self._upsert(
            conn,
            t.devices,
            {"dev_no": row.dev_no},
            public_key=public,
            key_id=key_id,
            fixmedins_code=row.fixmedins_code,
            dev_name=str(data.get("dev_name", "")),
            enrolled_at=stamp,
        )
        return {
            "dev_no": row.dev_no,
            "fixmedins_code": row.fixmedins_code,
            "fixmedins_name": row.fixmedins_name,
            "mdtrtarea_admvs": row.mdtrtarea_admvs,
            "root_public_key": self.root_public_b64_on(conn),
        }

    def root_public_b64_on(self, conn: Connection) -> str:
        public = self._root(conn).public_key()
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    # -- 1101 person information ------------------------------------------------------------

    def _person_info(
        self, conn: Connection, data: Mapping[str, Any], now: datetime
    ) -> dict[str, Any]:
        psn_cert = data.get("psn_cert")
        if not isinstance(psn_cert, str):
            raise _Refused("bad_input", "input.psn_cert: missing (card_no lookups not offered)")
        row = conn.execute(select(t.persons).where(t.persons.c.psn_cert == psn_cert)).first()
        if row is None:
            raise _Refused("unknown_person", f"{psn_cert[:6]}…: not known to the platform")
        return {
            "person": json.loads(row.person),
            "accumulators": self._acc(conn, psn_cert, now.year),
        }

    def _acc(self, conn: Connection, psn_cert: str, year: int) -> dict[str, Any]:
        """The person's accumulators (`{}` when the platform holds none for `year`)."""
        body = self._acc_body(conn, psn_cert, year)
        return json.loads(body) if body else {}

    @staticmethod
    def _acc_body(
        conn: Connection, psn_cert: str, year: int, *, for_update: bool = False
    ) -> str | None:
        """The stored accumulators, None when there is no row; `for_update` locks the row
        (PostgreSQL) until the transaction ends, so two devices' sales of one person advance
        it one after the other."""
        query = (
            q.ACCUMULATORS_FOR_UPDATE
            if for_update and conn.dialect.name == "postgresql"
            else q.ACCUMULATORS
        )
        body: str | None = query.scalar(conn, {"psn_cert": psn_cert, "year": year})
        return body

    @staticmethod
    def _store_acc(conn: Connection, psn_cert: str, year: int, acc: Any, *, exists: bool) -> None:
        """Write a person's accumulators: update the row `_acc_body` found, or insert one."""
        body = canonical_json(acc, strict=False).decode()  # built here from money strings
        if exists:
            q.UPDATE_ACCUMULATORS.run(
                conn, {"key_psn_cert": psn_cert, "key_year": year, "body": body}
            )
        else:
            q.INSERT_ACCUMULATORS.run(conn, {"psn_cert": psn_cert, "year": year, "body": body})

    # -- pre-settlement and message reversal ------------------------------------------------

    def _presettle(self, conn: Connection, data: Mapping[str, Any]) -> dict[str, Any]:
        """The split with the platform's accumulators; nothing is recorded."""
        claim = _need(data, "claim", dict)
        person = claim.get("person")
        visit = claim.get("visit")
        if not isinstance(person, Mapping) or not isinstance(visit, Mapping):
            raise _Refused("bad_input", "input.claim: person and visit are required")
        policy_version = data.get("policy_version")
        policy = (
            self._newest_policy(conn)
            if policy_version is None
            else self._policy(conn, str(policy_version))
        )
        catalogue_version = data.get("catalogue_version")
        catalogue = (
            self._catalogue(conn, catalogue_version)
            if isinstance(catalogue_version, int)
            else self._newest_catalogue(conn)
        )
        if policy is None or catalogue is None:
            raise _Refused("bad_input", "no published policy or catalogue to settle with")
        year = int(str(visit.get("date", "0000"))[:4])
        accumulators = self._acc(conn, str(person.get("psn_cert", "")), year)
        try:
            parsed = parse_claim({**claim, "accumulators": accumulators}, "input.claim")
            return {"result": result_to_json(settle(policy, catalogue, parsed))}
        except InvalidInputError as exc:
            raise _Refused("bad_input", str(exc)) from None
        except NoSchemeError as exc:
            raise _Refused("bad_input", f"no scheme applies: {exc}") from None

    def _newest_policy(self, conn: Connection) -> Policy | None:
        body = conn.execute(
            select(t.refdata.c.body)
            .where(t.refdata.c.kind == "policy")
            .order_by(t.refdata.c.version.desc())
            .limit(1)
        ).scalar()
        return parse_policy(json.loads(body), "policy") if body else None

    def _newest_catalogue(self, conn: Connection) -> Catalogue | None:
        version = conn.execute(
            select(t.refdata.c.version)
            .where(t.refdata.c.kind == "catalogue")
            .order_by(t.refdata.c.version.desc())
            .limit(1)
        ).scalar()
        return self._catalogue(conn, version) if version is not None else None

    def _message_reversal(
        self, conn: Connection, dev_no: str, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """2601: cancel a sign-in (or a pre-settlement, which recorded nothing) whose answer
        never came; a settlement is reversed by its reversal message instead."""
        omsgid = _need(data, "omsgid", str)
        oinfno = _need(data, "oinfno", str)
        if oinfno in UPLOAD_INFNOS:
            raise _Refused("bad_input", "input.oinfno: reverse a settlement with 2103/2208/2305")
        original = conn.execute(
            select(t.messages).where(
                and_(t.messages.c.dev_no == dev_no, t.messages.c.msgid == omsgid)
            )
        ).first()
        cancelled = False
        if original is not None and oinfno == "9001":
            sign_no = json.loads(original.response).get("output", {}).get("sign_no")
            conn.execute(
                update(t.sign_ins)
                .where(t.sign_ins.c.sign_no == sign_no)
                .values(signed_out_at=int(self.clock()))
            )
            cancelled = True
        return {"omsgid": omsgid, "found": original is not None, "cancelled": cancelled}

    # -- settlement upload ------------------------------------------------------------------

    def _upload(self, conn: Connection, tx: _Transaction, message: _Message) -> dict[str, Any]:
        data, dev_no = message.data, message.dev_no
        txn_id = _need(data, "txn_id", str)
        ledger = _need(data, "ledger", dict)
        seq = _need(ledger, "seq", int)
        for field in ("prev_hash", "hash", "sig"):
            _need(ledger, field, str)
        _need(data, "offline", bool)
        _need(data, "settled_at", str)
        for field in ("mdtrt_cert_type", "mdtrt_cert_no"):
            _need(data, field, str)
        claim = _need(data, "claim", dict)
        _need(data, "result", dict)
        _need(data, "catalogue_version", int)
        if txn_id != f"{dev_no}-{seq}":
            raise _Refused("bad_input", f"input.txn_id: must be {dev_no}-{seq}")
        person = claim.get("person", {})
        psn_cert = person.get("psn_cert") if isinstance(person, Mapping) else None
        return self._store_entry(conn, tx, message, "sale", psn_cert)

    def _store_entry(
        self,
        conn: Connection,
        tx: _Transaction,
        message: _Message,
        kind: str,
        psn_cert: str | None,
    ) -> dict[str, Any]:
        data, dev_no, now = message.data, message.dev_no, message.now
        txn_id, ledger = data["txn_id"], data["ledger"]
        seq = ledger["seq"]
        existing = (
            tx.entries.pop(txn_id)
            if txn_id in tx.entries
            else q.ENTRY_ACK.first(conn, {"txn_id": txn_id})
        )
        if existing is not None:
            if existing.input_hash != message.input_hash:
                return {
                    "txn_id": txn_id,
                    "setl_id": "",
                    "status": "rejected",
                    "reason": "txn_id_reused",
                }
            return _ack(
                existing.txn_id, existing.setl_id, existing.status, existing.reason, existing.result
            )
        try:
            settled = parse_inf_time(data["settled_at"])
        except ValueError:
            raise _Refused("bad_input", "input.settled_at: not yyyy-MM-dd HH:mm:ss") from None
        # a device's entries settle in seq order: serialise them on the device's row (held
        # until the transaction ends, so once per device and batch)
        if conn.dialect.name == "postgresql" and dev_no not in tx.locked:
            q.DEVICE_FOR_UPDATE.run(conn, {"dev_no": dev_no})
            tx.locked.add(dev_no)
        if dev_no not in tx.gaps:  # (after the lock: nobody else adds any until we commit)
            tx.gaps[dev_no] = q.HELD_FOR_GAP.first(conn, {"dev_no": dev_no}) is not None
        values: dict[str, Any] = {
            "txn_id": txn_id,
            "dev_no": dev_no,
            "seq": seq,
            "kind": kind,
            "input": message.canonical.decode(),
            "input_hash": message.input_hash,
            "hash": ledger["hash"],
            "setl_id": uuid.uuid4().hex,
            "settled_at": data["settled_at"],
            "setl_date": settled.date().isoformat(),
            "psn_cert": psn_cert,
            "orig_txn_id": data.get("orig_txn_id"),
            "stored_at": int(now.timestamp()),
            "reason": None,
            "result": None,
            "kept": None,
            "accumulators": None,
            "reversed_by": None,
        }
        status, reason = self._chain_status(conn, tx, message.device, data, message.canonical)
        if status == "pending":
            # settled before it is written: the row goes in once, with its outcome
            values.update(self._settle(conn, tx, txn_id, kind, data, values["setl_date"]))
        else:
            values.update(status=status, reason=reason)
        q.INSERT_ENTRY.run(conn, values)
        tx.links[dev_no] = _Link(seq, ledger["hash"], _holds(values["status"], values["reason"]))
        if status == "held":
            tx.gaps[dev_no] = True
        elif status == "pending":
            if kind == "sale":
                self._settle_waiting_reversal(conn, tx, txn_id)
            if tx.gaps[dev_no]:
                self._release_held(conn, tx, dev_no, seq + 1)
        return _ack(txn_id, values["setl_id"], values["status"], values["reason"], values["result"])

    def _chain_status(
        self,
        conn: Connection,
        tx: _Transaction,
        device: Any,
        data: Mapping[str, Any],
        canonical: bytes,
    ) -> tuple[str, str | None]:
        """("rejected", "ledger_mismatch") | ("held", None) | ("pending", None)."""
        ledger = data["ledger"]
        seq = ledger["seq"]
        try:
            digest = entry_hash(data, strict=False, canonical=canonical)
        except TypeError:
            return "rejected", "ledger_mismatch"  # a float somewhere: not what was signed
        if digest != ledger["hash"] or not _sig_ok(device.public_key, ledger["sig"], digest):
            return "rejected", "ledger_mismatch"
        if seq == 1:
            return (
                ("pending", None)
                if ledger["prev_hash"] == ZERO_HASH
                else ("rejected", "ledger_mismatch")
            )
        prev = tx.links.get(device.dev_no)
        if prev is None or prev.seq != seq - 1:
            row = q.LINK_AT.first(conn, {"dev_no": device.dev_no, "seq": seq - 1})
            prev = _Link(seq - 1, row.hash, _holds(row.status, row.reason)) if row else None
        if prev is None or prev.holds:
            return "held", None
        if prev.hash != ledger["prev_hash"]:
            return "rejected", "ledger_mismatch"
        return "pending", None

    def _release_held(self, conn: Connection, tx: _Transaction, dev_no: str, seq: int) -> None:
        """Settle the held entries that follow, in seq order, while the chain holds."""
        while True:
            row = q.ENTRY_AT.first(conn, {"dev_no": dev_no, "seq": seq})
            if row is None or row.status != "held" or row.reason:
                return
            prev = q.LINK_AT.first(conn, {"dev_no": dev_no, "seq": seq - 1})
            data = json.loads(row.input)
            if prev is None or prev.hash != data["ledger"]["prev_hash"]:
                self._finish(conn, tx, row.txn_id, _outcome("rejected", "ledger_mismatch"))
            else:
                self._finish(
                    conn,
                    tx,
                    row.txn_id,
                    self._settle(conn, tx, row.txn_id, row.kind, data, row.setl_date),
                )
                if row.kind == "sale":
                    self._settle_waiting_reversal(conn, tx, row.txn_id)
            seq += 1

    @staticmethod
    def _finish(
        conn: Connection, tx: _Transaction, txn_id: str, outcome: Mapping[str, Any]
    ) -> None:
        """Settle an entry stored before (held until now)."""
        q.FINISH_ENTRY.run(conn, {"key": txn_id, **outcome})
        tx.entries.pop(txn_id, None)  # what was read ahead of it is no longer its state

    def _settle(
        self,
        conn: Connection,
        tx: _Transaction,
        txn_id: str,
        kind: str,
        data: Mapping[str, Any],
        setl_date: str,
    ) -> dict[str, Any]:
        """The outcome (status, reason, result, kept, accumulators) of an entry whose chain
        holds; the accumulators and the original of a reversal are updated here."""
        if kind == "reversal":
            return self._settle_reversal(conn, txn_id, data)
        return self._settle_sale(conn, tx, data, setl_date)

    def _settle_waiting_reversal(self, conn: Connection, tx: _Transaction, txn_id: str) -> None:
        """A reversal of sale `txn_id` that arrived first, held for it, settles now."""
        _lock_original(conn, txn_id)
        waiting = q.WAITING_REVERSAL.first(conn, {"txn_id": txn_id})
        if waiting is not None:
            outcome = self._settle_reversal(conn, waiting.txn_id, json.loads(waiting.input))
            self._finish(conn, tx, waiting.txn_id, outcome)

    def _settle_sale(
        self, conn: Connection, tx: _Transaction, data: Mapping[str, Any], setl_date: str
    ) -> dict[str, Any]:
        claim, result = data["claim"], data["result"]
        policy = self._policy(conn, str(result.get("policy_version", "")))
        if policy is None:
            return _outcome("rejected", "unknown_policy")
        catalogue = self._catalogue(conn, data["catalogue_version"])
        if catalogue is None:
            return _outcome("rejected", "unknown_catalogue")
        person = claim.get("person", {})
        psn_cert = person.get("psn_cert", "")
        by_card = data.get("mdtrt_cert_type") == "03"
        if hotlist_match(
            self._hotlist_at(conn, tx, data["settled_at"]),
            card_no=data.get("card_no") if by_card else None,
            card_sn=data.get("card_sn") if by_card else None,
            psn_cert=psn_cert,
        ):
            return _outcome("rejected", "hotlisted")
        year = int(str(claim.get("visit", {}).get("date", setl_date))[:4])
        held = self._acc_body(conn, psn_cert, year, for_update=True)
        if held is None and q.PERSON_KNOWN.first(conn, {"psn_cert": psn_cert}) is None:
            # (a person with accumulators is known: both are written together, or the person
            # first; so the person is looked for only when the accumulators are missing)
            q.INSERT_PERSON.run(
                conn,
                {
                    "psn_cert": psn_cert,
                    "person": canonical_json(person).decode(),
                    "unregistered": True,
                },
            )
        accumulators = json.loads(held) if held else {}
        try:
            parsed = parse_claim({**claim, "accumulators": accumulators}, "upload")
            ours = settle(policy, catalogue, parsed)
        except (InvalidInputError, NoSchemeError) as exc:
            return _outcome("rejected", "bad_claim", result=str(exc))
        ours_json = result_to_json(ours)
        theirs = result.get("setlinfo", {})
        same = all(
            theirs.get(k) == v or _amount(theirs.get(k)) == _amount(v)  # the same text: equal
            for k, v in ours_json["setlinfo"].items()
            if k != "pool_prop_selfpay"
        )
        after = ours_json["accumulators_after"]
        self._store_acc(conn, psn_cert, year, after, exists=held is not None)
        kept = {k: ours_json["setlinfo"][k] for k in RECONCILED_AMOUNTS}
        moved = {"before": accumulators, "after": after}
        return _outcome(
            "accepted" if same else "adjusted",
            None,
            result=None if same else canonical_json(ours_json).decode(),
            kept=canonical_json(kept).decode(),
            accumulators=canonical_json(moved).decode(),
        )

    # -- reversals --------------------------------------------------------------------------

    def _reversal(self, conn: Connection, tx: _Transaction, message: _Message) -> dict[str, Any]:
        data, dev_no = message.data, message.dev_no
        txn_id = _need(data, "txn_id", str)
        _need(data, "orig_txn_id", str)
        ledger = _need(data, "ledger", dict)
        seq = _need(ledger, "seq", int)
        for field in ("prev_hash", "hash", "sig"):
            _need(ledger, field, str)
        _need(data, "settled_at", str)
        if txn_id != f"{dev_no}-{seq}":
            raise _Refused("bad_input", f"input.txn_id: must be {dev_no}-{seq}")
        return self._store_entry(conn, tx, message, "reversal", None)

    def _settle_reversal(
        self, conn: Connection, txn_id: str, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        _lock_original(conn, data["orig_txn_id"])
        orig = q.ENTRY_BY_TXN.first(conn, {"txn_id": data["orig_txn_id"]})
        if orig is None or orig.status in ("held", "pending"):
            # waits for its original, without holding up this device's chain
            return _outcome("held", "original")
        if orig.kind == "reversal" or orig.status == "rejected":
            return _outcome("rejected", "not_reversible")
        if orig.reversed_by is not None and orig.reversed_by != txn_id:
            return _outcome("rejected", "already_reversed")
        kept = json.loads(orig.kept)
        negated = {k: _negate(v) for k, v in kept.items()}
        q.MARK_REVERSED.run(conn, {"key": orig.txn_id, "reversed_by": txn_id})
        self._give_back(conn, orig)
        return _outcome("accepted", None, kept=canonical_json(negated).decode())

    def _give_back(self, conn: Connection, orig: Any) -> None:
        """Undo what the original took from the person's accumulators: current − (after −
        before), with the accumulators the platform settled it with."""
        data = json.loads(orig.input)
        claim = data["claim"]
        year = int(str(claim.get("visit", {}).get("date", orig.setl_date))[:4])
        psn_cert = claim["person"]["psn_cert"]
        moved = json.loads(orig.accumulators) if orig.accumulators else {}
        held = self._acc_body(conn, psn_cert, year, for_update=True)
        current = json.loads(held) if held else {}
        restored = _subtract_delta(current, moved.get("before", {}), moved.get("after", {}))
        self._store_acc(conn, psn_cert, year, restored, exists=held is not None)

    # -- reconciliation ---------------------------------------------------------------------

    def _day_rows(self, conn: Connection, dev_no: str, day: str) -> list[Any]:
        return list(
            conn.execute(
                select(t.entries).where(
                    and_(t.entries.c.dev_no == dev_no, t.entries.c.setl_date == day)
                )
            )
        )

    def _totals(self, conn: Connection, dev_no: str, data: Mapping[str, Any]) -> dict[str, Any]:
        day = _need(data, "setl_date", str)
        count, sums = 0, dict.fromkeys(RECONCILED_AMOUNTS, 0)
        for row in self._day_rows(conn, dev_no, day):
            if row.status not in ("accepted", "adjusted") or not row.kept:
                continue
            count += -1 if row.kind == "reversal" else 1
            for k, v in json.loads(row.kept).items():
                sums[k] += _amount(v) or 0
        platform = {"setl_date": day, "count": count, **{k: format_fen(v) for k, v in sums.items()}}
        terminal = {k: data.get(k) for k in ("count", *RECONCILED_AMOUNTS)}
        same = terminal["count"] == count and all(
            _amount(terminal[k]) == sums[k] for k in RECONCILED_AMOUNTS
        )
        return {"stmt_rslt": "0" if same else "1", "platform": platform}

    def _detail(self, conn: Connection, dev_no: str, data: Mapping[str, Any]) -> dict[str, Any]:
        day = _need(data, "setl_date", str)
        sales = _need(data, "sales", list)
        theirs: dict[str, Mapping[str, Any]] = {
            s["txn_id"]: s
            for s in sales
            if isinstance(s, Mapping) and isinstance(s.get("txn_id"), str)
        }
        ours = {row.txn_id: row for row in self._day_rows(conn, dev_no, day)}
        different = []
        for txn_id in sorted(set(theirs) & set(ours)):
            row, sale = ours[txn_id], theirs[txn_id]
            if sale.get("status") != row.status:
                different.append(
                    {
                        "txn_id": txn_id,
                        "field": "status",
                        "terminal": sale.get("status"),
                        "platform": row.status,
                    }
                )
                continue
            if row.status in ("accepted", "adjusted") and row.kept:
                for k, v in json.loads(row.kept).items():
                    if _amount(sale.get(k)) != _amount(v):
                        different.append(
                            {"txn_id": txn_id, "field": k, "terminal": sale.get(k), "platform": v}
                        )
        return {
            "only_terminal": sorted(set(theirs) - set(ours)),
            "only_platform": sorted(str(k) for k in set(ours) - set(theirs)),
            "different": different,
        }

    # -- reference data the recomputation uses ----------------------------------------------

    def _policy(self, conn: Connection, policy_version: str) -> Policy | None:
        """The published policy whose `[policy].version` is `policy_version`."""
        if policy_version not in self._policies:
            rows = conn.execute(
                select(t.refdata.c.version, t.refdata.c.body).where(t.refdata.c.kind == "policy")
            )
            for version, body in rows:
                if version not in self._policy_rows:
                    policy = parse_policy(json.loads(body), f"policy version {version}")
                    self._policies[policy.version] = policy
                    self._policy_rows.add(version)
        return self._policies.get(policy_version)

    def _catalogue(self, conn: Connection, version: int) -> Catalogue | None:
        if version in self._catalogues:
            return self._catalogues[version]
        body = conn.execute(
            select(t.refdata.c.body).where(
                and_(t.refdata.c.kind == "catalogue", t.refdata.c.version == version)
            )
        ).scalar()
        if body is None:
            return None
        self._catalogues[version] = parse_catalogue(json.loads(body), "catalogue")
        return self._catalogues[version]

    def _hotlist_at(
        self, conn: Connection, tx: _Transaction, settled_at: str
    ) -> HotlistIndex | None:
        """The hotlist in force at `settled_at`: the newest version issued by then."""
        try:
            moment = parse_inf_time(settled_at).replace(tzinfo=self.tz)
        except ValueError:
            return None
        if tx.hotlists is None:  # (version, issued_at), read once per transaction
            tx.hotlists = [(int(v), int(at)) for v, at in q.HOTLIST_VERSIONS.all(conn, {})]
        stamp = int(moment.timestamp())
        version = max((v for v, at in tx.hotlists if at <= stamp), default=None)
        if version is None:
            return None
        if version not in self._hotlists:  # a published version never changes
            body = q.REFDATA_BODY.scalar(conn, {"kind": "hotlist", "version": version})
            self._hotlists[version] = HotlistIndex(json.loads(body) if body else None)
        return self._hotlists[version]


def _delta(kind: str, old: Any, new: Any) -> dict[str, Any]:
    """`{"added", "removed"}` taking `old` to `new` (platform-api.md refdata deltas)."""
    fields = DELTA_KEYS[kind]
    old_items = old if kind == "catalogue" else old.get("entries", [])
    new_items = new if kind == "catalogue" else new.get("entries", [])

    def key(entry: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(entry.get(f) for f in fields)

    before = {key(e): canonical_json(e) for e in old_items}
    after = {key(e): e for e in new_items}
    added = [e for k, e in after.items() if before.get(k) != canonical_json(e)]
    gone = [k for k in before if k not in after]
    removed: list[Any] = (
        [k[0] for k in gone]
        if kind == "catalogue"
        else [dict(zip(fields, k, strict=True)) for k in gone]
    )
    return {"added": added, "removed": removed}


def _read_ahead(conn: Connection, tx: _Transaction, messages: list[object]) -> None:
    """Read the stored messages and entries `messages` name, two queries for a whole batch
    rather than two for each message. Only a shortcut: a message or entry stored after this
    read (by another process) still meets the database's keys when it is written."""
    msgids: dict[str, list[str]] = {}
    txn_ids: list[str] = []
    for env in messages:
        if not isinstance(env, Mapping):
            continue
        dev_no, msgid, data = env.get("dev_no"), env.get("msgid"), env.get("input")
        if isinstance(dev_no, str) and isinstance(msgid, str):
            msgids.setdefault(dev_no, []).append(msgid)
        if (
            env.get("infno") in UPLOAD_INFNOS + REVERSAL_INFNOS
            and isinstance(data, Mapping)
            and isinstance(data.get("txn_id"), str)
        ):
            txn_ids.append(data["txn_id"])
    for dev_no, ids in msgids.items():
        stored = {
            r.msgid: r for r in conn.execute(q.MESSAGES_OF, {"dev_no": dev_no, "msgids": ids})
        }
        tx.messages.update({(dev_no, m): stored.get(m) for m in ids})
    if txn_ids:
        entries = {r.txn_id: r for r in conn.execute(q.ENTRY_ACKS, {"txn_ids": txn_ids})}
        tx.entries.update({t: entries.get(t) for t in txn_ids})


@contextmanager
def _savepoint(conn: Connection) -> Iterator[None]:
    """A SAVEPOINT around one message: released when it was answered, rolled back to when it
    raised. Plain SQL (the same on SQLite and PostgreSQL) on the DBAPI cursor rather than
    `begin_nested()`, whose savepoint clauses SQLAlchemy compiles afresh each time."""
    q.run_sql(conn, "SAVEPOINT message").close()
    try:
        yield
    except BaseException:
        q.run_sql(conn, "ROLLBACK TO SAVEPOINT message").close()
        q.run_sql(conn, "RELEASE SAVEPOINT message").close()
        raise
    q.run_sql(conn, "RELEASE SAVEPOINT message").close()


def _holds(status: str, reason: str | None) -> bool:
    """True when an entry in this state holds up the next one of its device (a reversal held
    for its original does not)."""
    return status == "pending" or (status == "held" and not reason)


def _lock_original(conn: Connection, txn_id: str) -> None:
    """PostgreSQL: serialise a sale's settling and the reversals of it on a lock for its
    `txn_id`, held until the transaction ends. A reversal from another terminal may arrive at
    another hub process while the sale's transaction is still open: without the lock, neither
    would see the other and the reversal would stay held for an original that has settled."""
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(txn_id.encode()).digest()[:8], "big", signed=True)
        q.ORIGINAL_LOCK.run(conn, {"key": key})


def _outcome(
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


def _ack(
    txn_id: str, setl_id: str, status: str, reason: str | None, result: str | None
) -> dict[str, Any]:
    ack: dict[str, Any] = {"txn_id": txn_id, "setl_id": setl_id, "status": status}
    if reason and status == "rejected":
        ack["reason"] = reason
    if status == "adjusted" and result:
        ack["result"] = json.loads(result)
    return ack


@functools.lru_cache(maxsize=4096)
def _public_key(public_b64: str) -> ed25519.Ed25519PublicKey:
    """A device's public key object, from its stored base64 (enrolment checked it)."""
    return ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64))


def _sig_ok(public_b64: str, sig_b64: str, digest_hex: str) -> bool:
    try:
        key = _public_key(public_b64)
        key.verify(base64.b64decode(sig_b64, validate=True), bytes.fromhex(digest_hex))
    except (InvalidSignature, ValueError):
        return False
    return True


def _refmsgid() -> str:
    return uuid.uuid4().hex


def _amount(value: Any) -> int | None:
    """Fen of a money string ("12.30", "-0.50"), None when it is not one."""
    if not isinstance(value, str):
        return None
    sign = -1 if value.startswith("-") else 1
    digits = value.lstrip("-")
    whole, _, frac = digits.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > 2:
        return None
    return sign * (int(whole) * 100 + int((frac + "00")[:2]))


def _negate(value: str) -> str:
    amount = _amount(value)
    return format_fen(-amount) if amount is not None else value


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
    cur, b, a = _amount(current) or 0, _amount(before) or 0, _amount(after) or 0
    return format_fen(cur - (a - b))

"""Settlement upload and reversal messages (platform-api.md "Settlement upload", "Settlement
reversal"): the input checks, the device's hash chain, entries held for a gap or for their
original, and the acknowledgement (`output.setlinfo`). Each entry is stored once, with its
outcome; the same `txn_id` and input again gets the stored acknowledgement."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection

from sync.hub import entry_store, trace
from sync.hub import statements as q
from sync.hub._common import Link, Message, Transaction, need
from sync.hub.errors import Refused
from sync.hub.reference import ReferenceData
from sync.hub.settling import lock_original, outcome, settle_entry, settle_reversal
from sync.protocol.canonical import canonical_json
from sync.protocol.envelope import INF_TIME_FORMAT, parse_inf_time
from sync.protocol.signing import verify_entry_signature
from sync.protocol.upload import ZERO_HASH, entry_hash

__all__ = ["TIME_TOLERANCE_S", "chain_head", "reversal", "upload"]

# how far an entry's settled_at may lie past its envelope's inf_time, and before the platform's
# time of the device's enrolment (the clock skew the envelope allows)
TIME_TOLERANCE_S = 300


def upload(
    conn: Connection, tx: Transaction, reference: ReferenceData, message: Message
) -> dict[str, Any]:
    """2102/2207/2304: store and settle a sale; its acknowledgement."""
    data, dev_no = message.data, message.dev_no
    txn_id = need(data, "txn_id", str)
    ledger = need(data, "ledger", dict)
    seq = need(ledger, "seq", int)
    for field in ("prev_hash", "hash", "sig"):
        need(ledger, field, str)
    need(data, "offline", bool)
    need(data, "settled_at", str)
    for field in ("mdtrt_cert_type", "mdtrt_cert_no"):
        need(data, field, str)
    claim = need(data, "claim", dict)
    need(data, "result", dict)
    need(data, "catalogue_version", int)
    if txn_id != f"{dev_no}-{seq}":
        raise Refused("bad_input", f"input.txn_id: must be {dev_no}-{seq}")
    person = claim.get("person", {})
    psn_cert = person.get("psn_cert") if isinstance(person, Mapping) else None
    return _store_entry(conn, tx, reference, message, "sale", psn_cert)


def reversal(
    conn: Connection, tx: Transaction, reference: ReferenceData, message: Message
) -> dict[str, Any]:
    """2103/2208/2305: store and settle a reversal; its acknowledgement."""
    data, dev_no = message.data, message.dev_no
    txn_id = need(data, "txn_id", str)
    need(data, "orig_txn_id", str)
    ledger = need(data, "ledger", dict)
    seq = need(ledger, "seq", int)
    for field in ("prev_hash", "hash", "sig"):
        need(ledger, field, str)
    need(data, "settled_at", str)
    if txn_id != f"{dev_no}-{seq}":
        raise Refused("bad_input", f"input.txn_id: must be {dev_no}-{seq}")
    return _store_entry(conn, tx, reference, message, "reversal", None)


# his-api.md "What is uploaded": the visit fields a hospital desk's sale carries in claim.visit
VISIT_FIELDS = ("mdtrt_id", "kind", "ipt_otp_no", "begntime", "endtime", "mid_setl_flag",
                "diseinfo", "returns", "acct_used_flag")  # fmt: skip


def visit_fields(data: Mapping[str, Any]) -> str | None:
    """The visit fields of a sale's claim, canonical JSON; None for a sale without a visit."""
    claim = data.get("claim")
    visit = claim.get("visit") if isinstance(claim, Mapping) else None
    if not isinstance(visit, Mapping) or "mdtrt_id" not in visit:
        return None
    kept = {k: visit[k] for k in VISIT_FIELDS if k in visit}
    return json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_head(conn: Connection, tx: Transaction, dev_no: str) -> dict[str, Any]:
    """`{"seq", "hash"}` of the last entry stored for the device (seq 0 and 64 zeros: none).
    Read once per transaction while nobody else adds the device's entries (its row locked on
    PostgreSQL, the write lock on SQLite), then kept as this transaction stores them."""
    head = tx.heads.get(dev_no)
    if head is None:
        row = q.CHAIN_HEAD.first(conn, {"dev_no": dev_no})
        head = (row.seq, row.hash) if row is not None else (0, ZERO_HASH)
        if dev_no in tx.locked or conn.dialect.name != "postgresql":
            tx.heads[dev_no] = head
    return {"seq": head[0], "hash": head[1]}


def _store_entry(
    conn: Connection,
    tx: Transaction,
    reference: ReferenceData,
    message: Message,
    kind: str,
    psn_cert: str | None,
) -> dict[str, Any]:
    data, dev_no, now = message.data, message.dev_no, message.now
    tx.now = int(now.timestamp())  # (when codes change: trace refdata deltas)
    txn_id, ledger = data["txn_id"], data["ledger"]
    seq = ledger["seq"]
    existing = (
        tx.entries.pop(txn_id) if txn_id in tx.entries else entry_store.stored_ack(conn, txn_id)
    )
    if existing is not None:
        if isinstance(existing, entry_store.Archived):  # its month's partition was detached
            raise Refused(
                "bad_input",
                f"input.txn_id: {txn_id} was stored, settled {existing.setl_date}, in a month "
                "the platform has archived: ask the platform's operators for its outcome",
            )
        if existing.input_hash != message.input_hash:
            return {
                "txn_id": txn_id,
                "setl_id": "",
                "status": "rejected",
                "reason": "txn_id_reused",
            }
        return _ack(
            existing.txn_id,
            existing.setl_id,
            existing.status,
            existing.reason,
            existing.result,
            existing.flags,
        )
    try:
        settled = parse_inf_time(data["settled_at"])
    except ValueError:
        raise Refused("bad_input", "input.settled_at: not yyyy-MM-dd HH:mm:ss") from None
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
        "visit": visit_fields(data),
        "flags": None,
    }
    status, reason = _chain_status(conn, tx, message.device, data, message.canonical)
    if status in ("pending", "held"):
        status, reason = _time_status(message, reference.tz, status, tx.links.get(dev_no))
    if status == "pending":
        # settled before it is written: the row goes in once, with its outcome
        values.update(settle_entry(conn, tx, reference, txn_id, kind, data, values["setl_date"]))
    else:
        values.update(status=status, reason=reason)
    if kind == "sale" and values["reason"] != "ledger_mismatch":  # (signed by the device)
        flags = trace.record_upload(conn, reference, message, values["setl_date"])
        values["flags"] = canonical_json(flags).decode() if flags else None
    elif kind == "reversal" and values["status"] == "accepted":
        _return_codes(conn, data["orig_txn_id"], tx.now)
    entry_store.insert_entry(conn, values)
    head = tx.heads.get(dev_no)
    if head is not None and seq > head[0]:
        tx.heads[dev_no] = (seq, ledger["hash"])
    tx.links[dev_no] = Link(
        seq, ledger["hash"], _holds(values["status"], values["reason"]), data["settled_at"]
    )
    if status == "held":
        tx.gaps[dev_no] = True
    elif status == "pending":
        if kind == "sale":
            _settle_waiting_reversal(conn, tx, txn_id)
        if tx.gaps[dev_no]:
            _release_held(conn, tx, reference, dev_no, seq + 1)
    return _ack(
        txn_id,
        values["setl_id"],
        values["status"],
        values["reason"],
        values["result"],
        values["flags"],
    )


def _chain_status(
    conn: Connection,
    tx: Transaction,
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
    if digest != ledger["hash"] or not verify_entry_signature(
        device.public_key, digest, ledger["sig"]
    ):
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
        prev = (
            Link(seq - 1, row.hash, _holds(row.status, row.reason), row.settled_at) if row else None
        )
        if prev is not None:
            tx.links[device.dev_no] = prev  # (the time check reads it; replaced once stored)
    if prev is None or prev.holds:
        return "held", None
    if prev.hash != ledger["prev_hash"]:
        return "rejected", "ledger_mismatch"
    return "pending", None


def _time_status(
    message: Message, tz: tzinfo, status: str, prev: Link | None
) -> tuple[str, str | None]:
    """`status` kept, or ("rejected", "bad_time") when the entry's `settled_at` is earlier than
    the device's enrolment, later than the envelope's `inf_time` + 300 s, or (an entry whose
    previous one is settled) earlier than the previous entry's (platform-api.md "Trust
    rules"). The enrolment is the platform's time of it less the clock tolerance: the device's
    clock may have read up to that much less when it enrolled."""
    settled_at = message.data["settled_at"]
    seq = message.data["ledger"]["seq"]
    enrolled = datetime.fromtimestamp(message.device.enrolled_at - TIME_TOLERANCE_S, tz)
    if settled_at < enrolled.strftime(INF_TIME_FORMAT):
        return "rejected", "bad_time"
    if message.inf_time is not None:
        latest = message.inf_time + timedelta(seconds=TIME_TOLERANCE_S)
        if settled_at > latest.strftime(INF_TIME_FORMAT):
            return "rejected", "bad_time"
    if status == "pending" and seq > 1 and prev is not None and prev.seq == seq - 1:
        if settled_at < prev.settled_at:
            return "rejected", "bad_time"
    return status, None


def _release_held(
    conn: Connection, tx: Transaction, reference: ReferenceData, dev_no: str, seq: int
) -> None:
    """Settle the held entries that follow, in seq order, while the chain holds."""
    while True:
        row = q.ENTRY_AT.first(conn, {"dev_no": dev_no, "seq": seq})
        if row is None or row.status != "held" or row.reason:
            return
        prev = q.LINK_AT.first(conn, {"dev_no": dev_no, "seq": seq - 1})
        data = json.loads(row.input)
        if prev is None or prev.hash != data["ledger"]["prev_hash"]:
            _finish(conn, tx, row, outcome("rejected", "ledger_mismatch"))
        elif data["settled_at"] < prev.settled_at:  # (its other bounds held when it came)
            _finish(conn, tx, row, outcome("rejected", "bad_time"))
        else:
            result = settle_entry(conn, tx, reference, row.txn_id, row.kind, data, row.setl_date)
            _finish(conn, tx, row, result)
            if row.kind == "sale":
                _settle_waiting_reversal(conn, tx, row.txn_id)
            elif result["status"] == "accepted":
                _return_codes(conn, data["orig_txn_id"], tx.now)
        seq += 1


def _finish(conn: Connection, tx: Transaction, row: Any, result: Mapping[str, Any]) -> None:
    """Settle entry `row`, stored before (held until now)."""
    q.FINISH_ENTRY.run(conn, {"key": row.txn_id, "key_date": row.setl_date, **result})
    tx.entries.pop(row.txn_id, None)  # what was read ahead of it is no longer its state


def _settle_waiting_reversal(conn: Connection, tx: Transaction, txn_id: str) -> None:
    """A reversal of sale `txn_id` that arrived first, held for it, settles now."""
    lock_original(conn, txn_id)
    waiting = q.WAITING_REVERSAL.first(conn, {"txn_id": txn_id})
    if waiting is not None:
        result = settle_reversal(conn, waiting.txn_id, json.loads(waiting.input))
        _finish(conn, tx, waiting, result)
        if result["status"] == "accepted":
            _return_codes(conn, txn_id, tx.now)


def _holds(status: str, reason: str | None) -> bool:
    """True when an entry in this state holds up the next one of its device (a reversal held
    for its original does not)."""
    return status == "pending" or (status == "held" and not reason)


def _ack(
    txn_id: str,
    setl_id: str,
    status: str,
    reason: str | None,
    result: str | None,
    flags: str | None,
) -> dict[str, Any]:
    ack: dict[str, Any] = {"txn_id": txn_id, "setl_id": setl_id, "status": status}
    if reason and status == "rejected":
        ack["reason"] = reason
    if status == "adjusted" and result:
        ack["result"] = json.loads(result)
    if flags:
        ack["flags"] = json.loads(flags)  # trace-codes.md: the sale's status stands
    return ack


def _return_codes(conn: Connection, orig_txn_id: str, now: int) -> None:
    """A settled reversal returns the codes its original sold (trace-codes.md)."""
    orig = q.ENTRY_BY_TXN.first(conn, {"txn_id": orig_txn_id})
    if orig is not None:
        trace.return_sale(conn, orig_txn_id, orig.input, now)

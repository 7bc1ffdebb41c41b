"""The hub's batch read-ahead: the stored messages and entries a batch names, read in a few
queries for the whole batch (`Hub._answer_all`)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection

from sync.hub import statements as q
from sync.hub._common import REVERSAL_INFNOS, UPLOAD_INFNOS, Transaction
from sync.hub.entry_store import stored_acks

__all__ = ["read_ahead"]


def read_ahead(conn: Connection, tx: Transaction, messages: list[object]) -> None:
    """Read the stored messages and entries `messages` name, a query per device for the
    messages and two for the entries (their keys, then those found) for a whole batch rather
    than for each message. Only a shortcut: a message or entry stored after this
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
        tx.entries.update(stored_acks(conn, txn_ids))

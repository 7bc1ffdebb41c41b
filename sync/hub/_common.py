"""What the platform's message handlers share (platform-api.md "Envelope", "Messages"): the
transaction numbers, a message past the envelope checks, what the current database transaction
knows, the `bad_input` check of a field, money strings and device keys."""

from __future__ import annotations

import base64
import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import Connection, and_, insert, select, update

from sync.hub.errors import Refused
from sync.protocol.canonical import canonical_json
from sync.protocol.envelope import cainfo_ok

__all__ = [
    "PRESETTLE_INFNOS",
    "REVERSAL_INFNOS",
    "UPLOAD_INFNOS",
    "Link",
    "Message",
    "Prechecked",
    "Transaction",
    "amount",
    "need",
    "public_key",
    "signed_input",
    "upsert",
]

PRESETTLE_INFNOS = ("2101", "2206", "2303")
UPLOAD_INFNOS = ("2102", "2207", "2304")
REVERSAL_INFNOS = ("2103", "2208", "2305")


@dataclass(frozen=True, slots=True)
class Link:
    """A device's entry as the next one's chain check needs it."""

    seq: int
    hash: str
    holds: bool  # held for a gap (or not yet settled): the next entry waits for it
    settled_at: str = ""  # the entry's settled_at: the next one may not be earlier


Mark = tuple[set[str], dict[str, Link], dict[str, bool], dict[str, tuple[int, str]]]


@dataclass(slots=True)
class Transaction:
    """What the current database transaction has read, written or locked already: a batch's
    messages share one transaction. Only one transaction at a time writes a device's entries
    (the device's row lock on PostgreSQL, the write lock on SQLite), so what this one knows of
    them stays true until it ends; `mark`/`undo` keep it true when a message's savepoint is
    rolled back."""

    devices: dict[str, Any] = dataclasses.field(default_factory=dict)  # device rows by dev_no
    hotlists: list[tuple[int, int]] | None = None  # (version, issued_at) of every hotlist
    # by dev_no, undone with a message's savepoint:
    locked: set[str] = dataclasses.field(default_factory=set)  # locked FOR UPDATE (PostgreSQL)
    links: dict[str, Link] = dataclasses.field(default_factory=dict)  # the last entry written
    gaps: dict[str, bool] = dataclasses.field(default_factory=dict)  # may hold entries for a gap
    # the device's chain head (seq, hash), kept while its entries are ours alone (locked)
    heads: dict[str, tuple[int, str]] = dataclasses.field(default_factory=dict)
    # read ahead for the batch, each taken once (a second look, or one after a constraint
    # violation, reads the database): stored messages by (dev_no, msgid) and entries by
    # txn_id, None when there was none
    messages: dict[tuple[str, str], Any] = dataclasses.field(default_factory=dict)
    entries: dict[str, Any] = dataclasses.field(default_factory=dict)
    now: int = 0  # the platform's epoch of the message being answered
    # PostgreSQL: the last message's savepoint, released with the next one's SAVEPOINT (one
    # round trip) or by the COMMIT
    savepoint: bool = False

    def mark(self) -> Mark:
        """What a message's savepoint may change, to `undo` it."""
        return set(self.locked), dict(self.links), dict(self.gaps), dict(self.heads)

    def undo(self, mark: Mark) -> None:
        """Go back to `mark` (the savepoint was rolled back)."""
        self.locked, self.links, self.gaps, self.heads = mark


@dataclass(frozen=True, slots=True)
class Message:
    """A message past the envelope checks: its device row, input and canonical input."""

    dev_no: str
    device: Any
    data: Mapping[str, Any]
    now: datetime
    canonical: bytes
    input_hash: str
    inf_time: datetime | None = None  # the envelope's, in the platform's zone


def need(doc: Mapping[str, Any], field: str, kind: type | tuple[type, ...]) -> Any:
    """`doc[field]` when it is a `kind`; refused as `bad_input` naming the field otherwise."""
    value = doc.get(field)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise Refused("bad_input", f"input.{field}: missing or of the wrong type")
    return value


def amount(value: Any) -> int | None:
    """Fen of a money string ("12.30", "-0.50"), None when it is not one."""
    if not isinstance(value, str):
        return None
    sign = -1 if value.startswith("-") else 1
    digits = value.lstrip("-")
    whole, _, frac = digits.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > 2:
        return None
    return sign * (int(whole) * 100 + int((frac + "00")[:2]))


@functools.lru_cache(maxsize=4096)
def public_key(public_b64: str) -> ed25519.Ed25519PublicKey:
    """A device's public key object, from its stored base64 (enrolment checked it)."""
    return ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64))


def upsert(conn: Connection, table: Any, key: dict[str, Any], **values: Any) -> None:
    """Update the row of `table` at `key` with `values`, or insert it."""
    cond = and_(*(table.c[k] == v for k, v in key.items()))
    if conn.execute(select(*table.primary_key.columns).where(cond)).first() is None:
        conn.execute(insert(table).values(**key, **values))
    else:
        conn.execute(update(table).where(cond).values(**values))


@dataclass(frozen=True, slots=True)
class Prechecked:
    """A bundle's messages whose envelopes and signatures its check verified, with the device's
    key `device_key`, before anything was stored (platform-api.md "Bundles"): each message's
    canonical input, by the identity of its envelope (the bundle's list holds them)."""

    device_key: str
    inputs: dict[int, bytes]


def signed_input(env: Mapping[str, Any], device_key: str, pre: Prechecked | None) -> bytes:
    """The canonical JSON of `env`'s input, once its `cainfo` verifies with `device_key` (or the
    bundle's check verified it with that key); refused `bad_signature` otherwise."""
    if pre is not None and pre.device_key == device_key:
        checked = pre.inputs.get(id(env))
        if checked is not None:
            return checked
    try:
        canonical = canonical_json(env["input"])  # the one walk that refuses floats
    except TypeError:  # a float: no terminal signed that (money and ratios are strings)
        raise Refused("bad_signature", "cainfo does not verify with the device key") from None
    if not cainfo_ok(env, public_key(device_key), input_json=canonical):
        raise Refused("bad_signature", "cainfo does not verify with the device key")
    return canonical

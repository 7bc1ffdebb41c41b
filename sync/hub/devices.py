"""The platform's devices (platform-api.md "9101 enrolment", "Messages", "Platform administration"):
the root key every terminal trusts, one-time enrolment codes and 9101 enrolment, operator sign-in
and sign-out (9001/9002), and message reversal (2601), which cancels a sign-in."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import Connection, Engine, and_, insert, select, update

from sync.hub import schema as t
from sync.hub._common import UPLOAD_INFNOS, need, upsert
from sync.hub.errors import HubError, Refused

__all__ = [
    "CODE_LIFETIME_S",
    "enrol",
    "enrol_code",
    "keygen",
    "reverse_message",
    "root_key",
    "root_public_b64",
    "root_public_b64_on",
    "sign_in",
    "sign_out",
]

CODE_LIFETIME_S = 24 * 3600

# -- the root key ---------------------------------------------------------------------------


def keygen(engine: Engine, *, replace: bool) -> str:
    """Create the platform root key (stored in the database); its public key, base64."""
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    with engine.begin() as conn:
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
    return root_public_b64(engine)


def root_key(conn: Connection) -> ed25519.Ed25519PrivateKey:
    """The platform root key; HubError when there is none yet."""
    value = conn.execute(select(t.hub_meta.c.value).where(t.hub_meta.c.key == "root_key")).scalar()
    if value is None:
        raise HubError("the platform has no root key yet: run `medpos hub keygen` first")
    return ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(value))


def root_public_b64(engine: Engine) -> str:
    """The root's public key, base64 of its 32 raw bytes."""
    with engine.connect() as conn:
        return root_public_b64_on(conn)


def root_public_b64_on(conn: Connection) -> str:
    """The root's public key, base64 of its 32 raw bytes, read on `conn`."""
    public = root_key(conn).public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


# -- 9101 enrolment -------------------------------------------------------------------------


def enrol_code(
    engine: Engine,
    clock: Callable[[], float],
    dev_no: str,
    *,
    fixmedins_code: str,
    fixmedins_name: str,
    mdtrtarea_admvs: str,
) -> str:
    """A new one-time enrolment code for `dev_no`, valid for 24 h."""
    code = secrets.token_hex(8).upper()
    with engine.begin() as conn:
        conn.execute(
            insert(t.enrol_codes).values(
                code=code,
                dev_no=dev_no,
                fixmedins_code=fixmedins_code,
                fixmedins_name=fixmedins_name,
                mdtrtarea_admvs=mdtrtarea_admvs,
                expires_at=int(clock()) + CODE_LIFETIME_S,
            )
        )
    return code


def enrol(conn: Connection, env: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """9101: store the device's key when its code holds; the output of the answer."""
    data = env["input"]
    code = need(data, "code", str)
    public = need(data, "public_key", str)
    key_id = need(data, "key_id", str)
    row = conn.execute(select(t.enrol_codes).where(t.enrol_codes.c.code == code)).first()
    stamp = int(now.timestamp())
    if (
        row is None
        or row.used_at is not None
        or row.expires_at < stamp
        or row.dev_no != env["dev_no"]
    ):
        raise Refused(
            "bad_code",
            "the enrolment code is unknown, used, expired or not this "
            "device's: ask the platform operator for a new one",
        )
    try:
        raw = base64.b64decode(public, validate=True)
        ed25519.Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, InvalidSignature):
        raise Refused("bad_input", "input.public_key: not base64 of 32 raw bytes") from None
    if hashlib.sha256(raw).hexdigest()[:16] != key_id:
        raise Refused("bad_input", "input.key_id: not the public key's id")
    conn.execute(update(t.enrol_codes).where(t.enrol_codes.c.code == code).values(used_at=stamp))
    upsert(
        conn,
        t.devices,
        {"dev_no": row.dev_no},
        public_key=public,
        key_id=key_id,
        fixmedins_code=row.fixmedins_code,
        dev_name=str(data.get("dev_name", "")),
        enrolled_at=stamp,
        mdtrtarea_admvs=row.mdtrtarea_admvs,
    )
    return {
        "dev_no": row.dev_no,
        "fixmedins_code": row.fixmedins_code,
        "fixmedins_name": row.fixmedins_name,
        "mdtrtarea_admvs": row.mdtrtarea_admvs,
        "root_public_key": root_public_b64_on(conn),
    }


# -- 9001/9002 operator sign-in and sign-out, 2601 message reversal -------------------------


def sign_in(
    conn: Connection, dev_no: str, data: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """9001: a new sign-in of the operator `data` names."""
    opter = need(data, "opter", str)
    sign_no = uuid.uuid4().hex
    conn.execute(
        insert(t.sign_ins).values(
            sign_no=sign_no, dev_no=dev_no, opter=opter, signed_in_at=int(now.timestamp())
        )
    )
    return {"sign_no": sign_no}


def sign_out(
    conn: Connection,
    dev_no: str,
    env: Mapping[str, Any],
    data: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """9002: end the sign-in the envelope (or its input) names."""
    sign_no = env.get("sign_no") or data.get("sign_no") or ""
    conn.execute(
        update(t.sign_ins)
        .where(and_(t.sign_ins.c.sign_no == sign_no, t.sign_ins.c.dev_no == dev_no))
        .values(signed_out_at=int(now.timestamp()))
    )
    return {"sign_no": sign_no}


def reverse_message(
    conn: Connection, dev_no: str, data: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """2601: cancel a sign-in (or a pre-settlement, which recorded nothing) whose answer
    never came; a settlement is reversed by its reversal message instead."""
    omsgid = need(data, "omsgid", str)
    oinfno = need(data, "oinfno", str)
    if oinfno in UPLOAD_INFNOS:
        raise Refused("bad_input", "input.oinfno: reverse a settlement with 2103/2208/2305")
    original = conn.execute(
        select(t.messages).where(and_(t.messages.c.dev_no == dev_no, t.messages.c.msgid == omsgid))
    ).first()
    cancelled = False
    if original is not None and oinfno == "9001":
        sign_no = json.loads(original.response).get("output", {}).get("sign_no")
        conn.execute(
            update(t.sign_ins)
            .where(t.sign_ins.c.sign_no == sign_no)
            .values(signed_out_at=int(now.timestamp()))  # the message's time, as 9002
        )
        cancelled = True
    return {"omsgid": omsgid, "found": original is not None, "cancelled": cancelled}

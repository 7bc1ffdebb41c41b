"""The message envelope of platform-api.md, shared by `sync/client` and `sync/hub`.

A request carries `infno`, `msgid`, the device's ids, `inf_time`, `input` and `cainfo`, the
device's Ed25519 signature (base64) over the canonical JSON of the envelope without `cainfo`.
`envelope_shape_error` is the HTTP 400 check (malformed or missing required fields); `cainfo_ok`
the signature check; `MsgidSource` makes the per-terminal unique `msgid`s.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from sync.protocol.canonical import canonical_json, canonical_json_with

__all__ = [
    "INF_TIME_FORMAT",
    "REQUIRED_FIELDS",
    "MsgidSource",
    "build_request",
    "build_response",
    "cainfo_ok",
    "envelope_shape_error",
    "parse_inf_time",
    "signed_bytes",
]

INF_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_INF_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
# the fields whose absence or wrong type is HTTP 400 (`infcode` -1), in the order they are named
REQUIRED_FIELDS: tuple[tuple[str, type], ...] = (
    ("infno", str),
    ("msgid", str),
    ("dev_no", str),
    ("dev_safe_info", str),
    ("cainfo", str),
    ("signtype", str),
    ("inf_time", str),
    ("input", dict),
)


def signed_bytes(envelope: Mapping[str, Any], *, input_json: bytes | None = None) -> bytes:
    """The bytes `cainfo` signs: the canonical JSON of the envelope without `cainfo`.

    `input_json`: the canonical JSON of the envelope's `input` when the caller has it already
    (it is put in place rather than serialised again)."""
    rest = {k: v for k, v in envelope.items() if k != "cainfo"}
    if input_json is None or "input" not in rest:
        return canonical_json(rest)
    return canonical_json_with(rest, "input", input_json)


def build_request(
    *,
    infno: str,
    msgid: str,
    dev_no: str,
    key_id: str,
    inf_time: datetime,
    input: Mapping[str, Any],  # noqa: A002 - the spec's name
    sign: Callable[[bytes], str] | None,
    fixmedins_code: str = "",
    fixmedins_name: str = "",
    mdtrtarea_admvs: str = "",
    insuplc_admdvs: str = "",
    opter: str = "",
    opter_name: str = "",
    opter_type: str = "1",
    sign_no: str = "",
) -> dict[str, Any]:
    """A signed request envelope; `sign(bytes) -> base64` is the device key (None: enrolment,
    sent with an empty `cainfo`)."""
    envelope: dict[str, Any] = {
        "infno": infno,
        "msgid": msgid,
        "mdtrtarea_admvs": mdtrtarea_admvs,
        "insuplc_admdvs": insuplc_admdvs,
        "recer_sys_code": "medpos",
        "dev_no": dev_no,
        "dev_safe_info": key_id,
        "signtype": "ED25519",
        "infver": "V1.0",
        "opter_type": opter_type,
        "opter": opter,
        "opter_name": opter_name,
        "inf_time": inf_time.strftime(INF_TIME_FORMAT),
        "fixmedins_code": fixmedins_code,
        "fixmedins_name": fixmedins_name,
        "sign_no": sign_no,
        "input": dict(input),
    }
    envelope["cainfo"] = sign(signed_bytes(envelope)) if sign is not None else ""
    return envelope


def parse_inf_time(text: str) -> datetime:
    """A `yyyy-MM-dd HH:mm:ss` time (naive); ValueError when it is not one.

    The same as `datetime.strptime(text, INF_TIME_FORMAT)`, which stays the judge of anything
    not shaped exactly so; the common shape is read without it (a platform reads two or three
    of these per message, and strptime cost as much as a database statement)."""
    if _INF_TIME.fullmatch(text):
        return datetime(
            int(text[0:4]),
            int(text[5:7]),
            int(text[8:10]),
            int(text[11:13]),
            int(text[14:16]),
            int(text[17:19]),
        )
    return datetime.strptime(text, INF_TIME_FORMAT)


def build_response(
    *,
    infcode: int,
    refmsgid: str,
    now: datetime,
    output: Mapping[str, Any] | None = None,
    err_msg: str = "",
) -> dict[str, Any]:
    stamp = now.strftime(INF_TIME_FORMAT)
    return {
        "infcode": infcode,
        "inf_refmsgid": refmsgid,
        "refmsg_time": stamp,
        "respond_time": stamp,
        "err_msg": err_msg,
        "output": dict(output) if output is not None else {},
    }


def envelope_shape_error(obj: object) -> str | None:
    """None for a well-formed request envelope, else what is wrong, naming the field."""
    if not isinstance(obj, Mapping):
        return "the message is not a JSON object"
    for field, kind in REQUIRED_FIELDS:
        if field not in obj:
            return f"{field}: missing"
        value = obj[field]
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"{field}: must be {'an object' if kind is dict else 'a string'}"
    return None


def cainfo_ok(
    envelope: Mapping[str, Any],
    public: bytes | ed25519.Ed25519PublicKey,
    *,
    input_json: bytes | None = None,
) -> bool:
    """True when `cainfo` is the device key's signature over the envelope (`public`: the raw
    32 bytes of the key, or the key itself; `input_json` as for `signed_bytes`)."""
    try:
        signature = base64.b64decode(envelope.get("cainfo", ""), validate=True)
        key = (
            public
            if isinstance(public, ed25519.Ed25519PublicKey)
            else ed25519.Ed25519PublicKey.from_public_bytes(public)
        )
        key.verify(signature, signed_bytes(envelope, input_json=input_json))
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


class MsgidSource:
    """`msgid`s unique per terminal: `dev_no` + `yyyyMMddHHmmss` + a 4-digit sequence.

    The sequence is a block number (two digits) and a count within the block (two digits). A
    block comes from `reserve()`, a durable per-terminal counter (the ledger's), so two processes
    of one terminal, or one restarted within the same second, never hand out the same id; a new
    block is reserved when a second has used up 100 ids of the current one.
    """

    def __init__(
        self, dev_no: str, clock: Callable[[], datetime], reserve: Callable[[], int]
    ) -> None:
        self.dev_no = dev_no
        self._clock = clock
        self._reserve = reserve
        self._lock = threading.Lock()
        self._block: int | None = None
        self._second = ""
        self._count = 0

    def next(self) -> str:
        with self._lock:
            second = self._clock().strftime("%Y%m%d%H%M%S")
            if second != self._second:
                self._second, self._count = second, 0
            if self._block is None or self._count >= 100:
                self._block = self._reserve() % 100
                self._count = 0
            self._count += 1
            return f"{self.dev_no}{second}{self._block:02d}{self._count - 1:02d}"

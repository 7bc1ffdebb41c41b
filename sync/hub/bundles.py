"""Bundles at the platform (platform-api.md "Field and fleet additions"): `medpos hub import FILE`
and `POST /fsi/api/bundle`.

A bundle is checked whole before anything is stored: its `sha256`, then every message's envelope
(the HTTP 400 shape check, the bundle's own `dev_no`, a device enrolled here) and signature. The
first bad message refuses the bundle (`BundleRefused`, naming its 0-based index and `msgid`).
Then the messages are answered as one batch, `BUNDLE_CHUNK` to a database transaction, each
exactly as over `/fsi/api/batch` but for `clock_skew`, which refuses only an `inf_time` more
than 300 s in the future (the messages were signed at export). The answer carries one response
per message in order and the device's reference data, whole. The same bundle again is answered
from what is stored (the messages' `msgid`s and the entries' `txn_id`s), changing nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sync.hub import statements as q
from sync.hub._common import Prechecked, public_key
from sync.hub.access import refdata_device
from sync.hub.errors import HubError
from sync.hub.reference import serve_to
from sync.protocol.bundle import BUNDLE_CHUNK, BundleError, check_bundle, make_answer
from sync.protocol.canonical import canonical_json
from sync.protocol.envelope import cainfo_ok, envelope_shape_error
from sync.protocol.refdata import KINDS

if TYPE_CHECKING:
    from sync.hub.service import Hub

__all__ = ["BUNDLE_KIND", "BundleRefused", "answer_bundle", "bundle_sender_ok"]

# what the relaying device's `X-Dev-Sig` names as `kind` (the refdata request's signed shape)
BUNDLE_KIND = "bundle"


class BundleRefused(HubError):
    """A bundle refused whole, nothing stored; `index` and `msgid` name its first bad message
    (None when the bundle itself is bad: its format or `sha256`)."""

    def __init__(self, message: str, index: int | None = None, msgid: str | None = None) -> None:
        super().__init__(message)
        self.index = index
        self.msgid = msgid


def bundle_sender_ok(hub: Hub, headers: Mapping[str, str]) -> bool:
    """True when `headers` are an enrolled device's signed `X-Dev-No`, `X-Dev-Time` and
    `X-Dev-Sig` for a bundle (as for refdata, with `kind` "bundle" and `since` null)."""
    with hub.engine.connect() as conn:
        return refdata_device(conn, headers, BUNDLE_KIND, None, hub.clock()) is not None


def _first_bad(
    messages: list[Any], dev_no: str, key: Any, inputs: dict[int, bytes]
) -> tuple[int, str | None, str] | None:
    """(index, msgid, what is wrong) of the first message whose envelope or signature fails;
    each message that passes leaves its canonical input in `inputs` (by its envelope's id), so
    that storing it does not verify it again."""
    for i, env in enumerate(messages):
        msgid = env.get("msgid") if isinstance(env, Mapping) else None
        problem = envelope_shape_error(env)
        if problem is None and env["dev_no"] != dev_no:
            problem = f"dev_no: {env['dev_no']} is not the bundle's device {dev_no}"
        if problem is None:
            try:
                canonical = canonical_json(env["input"])
                ok = cainfo_ok(env, key, input_json=canonical)
            except TypeError:  # a float: no device signed that
                ok = False
            if ok:
                inputs[id(env)] = canonical
            else:
                problem = "bad_signature: cainfo does not verify with the device key"
        if problem is not None:
            return i, msgid if isinstance(msgid, str) else None, problem
    return None


def answer_bundle(hub: Hub, obj: object) -> dict[str, Any]:
    """The answer bundle of `obj`; raises `BundleRefused` (nothing stored) when it is not a
    bundle, was edited, or one of its messages fails its envelope or signature check."""
    try:
        bundle = check_bundle(obj)
    except BundleError as exc:
        raise BundleRefused(f"bundle refused: {exc}") from None
    dev_no, messages = bundle["dev_no"], bundle["messages"]
    with hub.engine.connect() as conn:
        device = q.DEVICE.first(conn, {"dev_no": dev_no})
    if device is None:
        raise BundleRefused(f"bundle refused: unknown_device: {dev_no} is not enrolled")
    checked = Prechecked(device.public_key, {})
    bad = _first_bad(messages, dev_no, public_key(device.public_key), checked.inputs)
    if bad is not None:
        index, msgid, problem = bad
        raise BundleRefused(
            f"bundle refused whole, nothing stored: message {index} (msgid {msgid}): {problem}",
            index,
            msgid,
        )
    results: list[dict[str, Any]] = []
    for start in range(0, len(messages), BUNDLE_CHUNK):
        # the batch path itself (one transaction per chunk, a SAVEPOINT per message)
        results += hub._answer_all(messages[start : start + BUNDLE_CHUNK], bundled=checked)  # noqa: SLF001
    refdata = []
    with hub.engine.connect() as conn:
        for kind in KINDS:
            status, wrapper = serve_to(conn, device, kind, None, clock=hub.clock, tz=hub.tz)
            if status == 200 and wrapper is not None:
                refdata.append(wrapper)
    return make_answer(dev_no, results, refdata)

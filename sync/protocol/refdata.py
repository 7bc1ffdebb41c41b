"""Signed reference data (platform-api.md `GET /fsi/api/refdata/{kind}`): check, sign, apply deltas.

A refdata object is `{"kind", "version", "base_version", "issued_at", "body", "sig"}`; `sig` is the
platform root's Ed25519 signature (base64) over the canonical JSON of the object without `sig`.
Both sides use this module: the hub signs, the terminal checks before anything is used.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from sync.protocol.canonical import canonical_json

__all__ = [
    "DELTA_KEYS",
    "KINDS",
    "RefdataError",
    "apply_delta",
    "REFDATA_SKEW_S",
    "load_root_public_key",
    "refdata_request_bytes",
    "refdata_request_headers",
    "sign_refdata",
    "verify_refdata",
]

# `trace` (trace-codes.md) is made by the platform for each device, never published
KINDS = ("catalogue", "policy", "trustlist", "hotlist", "persons", "trace")
# how delta entries are keyed (platform-api.md refdata)
DELTA_KEYS = {"catalogue": ("code",), "hotlist": ("kind", "value")}


# how far `X-Dev-Time` may be from the platform's clock
REFDATA_SKEW_S = 300


def refdata_request_bytes(dev_no: str, kind: str, since: int | None, time: int) -> bytes:
    """What `X-Dev-Sig` signs: the canonical JSON of `{"dev_no", "kind", "since", "time"}`
    (`since` null when the request names none, `time` the epoch of `X-Dev-Time`)."""
    return canonical_json({"dev_no": dev_no, "kind": kind, "since": since, "time": time})


def refdata_request_headers(
    dev_no: str, kind: str, since: int | None, time: int, sign: Callable[[bytes], str]
) -> dict[str, str]:
    """The headers of an enrolled device's `GET /fsi/api/refdata/{kind}` (platform-api.md
    "Transport"): `X-Dev-No`, `X-Dev-Time` (epoch) and `X-Dev-Sig`, `sign(bytes) -> base64`
    being the device key's Ed25519 signature."""
    return {
        "X-Dev-No": dev_no,
        "X-Dev-Time": str(time),
        "X-Dev-Sig": sign(refdata_request_bytes(dev_no, kind, since, time)),
    }


class RefdataError(ValueError):
    """A refdata object that must not be used; the message says why and what to do."""


def load_root_public_key(b64: str) -> ed25519.Ed25519PublicKey:
    """The platform root key from its base64 raw 32 bytes (config `[platform] root_public_key`)."""
    try:
        raw = base64.b64decode(b64, validate=True)
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise RefdataError(
            f"the platform root key is not base64 of 32 raw Ed25519 bytes ({exc}): check "
            "[platform] root_public_key, or enrol again"
        ) from None


def sign_refdata(obj: Mapping[str, Any], root: ed25519.Ed25519PrivateKey) -> dict[str, Any]:
    """`obj` (without `sig`) with the root's signature added."""
    unsigned = {k: v for k, v in obj.items() if k != "sig"}
    sig = base64.b64encode(root.sign(canonical_json(unsigned))).decode()
    return {**unsigned, "sig": sig}


def verify_refdata(
    obj: object, root: ed25519.Ed25519PublicKey, kind: str | None = None
) -> dict[str, Any]:
    """The refdata object, once its shape and root signature are right; else `RefdataError`."""
    if not isinstance(obj, Mapping):
        raise RefdataError("reference data must be a JSON object with kind, version, body, sig")
    if obj.get("kind") not in KINDS:
        raise RefdataError(f"unknown reference data kind {obj.get('kind')!r}")
    if kind is not None and obj["kind"] != kind:
        raise RefdataError(f"expected {kind} reference data, got {obj['kind']}")
    for field in ("version", "issued_at"):
        value = obj.get(field)
        if not isinstance(value, int) or isinstance(value, bool):
            raise RefdataError(f"{obj['kind']}: {field} must be an integer")
    base = obj.get("base_version")
    if base is not None and (not isinstance(base, int) or isinstance(base, bool)):
        raise RefdataError(f"{obj['kind']}: base_version must be an integer or null")
    if "body" not in obj or not isinstance(obj.get("sig"), str):
        raise RefdataError(f"{obj['kind']}: body and sig are required")
    unsigned = {k: v for k, v in obj.items() if k != "sig"}
    try:
        root.verify(base64.b64decode(obj["sig"], validate=True), canonical_json(unsigned))
    except (InvalidSignature, binascii.Error, TypeError, ValueError):
        raise RefdataError(
            f"{obj['kind']} version {obj['version']}: the platform signature is wrong: the "
            "previous version stays in use; check the platform root key, then sync again"
        ) from None
    return dict(obj)


def apply_delta(kind: str, held: Any, delta: Mapping[str, Any]) -> Any:
    """The whole document after a delta `{"added": [...], "removed": [keys]}` on the held one.

    Catalogue entries are keyed by `code`, hotlist entries by `kind` + `value`; an added entry
    replaces one with the same key.
    """
    fields = DELTA_KEYS.get(kind)
    if fields is None:
        raise RefdataError(f"{kind} is never sent as a delta")
    added, removed = delta.get("added", []), delta.get("removed", [])
    if not isinstance(added, list) or not isinstance(removed, list):
        raise RefdataError(f"{kind} delta: added and removed must be lists")

    def key(entry: Any) -> tuple[Any, ...]:
        if isinstance(entry, Mapping):
            return tuple(entry.get(f) for f in fields)
        return (entry,)  # a catalogue removal may name the code alone

    gone = {key(r) for r in removed} | {key(a) for a in added}
    if kind == "catalogue":  # the catalogue document is the list of items itself
        if not isinstance(held, list):
            raise RefdataError("catalogue: the held document is not a list of items")
        return [e for e in held if key(e) not in gone] + list(added)
    doc = dict(held) if isinstance(held, Mapping) else {}
    entries = doc.get("entries", [])
    if not isinstance(entries, list):
        raise RefdataError(f"{kind}: the held document has no entries list")
    doc["entries"] = [e for e in entries if key(e) not in gone] + list(added)
    return doc

"""The platform's reference data (platform-api.md "Transport" for `GET /fsi/api/refdata/{kind}`,
"Platform administration" for publishing): signed versions published and served, as deltas for
the catalogue and hotlist, and the published policies, catalogues and hotlists parsed for the
recomputation."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, select

from sync.hub import schema as t
from sync.hub import statements as q
from sync.hub._common import Transaction
from sync.hub.access import refdata_device, visible_persons
from sync.hub.devices import root_key
from sync.hub.errors import HubError
from sync.hub.persons import load_persons
from sync.hub.trace_rules import ItemRule, item_rules
from sync.protocol.canonical import canonical_json
from sync.protocol.envelope import parse_inf_time
from sync.protocol.hotlist import HotlistIndex
from sync.protocol.refdata import DELTA_KEYS, KINDS, sign_refdata
from terminal.errors import InvalidInputError
from terminal.settlement import parse_catalogue, parse_policy
from terminal.settlement.model import Catalogue, Policy

__all__ = ["ReferenceData", "check_document", "publish", "serve", "serve_to"]


def publish(
    engine: Engine,
    kind: str,
    document: Any,
    *,
    clock: Callable[[], float],
    tz: tzinfo,
) -> dict[str, Any]:
    """Sign and store a new version of reference data; the platform numbers it itself."""
    if kind not in KINDS or kind == "trace":
        published = ", ".join(k for k in KINDS if k != "trace")
        raise HubError(f"unknown reference data kind {kind!r}: one of {published}")
    _check_document(kind, document)
    now = int(clock())
    with engine.begin() as conn:
        root = root_key(conn)
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
            load_persons(conn, document, datetime.fromtimestamp(clock(), tz).year)
    return obj


def check_document(kind: str, document: Any) -> None:
    """HubError when `document` is not a publishable `kind` (what `publish` checks first)."""
    if kind not in KINDS or kind == "trace":
        published = ", ".join(k for k in KINDS if k != "trace")
        raise HubError(f"unknown reference data kind {kind!r}: one of {published}")
    _check_document(kind, document)


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


def serve(
    engine: Engine,
    kind: str,
    since: int | None,
    *,
    headers: Mapping[str, str],
    clock: Callable[[], float],
    tz: tzinfo,
) -> tuple[int, dict[str, Any] | None]:
    """(HTTP status, refdata object): 401 unless an enrolled device asks (its signed
    `headers`), 200 with the newest document (a delta since `since` for the catalogue and the
    hotlist when `since` is a version published here; of the persons file, only the persons
    that device may have), 304 when `since` is current, 404 when nothing was published."""
    with engine.connect() as conn:
        device = refdata_device(conn, headers, kind, since, clock())
        if device is None:
            return 401, {
                "err_msg": "reference data is for enrolled devices: X-Dev-No, X-Dev-Time and "
                "X-Dev-Sig by the device key, X-Dev-Time within 300 s"
            }
        return serve_to(conn, device, kind, since, clock=clock, tz=tz)


def serve_to(
    conn: Connection,
    device: Any,
    kind: str,
    since: int | None,
    *,
    clock: Callable[[], float],
    tz: tzinfo,
) -> tuple[int, dict[str, Any] | None]:
    """`serve` for `device` (a device row), known already: an answer bundle's refdata too."""
    if kind == "trace":  # made for the device from the codes its institution sold
        from sync.hub import trace  # (it imports this module)

        return trace.serve(conn, device, since, clock(), root_key(conn))
    if kind not in KINDS:
        return 404, None
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
    if kind == "persons":  # personal data: only what this device needs, signed for it
        mine = visible_persons(conn, device, body, datetime.fromtimestamp(clock(), tz))
        obj = {
            "kind": kind,
            "version": row.version,
            "base_version": None,
            "issued_at": row.issued_at,
            "body": mine,
        }
        return 200, sign_refdata(obj, root_key(conn))
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
    return 200, sign_refdata(obj, root_key(conn))


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


class ReferenceData:
    """The published policies, catalogues and hotlists the recomputation uses, each parsed once
    (a published version never changes); `tz` is the zone of the platform's local times."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self._policies: dict[str, Policy] = {}  # by [policy].version
        self._policy_rows: dict[int, Policy] = {}  # the same, by refdata version
        self._catalogues: dict[int, Catalogue] = {}
        self._hotlists: dict[int, HotlistIndex] = {}  # by refdata version
        self._trace_rules: dict[int, dict[str, ItemRule]] = {}  # by catalogue version

    def trace_rules(self, conn: Connection, version: int | None) -> dict[str, ItemRule]:
        """The trace fields of catalogue `version` (the newest when None), by item code."""
        if not isinstance(version, int):
            version = _newest_version(conn, "catalogue")
            if version is None:
                return {}
        if version not in self._trace_rules:
            body = q.REFDATA_BODY.scalar(conn, {"kind": "catalogue", "version": version})
            self._trace_rules[version] = item_rules(json.loads(body)) if body else {}
        return self._trace_rules[version]

    def policy(self, conn: Connection, policy_version: str) -> Policy | None:
        """The published policy whose `[policy].version` is `policy_version`."""
        if policy_version not in self._policies:
            rows = conn.execute(
                select(t.refdata.c.version, t.refdata.c.body).where(t.refdata.c.kind == "policy")
            )
            for version, body in rows:
                if version not in self._policy_rows:
                    self._keep_policy(version, body)
        return self._policies.get(policy_version)

    def _keep_policy(self, version: int, body: str) -> Policy:
        policy = parse_policy(json.loads(body), f"policy version {version}")
        self._policies[policy.version] = policy
        self._policy_rows[version] = policy
        return policy

    def catalogue(self, conn: Connection, version: int) -> Catalogue | None:
        """The catalogue published as refdata `version`."""
        if version in self._catalogues:
            return self._catalogues[version]
        body = q.REFDATA_BODY.scalar(conn, {"kind": "catalogue", "version": version})
        if body is None:
            return None
        self._catalogues[version] = parse_catalogue(json.loads(body), "catalogue")
        return self._catalogues[version]

    def newest_policy(self, conn: Connection) -> Policy | None:
        """The policy published last (parsed once, as the others)."""
        version = _newest_version(conn, "policy")
        if version is None:
            return None
        if version not in self._policy_rows:
            body = q.REFDATA_BODY.scalar(conn, {"kind": "policy", "version": version})
            return self._keep_policy(version, body)
        return self._policy_rows[version]

    def newest_catalogue(self, conn: Connection) -> Catalogue | None:
        """The catalogue published last."""
        version = _newest_version(conn, "catalogue")
        return self.catalogue(conn, version) if version is not None else None

    def hotlist_at(self, conn: Connection, tx: Transaction, settled_at: str) -> HotlistIndex | None:
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


def _newest_version(conn: Connection, kind: str) -> int | None:
    """The refdata version of `kind` published last, or None."""
    version: int | None = conn.execute(
        select(t.refdata.c.version)
        .where(t.refdata.c.kind == kind)
        .order_by(t.refdata.c.version.desc())
        .limit(1)
    ).scalar()
    return version

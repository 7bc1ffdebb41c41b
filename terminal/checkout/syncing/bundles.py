"""Bundles on the terminal (platform-api.md "Field and fleet additions"; docs/field.md).

`export_bundle` writes the queued outbox entries, as the signed envelopes a drain would send, to
one file in a directory (a USB stick); nothing leaves the outbox. `import_answer` applies the
platform's answer exactly as a drain applies a batch's answers (`OutboxDrain.record_answers`),
and its reference data as a refresh (`accept_refdata`), dated by the platform's answer rather
than by when the stick came back. An answer imported once is not applied again. `relay_bundle`
carries another device's bundle to the platform over this terminal's connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sync.protocol.bundle import (
    MAX_BUNDLE_BYTES,
    BundleError,
    answer_name,
    bundle_name,
    check_answer,
    check_bundle,
    make_bundle,
    write_atomic,
)
from sync.protocol.canonical import canonical_json
from sync.protocol.envelope import INF_TIME_FORMAT, parse_inf_time
from sync.protocol.limits import load_limited_json
from terminal.checkout.clock import Clock
from terminal.checkout.refdata import RefdataRefused, accept_refdata
from terminal.checkout.syncing.drain import REVERSAL_INFNO, UPLOAD_INFNO
from terminal.checkout.syncing.service import SyncService
from terminal.config import Config
from terminal.errors import SyncError
from terminal.ledger import SqliteLedger, WriteUnit
from terminal.ledger.bundles import (
    answer_imported,
    mark_answer,
    outbox_attempts,
    queued_entries,
    record_bundle,
    written_bundles,
)

__all__ = ["Exported", "export_bundle", "import_answer", "offline_sync", "relay_bundle"]


class _NoNetwork:
    """The transport of a terminal working on a stick alone: bundles need no network."""

    def _none(self, *args: Any, **kwargs: Any) -> Any:
        raise SyncError("no network here: this works with bundle files only")

    call = batch = refdata = _none


def offline_sync(ledger: SqliteLedger, config: Config, clock: Clock) -> SyncService:
    """A sync service that exports and imports bundles and never reaches the network (the
    field page's buttons)."""
    return SyncService(ledger, config, clock, _NoNetwork())


@dataclass(frozen=True, slots=True)
class Exported:
    path: Path | None  # None: nothing was queued
    messages: int
    sha256: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path) if self.path else None,
            "messages": self.messages,
            "sha256": self.sha256,
        }


def export_bundle(sync: SyncService, to: Path) -> Exported:
    """Write every queued (pending) outbox entry to `to/<dev_no>-<first>-<last>.medpos.json`."""
    ledger = sync.ledger
    entries = []
    for r in queued_entries(ledger):
        infno = UPLOAD_INFNO.get(r["med_type"], "2102")
        if r["kind"] != "sale":
            infno = REVERSAL_INFNO[UPLOAD_INFNO.get(r["orig_med_type"], "2102")]
        entries.append((str(r["txn_id"]), infno))
    if not entries:
        return Exported(None, 0, None)
    now = sync.local_now()
    messages = [sync.envelope(infno, ledger.upload_input(txn)) for txn, infno in entries]
    dev_no = sync.config.terminal.dev_no
    bundle = make_bundle(dev_no, now.strftime(INF_TIME_FORMAT), messages)
    data = canonical_json(bundle, strict=False)
    if len(data) > MAX_BUNDLE_BYTES:
        raise SyncError(
            f"{len(entries)} queued sales make a bundle of {len(data)} bytes, over the "
            f"{MAX_BUNDLE_BYTES} a platform takes: sync over the network, or ask for help"
        )
    path = to / bundle_name(dev_no, messages)
    write_atomic(path, data)
    record_bundle(ledger, bundle["sha256"], str(path), now, entries)
    return Exported(path, len(messages), bundle["sha256"])


def _named_txn(result: Mapping[str, Any]) -> str | None:
    if result.get("infcode") != 0:
        return None
    txn = ((result.get("output") or {}).get("setlinfo") or {}).get("txn_id")
    return txn if isinstance(txn, str) else None


def _answered_at(sync: SyncService, results: list[dict[str, Any]]) -> datetime:
    """When the platform answered (its latest `respond_time`), never later than now."""
    now = sync.local_now()
    times = []
    for r in results:
        try:
            times.append(parse_inf_time(str(r.get("respond_time"))).replace(tzinfo=sync.config.tz))
        except ValueError:
            continue
    return min(max(times), now) if times else now


def import_answer(sync: SyncService, obj: object) -> dict[str, Any]:
    """Apply an answer bundle; a report of what changed (`already` when it was imported
    before: nothing changes). Raises SyncError for an answer that is not this device's, was
    edited, or answers no bundle this terminal wrote."""
    try:
        answer = check_answer(obj)
    except BundleError as exc:
        raise SyncError(f"answer refused: {exc}") from None
    dev_no = sync.config.terminal.dev_no
    if answer["dev_no"] != dev_no:
        raise SyncError(
            f"answer refused: it answers device {answer['dev_no']}, this terminal is {dev_no}: "
            "take it to that device"
        )
    ledger = sync.ledger
    if answer_imported(ledger, answer["sha256"]):
        return {"already": True, "changed": 0}
    results: list[dict[str, Any]] = answer["results"]
    bundle = _bundle_of(ledger, results)
    if bundle is not None:
        order = list(bundle["entries"])
    else:  # a bundle this database did not record: what the answers name themselves
        order = [(t, "") for t in map(_named_txn, results) if t is not None]
        results = [r for r in results if _named_txn(r) is not None]
    attempts = outbox_attempts(ledger, [t for t, _ in order])
    due = [(txn, infno, attempts.get(txn, 0)) for txn, infno in order]
    at = _answered_at(sync, results)
    before = ledger.get_meta("last_sync_at")

    def mark(unit: WriteUnit) -> None:
        if before and before > at.isoformat(timespec="seconds"):
            unit.set_meta("last_sync_at", before)  # a later sync stays the last one
        mark_answer(
            unit,
            ledger,
            answer["sha256"],
            imported_at=sync.local_now(),
            answered_at=at,
            bundle=bundle["sha256"] if bundle is not None else None,
        )

    refdata = []
    root = sync.root_key()
    for wrapper in answer["refdata"]:
        try:
            accepted = accept_refdata(ledger, wrapper, root, at)
            refdata.append({"kind": accepted.kind, "outcome": accepted.outcome})
        except RefdataRefused as exc:
            refdata.append(
                {"kind": str(wrapper.get("kind")), "outcome": "refused", "message": str(exc)}
            )
    # the acknowledgements and the mark in one unit of work, after the reference data: a crash
    # anywhere leaves the answer unmarked, and importing it again completes it
    report = sync.outbox.record_answers(due, results, at, mark)
    return {"already": False, "upload": report.as_json(), "refdata": refdata}


def _bundle_of(ledger: Any, results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest bundle written whose entries these results answer, position by position
    (a refusal at the envelope names no txn_id; every other answer names its own)."""
    for bundle in written_bundles(ledger):
        entries = bundle["entries"]
        if len(entries) == len(results) and all(
            named in (None, entries[i][0]) for i, named in enumerate(map(_named_txn, results))
        ):
            return bundle
    return None


def relay_bundle(sync: SyncService, data: bytes, to: Path) -> Path:
    """Carry another device's bundle (`data`, the file's bytes) to the platform; write its
    answer into `to` and return the answer's path. SyncError when the platform refused it."""
    try:
        bundle = check_bundle(load_limited_json(data))
    except (BundleError, ValueError) as exc:
        raise SyncError(f"not carried: {exc}") from None
    relay = getattr(sync.transport, "bundle", None)
    if relay is None:
        raise SyncError("this terminal's platform connection cannot carry bundles")
    answer = relay(data)
    try:
        check_answer(answer)
    except BundleError as exc:
        raise SyncError(f"the platform's answer is not an answer bundle: {exc}") from None
    path = to / answer_name(bundle["dev_no"], bundle["messages"])
    write_atomic(path, canonical_json(answer, strict=False))
    return path

"""Store-and-forward with the platform (DESIGN.md "A transaction's life", step 5).

`SyncService` drains the outbox in batches with the transaction id as idempotency key, stores each
final acknowledgement before the entry leaves the outbox, parks what the platform refuses (with its
reason, released by a supervisor), retries what got no final answer with capped exponential
backoff and jitter, takes in reference data only through `accept_refdata` (root signature first),
enrols the terminal (9101) and fetches a person's accumulators before a sale (1101) within a
bounded wait. The transport is `sync.client.http.HttpPlatform` (or anything with its methods).
"""

from __future__ import annotations

import json
import random
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sync.client.http import encode_batch
from sync.protocol.envelope import MsgidSource, build_request
from sync.protocol.refdata import RefdataError, load_root_public_key
from sync.protocol.upload import RECONCILED_AMOUNTS
from terminal.checkout.refdata import RefdataRefused, accept_refdata
from terminal.checkout.service import CheckoutService
from terminal.errors import SyncError
from terminal.settlement.money import format_fen, parse_money

__all__ = ["DrainReport", "SyncService", "Transport"]

UPLOAD_INFNO = {"41": "2102", "11": "2207", "14": "2207", "21": "2304"}
REVERSAL_INFNO = {"2102": "2103", "2207": "2208", "2304": "2305"}
REFDATA_KINDS = ("policy", "catalogue", "trustlist", "hotlist", "persons")
FINAL = ("accepted", "adjusted", "rejected")


class Transport(Protocol):
    def call(
        self, envelope: Mapping[str, Any], timeout_s: float | None = None
    ) -> dict[str, Any]: ...

    def batch(
        self, envelopes: Sequence[Mapping[str, Any]], *, body: bytes | None = None
    ) -> list[dict[str, Any]]: ...

    def refdata(self, kind: str, since: int | None) -> tuple[int, dict[str, Any] | None]: ...


@dataclass
class DrainReport:
    sent: int = 0
    acked: dict[str, int] = field(default_factory=dict)  # status → count
    held: int = 0
    parked: int = 0
    error: str | None = None

    def add(self, other: DrainReport) -> None:
        """Count `other` (a later batch of the same drain) in."""
        self.sent += other.sent
        self.held += other.held
        self.parked += other.parked
        for k, v in other.acked.items():
            self.acked[k] = self.acked.get(k, 0) + v
        if other.error:
            self.error = other.error

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sent": self.sent, "acked": self.acked, "held": self.held}
        out["parked"] = self.parked
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True, slots=True)
class _Batch:
    """Due outbox entries `(txn_id, infno, attempts)` and their envelopes, made at `at`."""

    due: list[tuple[str, str, int]]
    envelopes: list[dict[str, Any]]
    body: bytes  # the envelopes encoded for the wire (`encode_batch`)
    at: datetime


def _stops(answers: list[dict[str, Any]] | SyncError) -> bool:
    """True when a drain goes no further after these answers: the platform could not be
    reached, or it answered every entry `held` (what follows would be held too)."""
    if isinstance(answers, SyncError):
        return True
    return all(
        answer.get("infcode") == 0
        and ((answer.get("output") or {}).get("setlinfo") or {}).get("status") not in FINAL
        for answer in answers
    )


class SyncService:
    def __init__(
        self,
        service: CheckoutService,
        transport: Transport,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.service = service
        self.ledger = service.ledger
        self.config = service.config
        self.transport = transport
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self._msgids = MsgidSource(
            self.config.terminal.dev_no, service.local_now, self._reserve_msgid_block
        )

    def _reserve_msgid_block(self) -> int:
        """A new block of 100 msgid sequence numbers, durably this process's own."""
        with self.ledger.write() as unit:
            block = unit.next_counter("msgid_block")
            unit.commit()
        return block

    # -- envelopes --------------------------------------------------------------------------

    def _envelope(
        self,
        infno: str,
        data: Mapping[str, Any],
        *,
        signed: bool = True,
        insuplc_admdvs: str | None = None,
    ) -> dict[str, Any]:
        terminal = self.config.terminal
        key = self.ledger.key
        return build_request(
            infno=infno,
            msgid=self._msgids.next(),
            dev_no=terminal.dev_no,
            key_id=key.key_id,
            inf_time=self.service.local_now(),
            input=data,
            sign=key.sign_b64 if signed else None,
            fixmedins_code=terminal.fixmedins_code,
            fixmedins_name=terminal.fixmedins_name,
            mdtrtarea_admvs=terminal.region,
            insuplc_admdvs=insuplc_admdvs or terminal.region,
        )

    # -- enrolment --------------------------------------------------------------------------

    def enrol(self, code: str) -> dict[str, Any]:
        """9101: register the device key with a one-time code; store the root key it returns."""
        key = self.ledger.key
        envelope = self._envelope(
            "9101",
            {
                "code": code,
                "public_key": key.public_b64,
                "key_id": key.key_id,
                "fixmedins_code": self.config.terminal.fixmedins_code,
                "dev_name": f"medpos {self.config.terminal.dev_no}",
            },
            signed=False,
        )
        answer = self.transport.call(envelope)
        if answer.get("infcode") != 0:
            raise SyncError(f"enrolment refused: {answer.get('err_msg')}")
        output = answer.get("output", {})
        root = output.get("root_public_key")
        try:
            load_root_public_key(str(root))
        except RefdataError as exc:
            raise SyncError(f"enrolment answer without a usable root key: {exc}") from exc
        now = self.service.local_now()
        with self.ledger.write() as unit:
            unit.set_meta("root_public_key", str(root))
            unit.set_meta("enrolled_at", now.isoformat(timespec="seconds"))
            unit.audit("enrolment", None, {k: v for k, v in output.items()}, now)
            unit.commit()
        return dict(output)

    def root_key(self) -> Any:
        b64 = self.config.platform.root_public_key or self.ledger.get_meta("root_public_key")
        if not b64:
            raise SyncError(
                "this terminal is not enrolled: run `medpos enrol --platform URL --code CODE`"
            )
        return load_root_public_key(b64)

    # -- the outbox -------------------------------------------------------------------------

    def _due(self, now: datetime, limit: int) -> list[tuple[str, str, int]]:
        """`(txn_id, infno, attempts so far)` of the entries due for upload, in seq order."""
        rows = self.ledger.query(
            "SELECT o.txn_id, o.kind, o.attempts, t.med_type, r.med_type AS orig_med_type, "
            "t.insuplc_admdvs FROM outbox o JOIN txns t ON t.txn_id = o.txn_id "
            "LEFT JOIN txns r ON r.txn_id = t.orig_txn_id "
            "WHERE o.state = 'pending' AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?) "
            "ORDER BY o.seq LIMIT ?",
            (now.isoformat(timespec="seconds"), limit),
        )
        due = []
        for r in rows:
            if r["kind"] == "sale":
                infno = UPLOAD_INFNO.get(r["med_type"], "2102")
            else:
                infno = REVERSAL_INFNO[UPLOAD_INFNO.get(r["orig_med_type"], "2102")]
            due.append((r["txn_id"], infno, r["attempts"]))
        return due

    def _backoff(self, attempts: int) -> timedelta:
        """Capped exponential backoff with jitter ([platform] retry_base_s, retry_cap_s)."""
        platform = self.config.platform
        delay = min(platform.retry_cap_s, platform.retry_base_s * 2 ** min(attempts, 20))
        return timedelta(seconds=delay * self._rng.uniform(0.5, 1.5))

    def _prepare(self, in_flight: Collection[str] = ()) -> _Batch | None:
        """The next batch: the due entries in seq order (those `in_flight` left out), with their
        envelopes; None when nothing is due."""
        now = self.service.local_now()
        batch_size = min(self.config.platform.batch_size, 500)
        due = [d for d in self._due(now, batch_size + len(in_flight)) if d[0] not in in_flight][
            :batch_size
        ]
        if not due:
            return None
        envelopes = [self._envelope(infno, self.ledger.upload_input(txn)) for txn, infno, _ in due]
        # encoded here, so the thread that sends has no JSON to write while this one works
        return _Batch(due, envelopes, encode_batch(envelopes), now)

    def _send(self, batch: _Batch) -> list[dict[str, Any]] | SyncError:
        """The platform's answers to `batch`, or the transport's error (to record, not raise)."""
        try:
            return self.transport.batch(batch.envelopes, body=batch.body)
        except SyncError as exc:
            return exc

    def _record(self, batch: _Batch, answers: list[dict[str, Any]] | SyncError) -> DrainReport:
        """Store what came back for `batch` in one ledger transaction: each final answer's
        acknowledgement, with its entry taken out of the outbox in the same transaction; a later
        retry for the rest, or parked when the platform refused it."""
        report = DrainReport(sent=len(batch.due))
        now = batch.at
        if isinstance(answers, SyncError):
            exc = answers
            report.error = str(exc)
            refused = getattr(exc, "status", None)
            with self.ledger.write() as unit:
                unit.set_meta("last_sync_error", f"{now.isoformat(timespec='seconds')} {exc}")
                for txn_id, _, attempts in batch.due:
                    if refused is not None and refused != 413:
                        unit.park(txn_id, str(exc))
                        report.parked += 1
                    else:
                        unit.retry_later(txn_id, str(exc), now + self._backoff(attempts))
                unit.commit()
            return report
        with self.ledger.write() as unit:
            for (txn_id, _, attempts), answer in zip(batch.due, answers, strict=True):
                if answer.get("infcode") != 0:
                    unit.park(txn_id, str(answer.get("err_msg") or "refused by the platform"))
                    report.parked += 1
                    continue
                setlinfo = (answer.get("output") or {}).get("setlinfo") or {}
                status = setlinfo.get("status")
                if status in FINAL:
                    unit.record_ack(
                        txn_id,
                        status=status,
                        setl_id=setlinfo.get("setl_id"),
                        reason=setlinfo.get("reason"),
                        platform_result=setlinfo.get("result"),
                        at=now,
                    )
                    report.acked[status] = report.acked.get(status, 0) + 1
                else:  # held, or an answer without a final status
                    unit.retry_later(
                        txn_id,
                        f"{status or 'no status'}: waiting for the platform",
                        now + self._backoff(attempts),
                    )
                    report.held += 1
            unit.set_meta("last_sync_at", now.isoformat(timespec="seconds"))
            unit.set_meta("last_sync_error", "")
            unit.commit()
        return report

    def drain_once(self) -> DrainReport:
        """Upload one batch of due outbox entries; record what came back."""
        batch = self._prepare()
        if batch is None:
            return DrainReport()
        return self._record(batch, self._send(batch))

    def drain(self, max_batches: int = 1000) -> DrainReport:
        """Batches until nothing is due, the platform cannot be reached, or it held them all.

        One batch at a time goes to the platform, in seq order, each sent only after the one
        before was answered. While the platform works on a batch, this terminal stores the
        previous batch's answers and builds the next batch's envelopes (a worker thread waits
        for the answer), so the terminal's own work overlaps the platform's."""
        total = DrainReport()
        batch = self._prepare()
        if batch is None:
            return total
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="medpos-upload") as upload:
            answered: tuple[_Batch, list[dict[str, Any]] | SyncError] | None = None
            for sent in range(1, max_batches + 1):
                in_flight = upload.submit(self._send, batch)
                if answered is not None:
                    total.add(self._record(*answered))
                upcoming = (
                    self._prepare({txn_id for txn_id, _, _ in batch.due})
                    if sent < max_batches
                    else None
                )
                answered = (batch, in_flight.result())
                if upcoming is None or _stops(answered[1]):
                    break
                batch = upcoming
            if answered is not None:
                total.add(self._record(*answered))
        return total

    # -- reference data ---------------------------------------------------------------------

    def refresh_refdata(self) -> list[dict[str, Any]]:
        """Each kind the platform has newer than the held version, checked and stored.

        A refresh that reaches the platform counts as a successful sync (the status bar shows
        online even when there was nothing to upload); one that does not is recorded as the
        last sync error, then raised."""
        try:
            outcomes = self._refresh_refdata()
        except SyncError as exc:
            with self.ledger.write() as unit:
                at = self.service.local_now().isoformat(timespec="seconds")
                unit.set_meta("last_sync_error", f"{at} {exc}")
                unit.commit()
            raise
        with self.ledger.write() as unit:
            unit.set_meta("last_sync_at", self.service.local_now().isoformat(timespec="seconds"))
            unit.set_meta("last_sync_error", "")
            unit.commit()
        return outcomes

    def _refresh_refdata(self) -> list[dict[str, Any]]:
        root = self.root_key()
        outcomes: list[dict[str, Any]] = []
        for kind in REFDATA_KINDS:
            held = self.ledger.refdata_versions().get(kind)
            since = held[0] if held is not None else None
            status, obj = self.transport.refdata(kind, since)
            if status == 304:
                with self.ledger.write() as unit:
                    unit.confirm_refdata(kind, self.service.local_now())
                    unit.commit()
                outcomes.append({"kind": kind, "outcome": "current", "version": since})
            elif status == 200 and obj is not None:
                try:
                    accepted = accept_refdata(self.service, obj, root)
                except RefdataRefused as exc:
                    outcomes.append({"kind": kind, "outcome": "refused", "message": str(exc)})
                    continue
                outcomes.append(
                    {"kind": kind, "outcome": accepted.outcome, "version": accepted.version}
                )
        return outcomes

    # -- reconciliation (3201, 3202) --------------------------------------------------------

    def day_figures(self, day: date) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """(3201 totals, 3202 sales) of `day` as this terminal knows them from its acks."""
        rows = self.ledger.query(
            "SELECT t.txn_id, t.kind, a.status, a.platform_result, "
            "COALESCE(t.medfee_sumamt, o.medfee_sumamt) AS medfee_sumamt, "
            "COALESCE(t.fund_pay_sumamt, o.fund_pay_sumamt) AS fund_pay_sumamt, "
            "COALESCE(t.acct_pay, o.acct_pay) AS acct_pay, "
            "COALESCE(t.psn_cash_pay, o.psn_cash_pay) AS psn_cash_pay, "
            "oa.status AS orig_status, oa.platform_result AS orig_result "
            "FROM txns t LEFT JOIN acks a ON a.txn_id = t.txn_id "
            "LEFT JOIN txns o ON o.txn_id = t.orig_txn_id "
            "LEFT JOIN acks oa ON oa.txn_id = t.orig_txn_id "
            "WHERE t.setl_date = ? ORDER BY t.seq",
            (day.isoformat(),),
        )
        totals: dict[str, Any] = {"setl_date": day.isoformat(), "count": 0}
        sums = dict.fromkeys(RECONCILED_AMOUNTS, 0)
        sales = []
        for r in rows:
            status = r["status"] or "pending"
            amounts = {k: r[k] for k in RECONCILED_AMOUNTS}
            # the split the platform kept: its own result when it adjusted the sale
            kept_from = r["platform_result"] if r["kind"] == "sale" else r["orig_result"]
            if kept_from and (r["orig_status"] if r["kind"] != "sale" else status) == "adjusted":
                setlinfo = json.loads(kept_from).get("setlinfo", {})
                amounts = {k: parse_money(setlinfo[k], k) for k in RECONCILED_AMOUNTS}
            if r["kind"] != "sale":
                amounts = {k: -v for k, v in amounts.items()}
            sales.append(
                {"txn_id": r["txn_id"], "status": status}
                | {k: format_fen(v) for k, v in amounts.items()}
            )
            if status in ("accepted", "adjusted"):
                totals["count"] += -1 if r["kind"] != "sale" else 1
                for k in RECONCILED_AMOUNTS:
                    sums[k] += amounts[k]
        totals.update({k: format_fen(v) for k, v in sums.items()})
        return totals, sales

    def reconcile(self, day: date) -> dict[str, Any]:
        """3201 then 3202 for `day`; every difference the platform reports, by sale."""
        totals, sales = self.day_figures(day)
        out: dict[str, Any] = {"setl_date": day.isoformat(), "terminal": totals}
        for infno, data, key in (
            ("3201", totals, "totals"),
            ("3202", {"setl_date": day.isoformat(), "sales": sales}, "detail"),
        ):
            answer = self.transport.call(self._envelope(infno, data))
            if answer.get("infcode") != 0:
                raise SyncError(f"reconciliation {infno} refused: {answer.get('err_msg')}")
            out[key] = answer.get("output", {})
        detail = out["detail"]
        out["matches"] = out["totals"].get("stmt_rslt") == "0" and not (
            detail.get("only_terminal") or detail.get("only_platform") or detail.get("different")
        )
        return out

    # -- pre-settlement (PlatformLink) ------------------------------------------------------

    def fetch_person(self, psn_cert: str, timeout_s: float) -> Mapping[str, Any] | None:
        """1101 within `timeout_s`; None when the platform cannot answer in time (offline)."""
        try:
            answer = self.transport.call(
                self._envelope("1101", {"psn_cert": psn_cert}), timeout_s=timeout_s
            )
        except SyncError:
            return None
        output = answer.get("output") if answer.get("infcode") == 0 else None
        if not isinstance(output, Mapping) or not isinstance(output.get("accumulators"), Mapping):
            return None
        return output


# -- status ---------------------------------------------------------------------------------


def sync_status(service: CheckoutService) -> dict[str, Any]:
    """Queue depth, oldest unsynced sale, last success, parked items, the deadline alert."""
    ledger = service.ledger
    now = service.local_now()
    row = ledger.query(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest, "
        "SUM(state = 'parked') AS parked FROM outbox"
    )[0]
    meta = ledger.get_metas("last_sync_at", "enrolled_at", "root_public_key", "last_sync_error")
    oldest = row["oldest"]
    age_h = (
        round((now - datetime.fromisoformat(oldest)).total_seconds() / 3600, 2) if oldest else None
    )
    deadline = service.config.platform.upload_deadline_h
    parked = [
        dict(r)
        for r in ledger.query(
            "SELECT txn_id, last_error, attempts FROM outbox WHERE state = 'parked' ORDER BY seq"
        )
    ]
    return {
        "online": meta.get("last_sync_at") is not None and not meta.get("last_sync_error"),
        "last_error": meta.get("last_sync_error") or None,
        "enrolled": "root_public_key" in meta or bool(service.config.platform.root_public_key),
        "queue": row["n"],
        "oldest_unsynced": oldest,
        "oldest_age_h": age_h,
        "last_sync_at": meta.get("last_sync_at"),
        "parked": parked,
        "alert": (
            f"sales have waited {age_h} h for the platform (deadline {deadline} h): sync now"
            if age_h is not None and age_h > deadline
            else None
        ),
    }

"""The outbox drain (DESIGN.md "A transaction's life", step 5; platform-api.md "Upload").

Due entries go up in batches, in seq order, with the transaction id as idempotency key. What comes
back is stored in one ledger transaction per batch: a final answer (`accepted`, `adjusted`,
`rejected`) is stored as the entry's acknowledgement in the same transaction that takes it out
of the outbox; `held` or an answer without a final status is retried later with capped
exponential backoff and jitter; an envelope the platform refuses (`infcode` ≠ 0) or an HTTP
refusal (4xx other than 413) parks the entry with its reason until a supervisor releases it; an
unreachable platform (transport error, timeout, 5xx, a wrong answer) or a batch too large (413)
is retried later. The platform's chain head in each answer is kept (`set_platform_head`): a head
ahead of this terminal's own means the database was restored from an older copy.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sync.client.http import encode_batch
from terminal.config import Config
from terminal.errors import SyncError
from terminal.ledger import SqliteLedger, WriteUnit, due_entries

__all__ = ["FINAL", "DrainReport", "OutboxDrain", "Transport"]

UPLOAD_INFNO = {"41": "2102", "11": "2207", "14": "2207", "21": "2304"}
REVERSAL_INFNO = {"2102": "2103", "2207": "2208", "2304": "2305"}
FINAL = ("accepted", "adjusted", "rejected")
MAX_BATCH = 500  # platform-api.md: the most envelopes one batch may hold


class Transport(Protocol):
    """The platform as sync uses it (`sync.client.http.HttpPlatform`); raises `SyncError`."""

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
    trace_reports: dict[str, int] = field(default_factory=dict)  # 3505: outcome → count

    def add(self, other: DrainReport) -> None:
        """Count `other` (a later batch of the same drain) in."""
        self.sent += other.sent
        self.held += other.held
        self.parked += other.parked
        for k, v in other.acked.items():
            self.acked[k] = self.acked.get(k, 0) + v
        if other.error:
            self.error = other.error
        for k, v in other.trace_reports.items():
            self.trace_reports[k] = self.trace_reports.get(k, 0) + v

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sent": self.sent, "acked": self.acked, "held": self.held}
        out["parked"] = self.parked
        if self.error:
            out["error"] = self.error
        if self.trace_reports:
            out["trace_reports"] = self.trace_reports
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


class OutboxDrain:
    """Uploads the outbox of `ledger` through `transport`; `envelope(infno, input)` makes a
    signed request envelope, `now()` is the region's local time."""

    def __init__(
        self,
        ledger: SqliteLedger,
        config: Config,
        transport: Transport,
        envelope: Callable[[str, Mapping[str, Any]], dict[str, Any]],
        now: Callable[[], datetime],
        rng: random.Random,
    ) -> None:
        self.ledger = ledger
        self.config = config
        self.transport = transport
        self._envelope = envelope
        self._now = now
        self._rng = rng

    def _due(self, now: datetime, limit: int) -> list[tuple[str, str, int]]:
        """`(txn_id, infno, attempts so far)` of the entries due for upload, in seq order."""
        due = []
        for r in due_entries(self.ledger, now, limit):
            if r["kind"] == "sale":
                infno = UPLOAD_INFNO.get(r["med_type"], "2102")
            else:
                infno = REVERSAL_INFNO[UPLOAD_INFNO.get(r["orig_med_type"], "2102")]
            due.append((r["txn_id"], infno, r["attempts"]))
        return due

    def backoff(self, attempts: int) -> timedelta:
        """Capped exponential backoff with jitter ([platform] retry_base_s, retry_cap_s)."""
        platform = self.config.platform
        delay = min(platform.retry_cap_s, platform.retry_base_s * 2 ** min(attempts, 20))
        return timedelta(seconds=delay * self._rng.uniform(0.5, 1.5))

    def _prepare(self, in_flight: Collection[str] = ()) -> _Batch | None:
        """The next batch: the due entries in seq order (those `in_flight` left out), with their
        envelopes; None when nothing is due."""
        now = self._now()
        batch_size = min(self.config.platform.batch_size, MAX_BATCH)
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

    def record_answers(
        self,
        due: list[tuple[str, str, int]],
        answers: list[dict[str, Any]],
        at: datetime,
        also: Callable[[WriteUnit], None] | None = None,
    ) -> DrainReport:
        """Store answers that came another way (a bundle's answer) exactly as a batch's: `due`
        the `(txn_id, infno, attempts)` they answer, in order; `also(unit)` writes in the same
        unit of work."""
        return self._record(_Batch(due, [], b"", at), answers, also)

    def _record(
        self,
        batch: _Batch,
        answers: list[dict[str, Any]] | SyncError,
        also: Callable[[WriteUnit], None] | None = None,
    ) -> DrainReport:
        """Store what came back for `batch` in one ledger transaction: each final answer's
        acknowledgement, with its entry taken out of the outbox in the same transaction; a later
        retry for the rest, or parked when the platform refused it."""
        if isinstance(answers, SyncError):
            return self._record_failure(batch, answers)
        report = DrainReport(sent=len(batch.due))
        now = batch.at
        with self.ledger.write() as unit:
            for (txn_id, _, attempts), answer in zip(batch.due, answers, strict=True):
                if answer.get("infcode") != 0:
                    unit.park(txn_id, str(answer.get("err_msg") or "refused by the platform"))
                    report.parked += 1
                    continue
                head = (answer.get("output") or {}).get("chain_head")
                if isinstance(head, Mapping):  # the platform's chain head (rollback detection)
                    unit.set_platform_head(head)
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
                        now + self.backoff(attempts),
                    )
                    report.held += 1
            unit.set_meta("last_sync_at", now.isoformat(timespec="seconds"))
            unit.set_meta("last_sync_error", "")
            if also is not None:
                also(unit)
            unit.commit()
        return report

    def _record_failure(self, batch: _Batch, exc: SyncError) -> DrainReport:
        """A batch without answers: parked when the platform refused it at HTTP level (other
        than 413, a batch too large), retried later otherwise."""
        report = DrainReport(sent=len(batch.due), error=str(exc))
        now = batch.at
        refused = getattr(exc, "status", None)
        with self.ledger.write() as unit:
            unit.set_meta("last_sync_error", f"{now.isoformat(timespec='seconds')} {exc}")
            for txn_id, _, attempts in batch.due:
                if refused is not None and refused != 413:
                    unit.park(txn_id, str(exc))
                    report.parked += 1
                else:
                    unit.retry_later(txn_id, str(exc), now + self.backoff(attempts))
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

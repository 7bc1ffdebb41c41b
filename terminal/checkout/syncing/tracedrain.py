"""Sending the queued 3505 trace reports (trace-codes.md "To the platform").

Reports go in the order queued, in batches, each message on its own and idempotent by `txn_id`
(the same report again is answered with the platform's stored answer). `output.result.retRslt`
"1" takes a report out of the queue (kept with the answer); "0", or an envelope refused, parks it
with the reason; no answer (the platform unreachable) retries it later with the outbox's backoff.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from terminal.checkout.syncing.drain import MAX_BATCH, Transport
from terminal.errors import SyncError
from terminal.ledger import SqliteLedger, due_trace_reports

__all__ = ["TRACE_REPORT_INFNO", "TraceReportDrain"]

TRACE_REPORT_INFNO = "3505"


class TraceReportDrain:
    """Sends the due trace reports of `ledger`; returns counts by outcome."""

    def __init__(
        self,
        ledger: SqliteLedger,
        transport: Transport,
        envelope: Callable[[str, Mapping[str, Any]], dict[str, Any]],
        now: Callable[[], datetime],
        backoff: Callable[[int], timedelta],
    ) -> None:
        self.ledger = ledger
        self.transport = transport
        self._envelope = envelope
        self._now = now
        self._backoff = backoff

    def drain(self, max_batches: int = 100) -> dict[str, int]:
        """Batches until nothing is due or the platform cannot be reached."""
        counts: dict[str, int] = {}
        for _ in range(max_batches):
            now = self._now()
            due = due_trace_reports(self.ledger, now, MAX_BATCH)
            if not due:
                break
            envelopes = [self._envelope(TRACE_REPORT_INFNO, report) for _, report, _ in due]
            try:
                answers: list[dict[str, Any]] | None = self.transport.batch(envelopes)
            except SyncError as exc:
                answers = None
                error = str(exc)
            with self.ledger.write() as unit:
                for i, (txn_id, _, attempts) in enumerate(due):
                    if answers is None:
                        unit.retry_trace_report(txn_id, error, now + self._backoff(attempts))
                        outcome = "retry"
                    else:
                        outcome = _outcome(answers[i])
                        if outcome == "done":
                            unit.trace_report_done(txn_id, answers[i], now)
                        else:
                            unit.park_trace_report(txn_id, _reason(answers[i]))
                    counts[outcome] = counts.get(outcome, 0) + 1
                unit.commit()
            if answers is None:
                break
        return counts


def _outcome(answer: Mapping[str, Any]) -> str:
    result = (answer.get("output") or {}).get("result") or {}
    if answer.get("infcode") == 0 and result.get("retRslt") == "1":
        return "done"
    return "parked"


def _reason(answer: Mapping[str, Any]) -> str:
    if answer.get("infcode") != 0:
        return str(answer.get("err_msg") or "refused by the platform")
    result = (answer.get("output") or {}).get("result") or {}
    return str(result.get("msgRslt") or "refused by the platform (retRslt 0)")

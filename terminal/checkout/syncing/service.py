"""Store-and-forward with the platform (DESIGN.md "A transaction's life", step 5).

`SyncService` works over the terminal's ledger, its configuration, a clock and a transport (the
platform as `sync.client.http.HttpPlatform` reaches it, or anything with its methods); it holds
no checkout service. It drains the outbox (`drain.py`), takes in reference data only through
`accept_refdata` (root signature first), enrols the terminal (9101), reconciles a day (3201, 3202)
and fetches a person's accumulators before a sale (1101) within a bounded wait: that last method
is the `PlatformLink` the checkout service is given.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sync.protocol.envelope import MsgidSource, build_request
from sync.protocol.refdata import RefdataError, load_root_public_key
from terminal.checkout.clock import Clock
from terminal.checkout.refdata import RefdataRefused, accept_refdata
from terminal.checkout.syncing.drain import (
    REVERSAL_INFNO,
    UPLOAD_INFNO,
    DrainReport,
    OutboxDrain,
    Transport,
)
from terminal.checkout.syncing.heartbeat import HEARTBEAT_INFNO, heartbeat_input
from terminal.checkout.syncing.status import day_figures
from terminal.checkout.syncing.tracedrain import TraceReportDrain
from terminal.config import Config
from terminal.errors import SyncError
from terminal.ledger import SqliteLedger, last_acked_entry

__all__ = ["REFDATA_KINDS", "SyncService"]

_log = logging.getLogger(__name__)

# `trace`: the codes the institution's other terminals sold (trace-codes.md), as deltas
REFDATA_KINDS = ("policy", "catalogue", "trustlist", "hotlist", "persons", "trace")
MSGID_RETRIES = 8


class SyncService:
    """The terminal's side of the platform API over one ledger connection."""

    def __init__(
        self,
        ledger: SqliteLedger,
        config: Config,
        clock: Clock,
        transport: Transport,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.ledger = ledger
        self.config = config
        self.clock = clock
        self.transport = transport
        self._msgids = MsgidSource(
            config.terminal.dev_no, self.local_now, self._reserve_msgid_block
        )
        self.outbox = OutboxDrain(
            ledger,
            config,
            transport,
            self.envelope,
            self.local_now,
            rng or random.Random(),  # noqa: S311 - jitter, not secrets
        )

    def local_now(self) -> datetime:
        """Now, in the region's time zone."""
        return self.clock.now().astimezone(self.config.tz)

    def _reserve_msgid_block(self) -> int:
        """A new block of 100 msgid sequence numbers, durably this process's own."""
        with self.ledger.write() as unit:
            block = unit.next_counter("msgid_block")
            unit.commit()
        return block

    # -- envelopes --------------------------------------------------------------------------

    def envelope(
        self,
        infno: str,
        data: Mapping[str, Any],
        *,
        signed: bool = True,
        insuplc_admdvs: str | None = None,
    ) -> dict[str, Any]:
        """A request envelope for `infno` with `data` as its input, signed by the device key."""
        terminal = self.config.terminal
        key = self.ledger.key
        return build_request(
            infno=infno,
            msgid=self._msgids.next(),
            dev_no=terminal.dev_no,
            key_id=key.key_id,
            inf_time=self.local_now(),
            input=data,
            sign=key.sign_b64 if signed else None,
            fixmedins_code=terminal.fixmedins_code,
            fixmedins_name=terminal.fixmedins_name,
            mdtrtarea_admvs=terminal.region,
            insuplc_admdvs=insuplc_admdvs or terminal.region,
        )

    def call(self, infno: str, data: Mapping[str, Any], timeout_s: float) -> dict[str, Any]:
        """One signed request answered within `timeout_s` (sign-in 9001, sign-out 9002, …);
        raises SyncError when the platform cannot be reached or answers out of the protocol."""
        return self.transport.call(self.envelope(infno, data), timeout_s=timeout_s)

    # -- enrolment --------------------------------------------------------------------------

    def enrol(self, code: str) -> dict[str, Any]:
        """9101: register the device key with a one-time code; store the root key it returns."""
        key = self.ledger.key
        envelope = self.envelope(
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
        now = self.local_now()
        with self.ledger.write() as unit:
            unit.set_meta("root_public_key", str(root))
            unit.set_meta("enrolled_at", now.isoformat(timespec="seconds"))
            unit.audit("enrolment", None, {k: v for k, v in output.items()}, now)
            unit.commit()
        # the platform's reference data at once: until a refresh succeeds, insurance sales
        # priced with the locally seeded data (version 0) are refused (`refdata_not_fetched`)
        try:
            return {**output, "refdata": self.refresh_refdata()}
        except SyncError as exc:
            return {**output, "refdata_error": str(exc)}

    def root_key(self) -> Any:
        b64 = self.config.platform.root_public_key or self.ledger.get_meta("root_public_key")
        if not b64:
            raise SyncError(
                "this terminal is not enrolled: run `medpos enrol --platform URL --code CODE`"
            )
        return load_root_public_key(b64)

    # -- the outbox -------------------------------------------------------------------------

    def drain_once(self) -> DrainReport:
        """Upload one batch of due outbox entries; record what came back."""
        return self._with_trace_reports(self.outbox.drain_once())

    def drain(self, max_batches: int = 1000) -> DrainReport:
        """Batches until nothing is due, the platform cannot be reached, or it held them all;
        then the queued 3505 trace reports (their own queue, `tracedrain.py`)."""
        return self._with_trace_reports(self.outbox.drain(max_batches))

    def _with_trace_reports(self, report: DrainReport) -> DrainReport:
        drain = TraceReportDrain(
            self.ledger, self.transport, self.envelope, self.local_now, self.outbox.backoff
        )
        report.trace_reports = drain.drain()
        return report

    def check_chain_head(self) -> dict[str, Any] | None:
        """Learn the platform's chain head when the drain had nothing to send: the newest entry
        the platform acknowledged is sent again (a known `txn_id` and input is answered with its
        stored acknowledgement, nothing changes) and the answer's `chain_head` kept. Returns the
        platform's head, or None (nothing acknowledged yet, or no head in the answer); raises
        SyncError when the platform cannot be reached."""
        acked = last_acked_entry(self.ledger)
        txn = self.ledger.txn(acked) if acked is not None else None
        if txn is None:
            return None
        infno = UPLOAD_INFNO.get(txn["med_type"], "2102")
        if txn["kind"] != "sale":
            orig = self.ledger.txn(txn["orig_txn_id"])
            infno = REVERSAL_INFNO[UPLOAD_INFNO.get(orig["med_type"] if orig else "", "2102")]
        upload = self.ledger.upload_input(txn["txn_id"])
        # a restored database's msgid blocks are behind too: a msgid the platform has seen
        # (`msgid_reused`, within the same second) is sent again from a fresh block
        for _ in range(MSGID_RETRIES):
            try:
                answer = self.transport.call(self.envelope(infno, upload))
            except SyncError as exc:
                self._record_error(exc)
                raise
            if not str(answer.get("err_msg") or "").startswith("msgid_reused"):
                break
            self._msgids = MsgidSource(
                self.config.terminal.dev_no, self.local_now, self._reserve_msgid_block
            )
        head = (
            (answer.get("output") or {}).get("chain_head") if answer.get("infcode") == 0 else None
        )
        if not isinstance(head, Mapping):
            return None
        with self.ledger.write() as unit:
            unit.set_platform_head(head)
            unit.commit()
        return dict(head)

    # -- the heartbeat (9201) ---------------------------------------------------------------

    def heartbeat(self) -> dict[str, Any]:
        """Send this device's 9201 heartbeat; its input. A platform that refuses it (one that
        does not know 9201) is logged and the sync goes on; raises SyncError when the platform
        cannot be reached (recorded as the last sync error)."""
        data = heartbeat_input(self.ledger, self.config.tz)
        try:
            answer = self.transport.call(self.envelope(HEARTBEAT_INFNO, data))
        except SyncError as exc:
            self._record_error(exc)
            raise
        if answer.get("infcode") != 0:
            _log.warning("heartbeat refused by the platform: %s", answer.get("err_msg"))
            return data
        with self.ledger.write() as unit:
            unit.set_meta("last_heartbeat_at", self.local_now().isoformat(timespec="seconds"))
            unit.commit()
        return data

    # -- reference data ---------------------------------------------------------------------

    def refresh_refdata(self) -> list[dict[str, Any]]:
        """Each kind the platform has newer than the held version, checked and stored.

        A refresh that reaches the platform counts as a successful sync (the status bar shows
        online even when there was nothing to upload); one that does not is recorded as the
        last sync error, then raised."""
        try:
            outcomes = self._refresh_refdata()
        except SyncError as exc:
            self._record_error(exc)
            raise
        with self.ledger.write() as unit:
            at = self.local_now().isoformat(timespec="seconds")
            unit.set_meta("last_sync_at", at)
            unit.set_meta("last_sync_error", "")
            if not any(o["outcome"] == "refused" for o in outcomes):
                unit.set_meta("refdata_refreshed_at", at)
            unit.commit()
        return outcomes

    def _record_error(self, exc: SyncError) -> None:
        """The platform could not be reached: the status bar shows offline, with why."""
        with self.ledger.write() as unit:
            at = self.local_now().isoformat(timespec="seconds")
            unit.set_meta("last_sync_error", f"{at} {exc}")
            unit.commit()

    def _refresh_refdata(self) -> list[dict[str, Any]]:
        root = self.root_key()
        outcomes: list[dict[str, Any]] = []
        for kind in REFDATA_KINDS:
            held = self.ledger.refdata_versions().get(kind)
            since = held[0] if held is not None else None
            status, obj = self.transport.refdata(kind, since)
            if status == 304:
                with self.ledger.write() as unit:
                    unit.confirm_refdata(kind, self.local_now())
                    unit.commit()
                outcomes.append({"kind": kind, "outcome": "current", "version": since})
            elif status == 200 and obj is not None:
                try:
                    accepted = accept_refdata(self.ledger, obj, root, self.local_now())
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
        return day_figures(self.ledger, day)

    def reconcile(self, day: date) -> dict[str, Any]:
        """3201 then 3202 for `day`; every difference the platform reports, by sale."""
        totals, sales = self.day_figures(day)
        out: dict[str, Any] = {"setl_date": day.isoformat(), "terminal": totals}
        for infno, data, key in (
            ("3201", totals, "totals"),
            ("3202", {"setl_date": day.isoformat(), "sales": sales}, "detail"),
        ):
            answer = self.transport.call(self.envelope(infno, data))
            if answer.get("infcode") != 0:
                raise SyncError(f"reconciliation {infno} refused: {answer.get('err_msg')}")
            out[key] = answer.get("output", {})
        detail = out["detail"]
        # codes sold twice (trace-codes.md "To the platform"): listed, no money difference
        out["trace_conflicts"] = detail.pop("trace_conflicts", [])
        out["matches"] = out["totals"].get("stmt_rslt") == "0" and not (
            detail.get("only_terminal") or detail.get("only_platform") or detail.get("different")
        )
        return out

    # -- pre-settlement (the checkout service's PlatformLink) -------------------------------

    def fetch_person(self, psn_cert: str, timeout_s: float) -> Mapping[str, Any] | None:
        """1101 within `timeout_s`; None when the platform cannot answer in time (offline)."""
        try:
            answer = self.transport.call(
                self.envelope("1101", {"psn_cert": psn_cert}), timeout_s=timeout_s
            )
        except SyncError:
            return None
        output = answer.get("output") if answer.get("infcode") == 0 else None
        if not isinstance(output, Mapping) or not isinstance(output.get("accumulators"), Mapping):
            return None
        return output

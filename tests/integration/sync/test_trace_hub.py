"""Traceability codes at the platform (trace-codes.md "To the platform"), through a real hub
process on loopback, on SQLite and on PostgreSQL: two terminals of two institutions sell the
same code offline, both keep their sales and the second's acknowledgement is flagged; the
conflict is reported; a reversal returns its codes; 3505 reports of self-pay sales and refunds;
the `trace` reference data of an institution's other terminals."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.integration.sync.conftest import FakeTerminal, Platform, lines

CODE = "81000000000000000001"
OTHER = "81000000000000000002"
THIRD = "81000000000000000003"
GS1 = "0106901234567892" + "21LOT9"


class TraceTerminal(FakeTerminal):
    """A fake terminal of institution `fixmedins_code` whose uploads carry codes."""

    def __init__(self, platform: Platform, dev_no: str, sale: dict[str, Any], inst: str) -> None:
        real = platform.enrol_code

        def enrol_code(dev: str = dev_no) -> str:
            if inst == "P33010000001":
                return real(dev)
            done = platform.admin("enrol-code", "--dev-no", dev, "--fixmedins-code", inst)
            assert done.returncode == 0, done.stderr
            return done.stdout.strip()

        platform.enrol_code = enrol_code  # type: ignore[method-assign,assignment]
        try:
            super().__init__(platform, dev_no, sale)
        finally:
            platform.enrol_code = real  # type: ignore[method-assign]

    def coded(self, codes: list[str]) -> dict[str, Any]:
        """The next sale, its first line carrying `codes`, then codes of this device's own for
        the line's other packages (the demo claim sells two: one code a package)."""
        data = json.loads(json.dumps(self.sale))
        packages = int(data["claim"]["basket"][0]["qty"])
        seed = f"{self.dev_no}-{self.seq}"
        own = [
            f"84{int(hashlib.sha256(f'{seed}-{i}'.encode()).hexdigest(), 16) % 10**18:018d}"
            for i in range(packages - len(codes))
        ]
        codes = [*codes, *own]
        data["claim"]["basket"][0].update(trac=codes, trdn_flag="0")
        data["claim"]["basket"][0]["trac_format"] = ["nmpa20" for _ in codes]
        return self._chain(data)

    def send(self, infno: str, data: dict[str, Any]) -> dict[str, Any]:
        [answer] = self.post(self.envelope(infno, data))
        assert answer["infcode"] == 0, answer["err_msg"]
        out: dict[str, Any] = answer["output"]
        return out


def report(txn_id: str, sel_retn: str, line: dict[str, Any]) -> dict[str, Any]:
    return {
        "txn_id": txn_id,
        "mdtrt_setl_type": "2",
        "sel_retn": sel_retn,
        "sel_retn_time": "2026-03-10 10:00:00",
        "sel_retn_opter_name": "王",
        "lines": [line],
    }


def line(item: str, qty: str, codes: list[str], trdn_flag: str = "0") -> dict[str, Any]:
    return {
        "med_list_codg": item,
        "fixmedins_hilist_name": "药",
        "trdn_flag": trdn_flag,
        "sel_retn_cnt": qty,
        "finl_trns_pric": "9.60",
        "drugtracinfo": [{"drug_trac_codg": c} for c in codes],
    }


def test_codes_sold_twice_are_flagged_reported_returned_and_shared(
    platform: Platform,
    sale_input: dict[str, Any],
    demo_dir: Path,
    tmp_path: Path,
    make_config: Callable[..., Path],
) -> None:
    item = sale_input["claim"]["basket"][0]["code"]
    first = TraceTerminal(platform, "H33010000003D0001", sale_input, "P33010000001")
    second = TraceTerminal(platform, "H33010000004D0001", sale_input, "P33010000002")
    # both sold CODE offline; the first to arrive holds it
    sale_a, sale_b = first.coded([CODE]), second.coded([CODE])
    ack_a = first.send("2102", sale_a)["setlinfo"]
    ack_b = second.send("2102", sale_b)["setlinfo"]
    assert "flags" not in ack_a
    assert ack_b["flags"] == ["trace_duplicate"]
    assert {ack_a["status"], ack_b["status"]} <= {"accepted", "adjusted"}  # money stands
    # the same upload again: the stored acknowledgement, flag and all
    assert second.send("2102", sale_b)["setlinfo"] == ack_b
    assert platform.scalars(f"SELECT COUNT(*) FROM trace_codes WHERE code = '{CODE}'") == (2,)
    if platform.db.startswith("postgresql"):  # the months' partitions, attached ahead or on demand
        month = sale_b["settled_at"][:7].replace("-", "")
        attached = (
            "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'trace_codes'::regclass"
        )
        (names,) = platform.scalars(attached)
        assert f"trace_codes_{month}" in names.split(","), names
        made = platform.admin("trace-partitions", "--months", "2")
        assert made.returncode == 0, made.stderr
        ahead = json.loads(made.stdout)["partitions"]
        assert len(ahead) == 2 and all(n.startswith("trace_codes_") for n in ahead)
        (names,) = platform.scalars(attached)
        assert set(names.split(",")) == {*ahead, f"trace_codes_{month}"}  # nothing else

    day = sale_b["settled_at"][:10]
    done = platform.admin("report", "trace-conflicts", "--date", day)
    assert done.returncode == 0, done.stderr
    assert lines(done.stdout) == [
        {
            "code": CODE,
            "first_txn_id": sale_a["txn_id"],
            "first_fixmedins_code": "P33010000001",
            "second_txn_id": sale_b["txn_id"],
            "second_fixmedins_code": "P33010000002",
            "hours_between": 0,
            "severity": "high",
        }
    ]
    detail = first.send("3202", {"setl_date": day, "sales": []})
    assert [(c["code"], c["second_txn_id"]) for c in detail["trace_conflicts"]] == [
        (CODE, sale_b["txn_id"])
    ]

    # a reversal returns the codes its sale sold: sold again, no conflict
    sale_c = first.coded([OTHER])
    assert "flags" not in first.send("2102", sale_c)["setlinfo"]
    assert first.send("2103", first.reversal(sale_c["txn_id"]))["setlinfo"]["status"] == "accepted"
    assert "flags" not in second.send("2102", second.coded([OTHER]))["setlinfo"]

    # 3505: a self-pay sale's codes; refusals as the terminal's; a refund returns the codes
    catalogue = json.loads((demo_dir / "catalogue.json").read_text())
    for entry in catalogue:
        if entry["code"] == item:
            entry.update(trac_required=True, pack_qty="10")
    (tmp_path / "catalogue.json").write_text(json.dumps(catalogue, ensure_ascii=False))
    assert (
        platform.admin("publish", "--catalogue", str(tmp_path / "catalogue.json")).returncode == 0
    )
    refused = {
        "bad_trace_format": line(item, "1", ["not a code"]),
        "product_barcode_not_trace": line(item, "1", ["6901234567892"]),
        "bad_check_digit": line(item, "1", ["0106901234567893" + "21X"]),
        "trace_count_mismatch": line(item, "2", [THIRD]),
        "trace_duplicate_in_sale": line(item, "2", [THIRD, THIRD]),
    }
    for i, (reason, bad) in enumerate(refused.items()):
        out = first.send("3505", report(f"SP-bad-{i}", "sale", bad))["result"]
        assert out["retRslt"] == "0" and out["msgRslt"].startswith(reason), out
        assert "(line 1)" in out["msgRslt"]
    assert platform.scalars(f"SELECT COUNT(*) FROM trace_codes WHERE code = '{THIRD}'") == (0,)
    self_pay = report("SP-1", "sale", line(item, "2", [THIRD, GS1]))
    assert first.send("3505", self_pay) == {"result": {"retRslt": "1", "msgRslt": "stored"}}
    again = second.send("3505", report("SP-2", "sale", line(item, "1", [THIRD])))
    assert again["result"]["flags"] == ["trace_duplicate"]
    # a coded drug with no stock bought before the rule (the demo claim's items have some)
    uncoded = line("XJ01CR0004", "1", [])
    missing = first.send("3505", report("SP-3", "sale", uncoded))["result"]
    assert (missing["retRslt"], missing["flags"]) == ("1", ["trace_missing"])
    refund = report("SP-1R", "return", line(item, "1", [GS1]))
    assert first.send("3505", refund)["result"]["retRslt"] == "1"
    assert first.send("3505", refund)["result"]["retRslt"] == "1"  # idempotent by txn_id
    reused = first.send("3505", {**refund, "sel_retn_opter_name": "李"})["result"]
    assert reused["retRslt"] == "0" and reused["msgRslt"].startswith("txn_id_reused")
    assert (
        "flags" not in second.send("3505", report("SP-4", "sale", line(item, "1", [GS1])))["result"]
    )

    # the trace refdata of a third device of the first institution: what the others did
    import time

    import httpx

    from sync.hub.db import open_engine
    from sync.hub.service import Hub
    from sync.hub.trace import TRACE_LAG_S
    from sync.protocol.refdata import (
        load_root_public_key,
        refdata_request_headers,
        verify_refdata,
    )

    third = TraceTerminal(platform, "H33010000003D0002", sale_input, "P33010000001")
    stamp = int(time.time())
    headers = refdata_request_headers(third.dev_no, "trace", None, stamp, third._sign)
    reply = httpx.get(platform.url + "/fsi/api/refdata/trace", headers=headers, timeout=30)
    assert reply.status_code == 200, reply.text
    whole = reply.json()
    verify_refdata(whole, load_root_public_key(platform.root), "trace")
    assert whole["base_version"] is None and set(whole["body"]["codes"]) == {"added", "removed"}
    # the changes of the last TRACE_LAG_S seconds come with a later version: the same
    # database served by a hub whose clock reads that much later
    later = stamp + TRACE_LAG_S + 1
    engine = open_engine(platform.db)
    try:
        hub = Hub(engine, clock=lambda: float(later))

        def fetch(since: int | None) -> tuple[int, Any]:
            signed = refdata_request_headers(third.dev_no, "trace", since, later, third._sign)
            return hub.refdata("trace", since, {k.lower(): v for k, v in signed.items()})

        # what the whole copy held, brought up to date by the delta: a slow machine may have
        # put every change before the whole copy's version, and then the delta is a 304
        codes = {e["code"]: e["status"] for e in whole["body"]["codes"]["added"]}
        status, obj = fetch(whole["version"])
        version = whole["version"]
        if status == 200:
            verify_refdata(obj, load_root_public_key(platform.root), "trace")
            assert obj["base_version"] == whole["version"]
            codes.update((e["code"], e["status"]) for e in obj["body"]["codes"]["added"])
            version = obj["version"]
        else:
            assert status == 304, status
        padded = {c for c in codes if c.startswith("84")}  # `coded`'s own second packages
        assert padded and set(codes.values()) >= {codes[c] for c in padded}
        codes = {c: st for c, st in codes.items() if c not in padded}
        # the first institution's codes sold by its other device: CODE sold, OTHER returned by
        # its reversal, THIRD sold and GS1 returned by 3505; the other institution's not
        assert codes == {CODE: "sold", OTHER: "returned", THIRD: "sold", GS1: "returned"}
        assert fetch(version)[0] == 304
    finally:
        engine.dispose()

    if platform.db.startswith("postgresql"):
        return  # (the terminal's side is the same on either backend)
    # a real terminal: its own 3505 sells CODE again; `medpos reconcile` lists the conflict
    from sync.client.http import HttpPlatform, platform_client
    from terminal.bootstrap import open_terminal
    from terminal.checkout.syncing import SyncService
    from terminal.config import load_config
    from tests.integration.sync.conftest import medpos, terminal_config

    config = terminal_config(make_config, platform, "trace-t1")
    assert medpos(config, "enrol", "--code", platform.enrol_code()).returncode == 0
    service = open_terminal(load_config(config, env={}))
    transport = HttpPlatform(platform_client(platform.url))
    try:
        sync = SyncService(service.ledger, service.config, service.clock, transport)
        sent = transport.call(
            sync.envelope("3505", report("SP-9", "sale", line(item, "1", [CODE])))
        )
    finally:
        transport.close()
        service.ledger.close()
    assert sent["output"]["result"]["flags"] == ["trace_duplicate"]
    done = medpos(config, "reconcile", "--date", "2026-03-10")
    assert done.returncode == 0, done.stdout + done.stderr
    [conflict] = json.loads(done.stdout)["trace_conflicts"]
    assert (conflict["code"], conflict["first_txn_id"], conflict["second_txn_id"]) == (
        CODE,
        sale_a["txn_id"],
        "SP-9",
    )

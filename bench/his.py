"""HIS API benchmarks (issue 16, section Measure), against `medpos serve` on loopback.

1. An outpatient visit of 20 lines (2201 → 2203 → 2204 → 2206 → 2207 over HTTP) against the same
   sale through `CheckoutService.sell_claim` in-process. Target ≤ 3×.
2. An inpatient stay of 1,200 lines (30 days × 40, 2301 of 40 lines per call: time per line), then
   2303 over all of them against the engine alone (`settle`) on the same netted lines. Target ≤ 2×.

`--visits N` (default 30), `--days N` (default 30) and `--reps N` (2303 runs, default 31) size
them. Each side's runs alternate with the baseline's (a visit, a sale; a 2303, an engine run), so
that both see the same load on a shared machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from bench.wire import Wire
from terminal.bootstrap import open_terminal
from terminal.checkout.operators import sign_session
from terminal.config import load_config
from terminal.demo import demo_catalogue, demo_people
from terminal.settlement import parse_claim, settle
from tests.conftest import HIGH_LIMITS, MEDPOS, free_port, medpos_env, wait_http, write_config

VISIT_TARGET = 3.0
STAY_TARGET = 2.0
TOKEN = "bench-his"
_SPLIT = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")


class _Client:
    """The HIS's side: `Wire` (bench/wire.py), or the standard library's `http.client` while
    `stdlib` is set; each on one kept-alive connection."""

    def __init__(self, url: str) -> None:
        self.url = url
        port = int(url.rsplit(":", 1)[1])
        self.wire = Wire(port)
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.stdlib = False
        self.n = 0
        self.took: dict[str, list[float]] = {}  # seconds per call, by infno
        self.other = httpx.Client(base_url=url)  # `bare`'s third client, made once

    def post(
        self, body: bytes, token: str = TOKEN, stdlib: bool | None = None
    ) -> tuple[int, bytes]:
        if not (self.stdlib if stdlib is None else stdlib):
            return self.wire.post("/his/v1/call", body, token)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.http.request("POST", "/his/v1/call", body=body, headers=headers)
        answer = self.http.getresponse()
        return answer.status, answer.read()

    def ok(self, infno: str, input: dict[str, Any]) -> Any:
        self.n += 1
        env = {"infno": infno, "msgid": f"b{self.n}", "opter": "1001", "input": input}
        started = time.perf_counter()
        status, body = self.post(json.dumps(env, ensure_ascii=False).encode("utf-8"))
        if not self.stdlib:
            self.took.setdefault(infno, []).append(time.perf_counter() - started)
        answer = json.loads(body)
        assert status == 200 and answer["infcode"] == 0, answer
        return answer.get("output")

    def bare(self, calls: int) -> tuple[float, float, float]:
        """`calls` round trips that do no work (a wrong token: 401), the transport's floor: with
        `Wire` (bench/wire.py), with `http.client` and with httpx."""
        out = []
        for stdlib in (False, True):
            started = time.perf_counter()
            for _ in range(calls):
                assert self.post(b"{}", "not-the-token", stdlib)[0] == 401  # noqa: S106
            out.append(time.perf_counter() - started)
        headers = {"Authorization": "Bearer not-the-token"}
        self.other.post("/his/v1/call", json={}, headers=headers)  # its connection, made
        started = time.perf_counter()
        for _ in range(calls):
            assert self.other.post("/his/v1/call", json={}, headers=headers).status_code == 401
        return out[0], out[1], time.perf_counter() - started


def _codes() -> list[tuple[str, str]]:
    return [(c["code"], c["price"]) for c in demo_catalogue() if c["category"] in ("A", "B")]


def _visit_codes() -> list[tuple[str, str, str]]:
    """20 (code, cnt, price) a sale settles without scanning: drugs from their no-code stock (whole
    packages, trace-codes.md) and items that need no code; the same for both sides."""
    out = []
    for c in demo_catalogue():
        if c["category"] not in ("A", "B"):
            continue
        if not c.get("trac_required"):
            out.append((c["code"], "1", c["price"]))
        elif c.get("no_code_qty") and c.get("pack_qty"):
            out.append((c["code"], c["pack_qty"], c["price"]))
    drugs = [x for x in out if x[1] != "1"][:10]
    return drugs + [x for x in out if x[1] == "1"][: 20 - len(drugs)]


_VISIT_CODES = _visit_codes()


def _line(sn: str, mid: str, psn_no: str, code: str, cnt: str, pric: str, when: str,
          **extra: str) -> dict[str, Any]:  # fmt: skip
    amount = (Decimal(cnt) * Decimal(pric)).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    return {"feedetl_sn": sn, "mdtrt_id": mid, "psn_no": psn_no, "fee_ocur_time": when,
            "med_list_codg": code, "medins_list_codg": "H", "det_item_fee_sumamt": str(amount),
            "cnt": cnt, "pric": pric, "bilg_dept_codg": "A", "bilg_dept_name": "内科",
            "bilg_dr_codg": "D1", "bilg_dr_name": "医生", **extra}  # fmt: skip


def _visit(client: _Client, p: Any, n: int, today: str) -> float:
    """One visit, timed from the 2201 to the 2207's answer; its lines are made before, as a HIS
    has its fee lines at hand (only the `mdtrt_id` the 2201 answers is filled in)."""
    cert = {"mdtrt_cert_type": "02", "mdtrt_cert_no": p.psn_cert}
    lines = [_line(str(i), "", p.psn_no, code, cnt, price, f"{today} 08:30:00", chrg_bchno="1")
             for i, (code, cnt, price) in enumerate(_VISIT_CODES)]  # fmt: skip
    total = sum(Decimal(ln["det_item_fee_sumamt"]) for ln in lines)
    started = time.perf_counter()
    mid = client.ok("2201", {"data": {"psn_no": p.psn_no, "insutype": p.insutype, **cert,
                    "begntime": f"{today} 08:00:00", "ipt_otp_no": f"MZ{n}", "atddr_no": "D1",
                    "dr_name": "医生", "dept_code": "A", "dept_name": "内科", "caty": "A"}}
                    )["data"]["mdtrt_id"]  # fmt: skip
    client.ok("2203", {"mdtrtinfo": {"mdtrt_id": mid, "psn_no": p.psn_no, "med_type": "11",
                                     "begntime": f"{today} 08:00:00"}, "diseinfo": []})  # fmt: skip
    for ln in lines:
        ln["mdtrt_id"] = mid
    client.ok("2204", {"feedetail": lines})
    data = {"psn_no": p.psn_no, **cert, "med_type": "11", "medfee_sumamt": str(total),
            "psn_setlway": "01", "mdtrt_id": mid, "chrg_bchno": "1", "acct_used_flag": "1",
            "insutype": p.insutype}  # fmt: skip
    pre = client.ok("2206", {"data": data})
    client.ok("2207", {"data": {**data, **{k: pre["setlinfo"][k] for k in _SPLIT}}})
    return time.perf_counter() - started


class _InProcess:
    """The same sale through `CheckoutService.sell_claim`, in this process, on its own database
    (same config, catalogue and lines): one sale per `sell()`, timed."""

    def __init__(self, config_path: Path, root: Path) -> None:
        self.service = open_terminal(load_config(config_path, env={}), db_path=root / "inproc.db")
        p = demo_people(self.service.local_now().date())[1]
        person = {
            "psn_no": p.psn_no,
            "psn_cert": p.psn_cert,
            "insutype": p.insutype,
            "psn_type": p.psn_type,
            "insuplc_admdvs": "330100",
            "flags": list(p.flags),
        }
        basket = [{"code": c, "qty": n, "price": pr} for c, n, pr in _VISIT_CODES]
        self.claim = {"person": person, "visit": {"med_type": "11", "inst_level": "2"},
                      "basket": basket}  # fmt: skip

    def sell(self) -> float:
        started = time.perf_counter()
        self.service.sell_claim(self.claim)
        return time.perf_counter() - started

    def close(self) -> None:
        self.service.ledger.close()


def _stay(client: _Client, config_path: Path, p: Any, days: int, reps: int) -> dict[str, float]:
    config = load_config(config_path, env={})
    today = datetime.now(config.tz)
    begin = today - timedelta(days=days)
    cert = {"mdtrt_cert_type": "02", "mdtrt_cert_no": p.psn_cert}
    wid = client.ok("2401", {"mdtrtinfo": {"psn_no": p.psn_no, "insutype": p.insutype, **cert,
                    "begntime": f"{begin:%Y-%m-%d} 08:00:00", "med_type": "21", "ipt_no": "ZYB",
                    "atddr_no": "D", "chfpdr_name": "主任", "adm_dept_codg": "B",
                    "adm_dept_name": "外科"}, "diseinfo": []})["result"]["mdtrt_id"]  # fmt: skip
    codes = _codes()
    upload, lines_all = 0.0, []
    for day in range(days):
        when = f"{begin + timedelta(days=day):%Y-%m-%d} 10:00:00"
        batch = []
        for i in range(40):
            code, price = codes[(day * 40 + i) % len(codes)]
            if i == 39 and day > 0:  # one return a day against yesterday's first line
                back_code, back_price = codes[((day - 1) * 40) % len(codes)]
                ln = _line(f"{day}-{i}", wid, p.psn_no, back_code, "1", back_price, when,
                           init_feedetl_sn=f"{day - 1}-0")  # fmt: skip
                ln.update(cnt="-1", det_item_fee_sumamt="-" + ln["det_item_fee_sumamt"])
            else:
                ln = _line(f"{day}-{i}", wid, p.psn_no, code, "2", price, when)
            batch.append(ln)
        started = time.perf_counter()
        client.ok("2301", {"feedetail": batch})
        upload += time.perf_counter() - started
        lines_all += batch
    client.ok("2402", {"dscginfo": {"mdtrt_id": wid, "psn_no": p.psn_no, "insutype": p.insutype,
                                    "endtime": f"{today:%Y-%m-%d %H:%M:%S}",
                                    "dscg_dept_codg": "B", "dscg_dept_name": "外科",
                                    "dscg_way": "1"},
                       "diseinfo": [{"maindiag_flag": "1"}]})  # fmt: skip
    total = sum(Decimal(ln["det_item_fee_sumamt"]) for ln in lines_all)
    data = {"psn_no": p.psn_no, **cert, "med_type": "21", "medfee_sumamt": str(total),
            "psn_setlway": "01", "mdtrt_id": wid, "acct_used_flag": "1",
            "insutype": p.insutype, "mid_setl_flag": "0"}  # fmt: skip
    # the engine alone on the same netted lines
    net: dict[str, Decimal] = {}
    for ln in lines_all:
        key = ln.get("init_feedetl_sn") or ln["feedetl_sn"]
        net[key] = net.get(key, Decimal(0)) + Decimal(ln["cnt"])
    basket = [
        {"code": ln["med_list_codg"], "qty": str(net[ln["feedetl_sn"]]), "price": ln["pric"]}
        for ln in lines_all
        if Decimal(ln["cnt"]) > 0 and net[ln["feedetl_sn"]] > 0
    ]
    service = open_terminal(config, db_path=config_path.parent / "engine.db")
    try:
        ref = service.reference()
        person = {
            "psn_cert": p.psn_cert,
            "insutype": p.insutype,
            "psn_type": p.psn_type,
            "insuplc_admdvs": "330100",
            "flags": list(p.flags),
        }
        claim = parse_claim({"person": person, "visit": {"med_type": "21", "inst_level": "2",
                             "date": today.date().isoformat()}, "basket": basket})  # fmt: skip
        presettle, engine = [], []
        for _ in range(reps):  # interleaved, so that both see the same load on a shared machine
            started = time.perf_counter()
            client.ok("2303", {"data": data})
            presettle.append(time.perf_counter() - started)
            started = time.perf_counter()
            settle(ref.policy, ref.catalogue, claim)
            engine.append(time.perf_counter() - started)
    finally:
        service.ledger.close()
    return {
        "per_line": upload / len(lines_all),
        "presettle": statistics.median(presettle),
        "engine": statistics.median(engine),
        "lines": float(len(lines_all)),
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench his")
    ap.add_argument("--visits", type=int, default=30)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--reps", type=int, default=31, help="2303 / engine pairs (default 31)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        port = free_port()
        config = write_config(root / "config.toml", {
            "risk": HIGH_LIMITS, "terminal": {"inst_level": "2"}, "web": {"port": port},
            "qr": {"source": "none"}, "platform": {"url": f"http://127.0.0.1:{free_port()}"},
            "his": {"enabled": True, "token": TOKEN, "allow_id_number": True}})  # fmt: skip
        service = open_terminal(load_config(config, env={}))
        sign_session(service, "1001", "bench", True)
        service.ledger.close()
        server = subprocess.Popen([MEDPOS, "serve"], env=medpos_env(config),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            wait_http(url + "/api/status")
            client = _Client(url)
            people = demo_people(time_today(config))
            today = f"{time_today(config)}"
            seller = _InProcess(config, root)
            try:
                _visit(client, people[1], 0, today)  # warm both
                seller.sell()
                client.took.clear()
                http_t, inproc_t, stdlib_t = [], [], []
                floors: list[tuple[float, float, float]] = []
                for n in range(1, args.visits + 1):  # interleaved: the same load on both sides
                    http_t.append(_visit(client, people[1], n, today))
                    inproc_t.append(seller.sell())
                    client.stdlib = True  # the same visit with the standard library's client
                    stdlib_t.append(_visit(client, people[1], args.visits + n, today))
                    client.stdlib = False
                    floors.append(client.bare(5))
            finally:
                seller.close()
            http, inproc = statistics.median(http_t), statistics.median(inproc_t)
            stdlib = statistics.median(stdlib_t)
            floor, floor_stdlib, floor_httpx = (
                statistics.median(f) for f in zip(*floors, strict=True)
            )
            calls = {k: statistics.median(v) for k, v in client.took.items()}
            stay = _stay(client, config, people[11], args.days, args.reps)
        finally:
            server.terminate()
            server.wait(timeout=20)
    visit_ratio = http / inproc
    stay_ratio = stay["presettle"] / stay["engine"]
    print(
        f"visit of 20 lines over HTTP (5 calls): {http * 1000:.1f} ms; the same sale "
        f"in-process: {inproc * 1000:.1f} ms; ratio {visit_ratio:.2f}x (target <= {VISIT_TARGET}x)"
    )
    print(
        "  per call (median ms): "
        + ", ".join(f"{k} {v * 1000:.1f}" for k, v in calls.items())
        + "; durable commits: 4 (2201, 2203, 2204, 2207) against the sale's 1"
    )
    least = calls["2203"]  # the least a durable, audited, stored answer costs: a visit's info
    print(
        f"  floor of this design: four answers as cheap as a 2203 ({least * 1000:.1f} ms each) "
        f"and the sale itself = {(4 * least + inproc) / inproc:.2f}x the sale, before the "
        "upload's lines, the pre-settlement and the settlement's own answer"
    )
    print(
        f"  5 round trips that do no work (401): {floor * 1000:.1f} ms = {floor / inproc:.2f}x "
        f"the sale; with http.client as the client {floor_stdlib * 1000:.1f} ms, with httpx "
        f"{floor_httpx * 1000:.1f} ms; the visit with http.client: {stdlib * 1000:.1f} ms "
        f"({stdlib / inproc:.2f}x)"
    )
    print(
        f"stay of {int(stay['lines'])} lines: 2301 of 40 lines per call: "
        f"{stay['per_line'] * 1e6:.0f} us per line"
    )
    print(
        f"2303 over the stay: {stay['presettle'] * 1000:.1f} ms; engine alone on the netted "
        f"lines: {stay['engine'] * 1000:.1f} ms; ratio {stay_ratio:.2f}x (target <= {STAY_TARGET}x)"
    )
    return 0 if visit_ratio <= VISIT_TARGET and stay_ratio <= STAY_TARGET else 1


def time_today(config: Path) -> Any:
    return datetime.now(load_config(config, env={}).tz).date()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

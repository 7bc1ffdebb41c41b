"""Card benchmarks (issue "Physical social security card", section Measure).

1. A full read (select through external and internal authentication, every EF05/EF06 element) of
   a 3.00 virtual card through real pcscd + vpcd, against raw pyscard transmits of the same APDU
   sequence on the same readers. Target ≤ 1.15×; the APDU count is reported.
2. 1,000 consecutive reads (insert, read, remove): no failures, RSS growth < 2 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from typing import Any

import psutil
from smartcard.scard import SCardTransmit
from smartcard.System import readers

from drivers.card.iso7816 import Iso7816Protocol
from drivers.card.pcsc import PcscConnection, card_atr
from drivers.card.reader import read_card
from drivers.card.virtual import serve_in_thread
from drivers.card.virtual.card import card_from_dict
from drivers.card.virtual.demo import card_doc, psam_doc

CARD, SAM = "Virtual PCD 00 00", "Virtual PCD 00 01"
PERSON: dict[str, Any] = {
    "psn_cert": "330102197001011235",
    "name": "张伟",
    "card_no": "HA1046913",
    "sex": "1",
    "ethnicity": "01",
    "birthplace": "330102",
}


def _ensure_pcscd() -> subprocess.Popen[bytes] | None:
    try:
        if CARD in [str(r) for r in readers()]:
            return None
    except Exception:  # noqa: S110 - not running: start it below
        pass
    proc = subprocess.Popen(
        [shutil.which("pcscd") or "/usr/sbin/pcscd", "--foreground"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            if CARD in [str(r) for r in readers()]:
                return proc
        except Exception:  # noqa: S110 - still starting
            pass
        time.sleep(0.1)
    raise SystemExit("pcscd shows no Virtual PCD reader: install pcscd and vsmartcard-vpcd")


def _wait(present: bool) -> None:
    for _ in range(500):
        if (card_atr(CARD) is not None) == present:
            return
        time.sleep(0.005)
    raise RuntimeError("the virtual card did not " + ("appear" if present else "leave"))


class _Recording:
    def __init__(self, conn: PcscConnection, log: list[tuple[str, bytes]], name: str) -> None:
        self.conn, self.log, self.name = conn, log, name

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.log.append((self.name, apdu))
        return self.conn.transmit(apdu)


def bench_read(n: int) -> tuple[float, int]:
    card = serve_in_thread(card_from_dict(card_doc(**PERSON, serial=1, today=date.today())))
    _wait(True)
    c, s = PcscConnection(CARD), PcscConnection(SAM)
    log: list[tuple[str, bytes]] = []
    read_card(
        Iso7816Protocol(_Recording(c, log, "card")), Iso7816Protocol(_Recording(s, log, "sam"))
    )
    apdus = len(log)
    raw_conns = {"card": c._conn, "sam": s._conn}  # noqa: SLF001 - the raw pyscard baseline
    handles = {
        name: (conn.component.hcard, c._pci if name == "card" else s._pci)  # noqa: SLF001
        for name, conn in raw_conns.items()
    }
    ours, raw, raw_scard = [], [], []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            read_card(Iso7816Protocol(c), Iso7816Protocol(s))
        ours.append((time.perf_counter() - t0) / n)
        t0 = time.perf_counter()
        for _ in range(n):
            for name, apdu in log:
                raw_conns[name].transmit(list(apdu))
        raw.append((time.perf_counter() - t0) / n)
        t0 = time.perf_counter()
        for _ in range(n):
            for name, apdu in log:
                SCardTransmit(*handles[name], list(apdu))
        raw_scard.append((time.perf_counter() - t0) / n)
    c.close()
    s.close()
    card.close()
    _wait(False)
    o, r, rs = statistics.median(ours), statistics.median(raw), statistics.median(raw_scard)
    print(
        f"full read: {o * 1e3:.2f} ms, {apdus} APDUs; raw pyscard transmits of the same "
        f"sequence: {r * 1e3:.2f} ms through CardConnection.transmit, {rs * 1e3:.2f} ms through "
        f"SCardTransmit; ratio {o / r:.2f}× (target ≤ 1.15×), {o / rs:.2f}× against SCardTransmit"
    )
    return o / r, apdus


def bench_cycles(n: int) -> float:
    me = psutil.Process()
    failures = 0
    rss_first = 0
    doc = card_doc(**PERSON, serial=2, today=date.today())
    for i in range(1, n + 1):
        client = serve_in_thread(card_from_dict(doc))
        _wait(True)
        try:
            c, s = PcscConnection(CARD), PcscConnection(SAM)
            read = read_card(Iso7816Protocol(c), Iso7816Protocol(s))
            c.close()
            s.close()
            failures += 0 if read.authenticated else 1
        except Exception as exc:  # noqa: BLE001 - counted and reported
            failures += 1
            print(f"read {i} failed: {exc}")
        client.close()
        _wait(False)
        if i == min(100, n // 10 or 1):
            rss_first = me.memory_info().rss
    growth = (me.memory_info().rss - rss_first) / 2**20
    print(
        f"{n} insert/read/remove cycles: {failures} failures; RSS growth after the first 100: "
        f"{growth:.2f} MiB (target < 2 MB)"
    )
    return growth if failures == 0 else float("inf")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.card")
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument(
        "--cycles", type=int, default=int(os.environ.get("MEDPOS_BENCH_CYCLES", "1000"))
    )
    args = parser.parse_args(argv)
    started = _ensure_pcscd()
    psam = serve_in_thread(card_from_dict(psam_doc()), 35964)
    try:
        for _ in range(200):
            if card_atr(SAM) is not None:
                break
            time.sleep(0.01)
        ratio, apdus = bench_read(args.reads)
        growth = bench_cycles(args.cycles)
    finally:
        psam.close()
        if started is not None:
            started.terminate()
            started.wait()
    ok = ratio <= 1.15 and growth < 2
    print("card targets: " + ("all met" if ok else "missed"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

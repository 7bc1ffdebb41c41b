"""Cashier UI speed on the embedded default (issue 7), in headless Chromium against `medpos run`.

- Card insertion → pre-settlement on screen: three items are in the basket, a demo card goes into
  the virtual reader (vpcd), and the clock stops when the page shows the split. Baseline, same
  run: how long pcscd itself takes to report the inserted card to a waiter already blocked in
  `SCardGetStatusChange`, the floor any PC/SC application waits for.
- Confirm → receipt bytes: from the Enter that confirms to the ESC/POS file written by the
  "file" printer. Baseline, same run: a raw sqlite3 commit with the ledger's pragmas plus writing
  and fsyncing a file of the same size.
- Keystrokes of a card sale of three scanned items (aim: the scans plus two).
- A card-swap storm (issue 13): 100 insertions of alternating demo cards with an item in the
  basket, the PSAM reset through pcscd after every other one, while the page watches. Reported:
  stuck watches (a slot still "reading" after 15 s) and wrong-person quotes (a pre-settlement
  on screen for someone else than the card just inserted); aim 0 and 0.

`python -m bench ui`. Figures are medians of several rounds; nothing here is a test.
"""

from __future__ import annotations

import functools
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROUNDS = 8
BARCODES = ("6910100000012", "6910800000039", "6913600000117")
READER = "Virtual PCD 00 00"
SAM_READER = "Virtual PCD 00 01"
STORM = 100


def _raw_commit_and_write(tmp: Path, size: int) -> float:
    db = sqlite3.connect(tmp / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body BLOB)")
    started = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO t (body) VALUES (?)", (os.urandom(size),))
    db.execute("COMMIT")
    path = tmp / "raw.escpos"
    with open(path, "wb") as f:
        f.write(os.urandom(size))
        f.flush()
        os.fsync(f.fileno())
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


def _until(done: Callable[[], bool], what: str, step: float, limit_s: float = 30.0) -> None:
    deadline = time.monotonic() + limit_s
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench.ui: waited {limit_s:g} s for {what}")
        time.sleep(step)


def _report_insertion(reported: list[float]) -> None:
    """Block until pcscd reports a card in the reader; append the time it did."""
    from drivers.card.pcsc import wait_for_change

    wait_for_change({READER: False}, 30.0)
    reported.append(time.perf_counter())


def _printed(receipts: Path, before: set[Path]) -> bool:
    now = set(receipts.glob("*.escpos")) if receipts.exists() else set()
    fresh = now - before
    return bool(fresh) and all(f.stat().st_size > 0 for f in fresh)


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    from drivers.card.pcsc import card_atr
    from tests.conftest import HIGH_LIMITS, free_port, medpos_process, write_config

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    tmp = Path(tempfile.mkdtemp(prefix="medpos-bench-ui-"))
    port, hub_port = free_port(), free_port()
    config = write_config(
        tmp / "config.toml",
        {
            "risk": HIGH_LIMITS,
            "web": {"port": port},
            "platform": {"url": f"http://127.0.0.1:{hub_port}", "sync_interval_s": 600.0},
        },
    )
    url = f"http://127.0.0.1:{port}"
    receipts = tmp / "var" / "receipts"
    to_screen, detect, to_receipt, raw = [], [], [], []
    keystrokes = 0
    with medpos_process(config, "run", banner=4, ready=url + "/api/status"):
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1024, "height": 768})
            page.set_default_timeout(30_000)
            page.goto(url + "/login")
            page.fill("input[name=operator_id]", "1001")
            page.fill("input[name=pin]", "1234")
            page.keyboard.press("Enter")
            page.wait_for_selector("#scan")
            csrf = {"X-CSRF-Token": page.get_attribute("meta[name=csrf-token]", "content") or ""}
            for i in range(ROUNDS):
                _demo_card(page, url, csrf, action="remove")
                _until(lambda: not card_atr(READER), "the card to leave", 0.01)
                page.goto(url + "/")
                keys = 0
                for code in BARCODES:
                    page.locator("#scan").focus()
                    page.keyboard.type(code)
                    page.keyboard.press("Enter")
                    keys += 1  # a wedge scanner's code and Enter are one scan
                page.wait_for_function(
                    "document.querySelectorAll('[data-testid=lines] tbody tr').length === 3"
                )
                # pcscd's own report: a waiter blocked in SCardGetStatusChange before the insertion
                reported: list[float] = []
                waiter = threading.Thread(target=_report_insertion, args=(reported,))
                waiter.start()
                time.sleep(0.05)  # the waiter is blocked in pcscd before the card goes in
                started = time.perf_counter()
                _demo_card(page, url, csrf, action="insert", person=str(i))
                waiter.join(30.0)
                if not reported or card_atr(READER) is None:
                    raise SystemExit("bench.ui: pcscd never reported the inserted card")
                detect.append(reported[0] - started)
                page.wait_for_selector("[data-testid=presettlement]")
                to_screen.append(time.perf_counter() - started)
                before = set(receipts.glob("*.escpos")) if receipts.exists() else set()
                page.locator("#scan").focus()
                started = time.perf_counter()
                page.keyboard.press("Enter")
                keys += 1
                _until(functools.partial(_printed, receipts, before), "the receipt", 0.001)
                fresh = set(receipts.glob("*.escpos")) - before
                to_receipt.append(time.perf_counter() - started)
                size = next(iter(fresh)).stat().st_size
                raw.append(_raw_commit_and_write(tmp, size))
                page.wait_for_selector("[data-testid=last-sale]")
                keystrokes = keys
            storm = _storm(page, url, STORM, csrf)
            browser.close()
    shutil.rmtree(tmp, ignore_errors=True)

    def ms(xs: list[float]) -> float:
        return statistics.median(xs) * 1000

    screen, floor = ms(to_screen), ms(detect)
    print(f"card insertion → pre-settlement on screen: {screen:.0f} ms (median of {ROUNDS})")
    print(f"  baseline, pcscd reporting the card: {floor:.0f} ms → ratio {screen / floor:.2f}×")
    receipt, commit = ms(to_receipt), ms(raw)
    print(f"confirm → receipt bytes on file: {receipt:.1f} ms")
    print(
        f"  baseline, raw sqlite3 commit + fsynced file of the same size: {commit:.1f} ms "
        f"→ ratio {receipt / commit:.2f}×"
    )
    extra = keystrokes - len(BARCODES)
    print(
        f"keystrokes for a card sale of {len(BARCODES)} scanned items: {keystrokes} "
        f"(the scans + {extra}; aim: the scans + 2)"
    )
    stuck, wrong, said = storm
    print(
        f"card-swap storm of {STORM} insertions with PSAM resets: {stuck} stuck watches, "
        f"{wrong} wrong-person quotes ({said} failed reads said and read again; aim 0 and 0)"
    )
    return 0 if keystrokes <= len(BARCODES) + 2 and stuck == wrong == 0 else 1


def _demo_card(page: Any, url: str, csrf: dict[str, str], **form: str) -> None:
    """The demo hardware box's card slot, as the page posts it; a refusal ends the bench."""
    answer = page.request.post(url + "/demo/card", form=form, headers=csrf)
    if not answer.ok:
        raise SystemExit(f"bench.ui: the demo card slot answered HTTP {answer.status}")


def _storm(page: Any, url: str, n: int, csrf: dict[str, str]) -> tuple[int, int, int]:
    """(stuck watches, wrong-person quotes, failed reads said) over `n` card swaps."""
    import httpx

    from drivers.card.pcsc import reset_card
    from tests.ui.harness import card_settled

    names = [p["name"] for p in httpx.get(url + "/api/demo/people", timeout=10).json()]
    page.goto(url + "/")
    page.locator("#scan").focus()
    page.keyboard.type(BARCODES[0])
    page.keyboard.press("Enter")
    stuck = wrong = said = 0
    for i in range(n):
        index = i % 4
        _demo_card(page, url, csrf, action="insert", person=str(index))
        if i % 2:
            reset_card(SAM_READER)
        state = card_settled(page, names[index])
        if state == "error":
            said += 1
            page.locator("[data-testid=reread]").click()
            state = card_settled(page, names[index], error_too=False)
        if state is None:
            slot = page.locator("[data-testid=card-slot]").get_attribute("class") or ""
            stuck += "slot-reading" in slot or "slot-present" in slot
            wrong += page.locator("[data-testid=presettlement]").count() > 0
    return stuck, wrong, said


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

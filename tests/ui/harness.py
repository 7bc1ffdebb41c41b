"""What the page scenarios share: the terminal under test (`medpos run`, each module's own
`terminal` fixture with the config it needs) and what a cashier's hands do (a scanner's
keystrokes, a demo card inserted). Screenshots go to tests/artifacts (ignored by git)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import MEDPOS, ROOT, medpos_env
from tests.e2e.webauth import csrf_of

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BARCODES = ("6910100000012", "6910800000039", "6913600000117")  # three catalogue items
CASHIER, SUPERVISOR = ("1001", "1234"), ("2001", "2468")
expect.set_options(timeout=20_000)  # a busy CI machine; the waits end as soon as the page is right


class Terminal:
    def __init__(self, url: str, config: Path, hub_port: int) -> None:
        self.url = url
        self.config = config
        self.hub_port = hub_port
        self.data = config.parent / "var"
        self.hub: subprocess.Popen[bytes] | None = None

    def status(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(self.url + "/api/status", timeout=10).json()
        return answer

    def stop_hub(self) -> None:
        """The platform goes away: every hub process on our port ends."""
        for proc in psutil.process_iter(["cmdline"]):
            cmd = proc.info["cmdline"] or []
            if "hub" in cmd and "serve" in cmd and str(self.hub_port) in cmd:
                proc.terminate()
        if self.hub is not None:
            self.hub.wait(10)
            self.hub = None
        with httpx.Client(timeout=1) as client:  # one TLS context, not one a try (45 ms each)
            for _ in range(200):  # gone when its port refuses (the parent reaps it in its time)
                try:
                    client.get(f"http://127.0.0.1:{self.hub_port}/")
                except httpx.TransportError:
                    return
                time.sleep(0.05)
        raise AssertionError("the hub did not stop")

    def start_hub(self) -> None:
        """The platform comes back, on the same database."""
        db = str(self.data / "hub.db")
        self.hub = subprocess.Popen(  # noqa: S603 - our own command
            [MEDPOS, "hub", "serve", "--db", db, "--port", str(self.hub_port)],
            env=medpos_env(self.config),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with httpx.Client(timeout=1) as client:  # one TLS context, not one a try (45 ms each)
            for _ in range(200):
                try:
                    client.get(f"http://127.0.0.1:{self.hub_port}/")
                    return
                except httpx.TransportError:
                    time.sleep(0.05)
        raise AssertionError("the hub did not come back")


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"), full_page=True)


def scan(page: Page, text: str) -> None:
    """What a keyboard-wedge scanner does: types the code into the focused field, then Enter."""
    page.locator("#scan").focus()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def form_post(page: Page, url: str, **kw: Any) -> Any:
    """A form posted straight from the page's browser context, with the CSRF token the pages
    give this browser (as the page's script sends it)."""
    site = urlsplit(url)
    token = csrf_of(page.request.get(f"{site.scheme}://{site.netloc}/login").text())
    return page.request.post(url, headers={"X-CSRF-Token": token, **kw.pop("headers", {})}, **kw)


def insert_card(page: Page, terminal: Terminal, person: int) -> None:
    form_post(page, terminal.url + "/demo/card", form={"action": "insert", "person": str(person)})


_SETTLED = """([name, errorToo]) => {
  const slot = document.querySelector("[data-testid=card-slot]");
  const person = document.querySelector("[data-testid=person]");
  if (!slot) return false;
  if (errorToo && slot.classList.contains("slot-error")) return "error";
  if (slot.classList.contains("slot-read") && person && person.textContent.includes(name)) {
    return "read";
  }
  return false;
}"""


def card_settled(
    page: Page, name: str, *, error_too: bool = True, timeout_ms: float = 15_000
) -> str | None:
    """Once the card just inserted is read for `name` ("read") or, with `error_too`, said
    unreadable ("error"); None when neither happens within the time (a stuck watch, or the wrong
    person shown). After "read the card again" the error still on screen is the old one: wait
    for "read" alone then."""
    try:
        handle = page.wait_for_function(_SETTLED, arg=[name, error_too], timeout=timeout_ms)
    except PlaywrightTimeout:
        return None
    return str(handle.json_value())


# True when the element is inside the viewport and inside every box that clips it: with `scroll`
# once scrolled into view (as a finger would), without it on the page as it is, not scrolled
# (null: the element left the page meanwhile, a redraw of the counter; it is looked up again)
_IN_VIEW = """async (el, scroll) => {
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  if (!el.isConnected) return null;
  if (scroll) el.scrollIntoView({block: "nearest", inline: "nearest"});
  else if (scrollX !== 0 || scrollY !== 0) return false;
  const r = el.getBoundingClientRect();
  const inside = (b) => r.top >= b.top - 1 && r.bottom <= b.bottom + 1
                        && r.left >= b.left - 1 && r.right <= b.right + 1;
  const viewport = {top: 0, left: 0, bottom: innerHeight, right: innerWidth};
  if (r.width === 0 || !inside(viewport)) return false;
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const cs = getComputedStyle(p);
    const clips = /(auto|scroll|hidden)/.test(cs.overflowX + cs.overflowY);
    if (clips && !inside(p.getBoundingClientRect())) return false;
  }
  return true;
}"""


def _seen(locator: Locator, scroll: bool) -> bool:
    for _ in range(5):  # a redraw replaced the element: the same locator finds the new one
        seen = locator.evaluate(_IN_VIEW, scroll)
        if seen is not None:
            return bool(seen)
    raise AssertionError(f"{locator} keeps leaving the page")


def in_view(locator: Locator) -> bool:
    """Inside the viewport without scrolling the page (screen sizes, docs/ui.md)."""
    return _seen(locator, False)


def reachable(locator: Locator) -> bool:
    """Inside the viewport once scrolled into view (in one step in the page)."""
    return _seen(locator, True)


# Every visible target a finger may need, smaller than 44×44 px (a radio or checkbox: its label)
_SMALL_TARGETS = """() => {
  const small = [];
  const targets = "button, a[href], input:not([type=hidden]), select, summary";
  for (const el of document.querySelectorAll(targets)) {
    const own = el.getBoundingClientRect();
    if (!own.width || !own.height || getComputedStyle(el).visibility === "hidden") continue;
    const box = (el.type === "radio" || el.type === "checkbox") ? (el.closest("label") || el) : el;
    const r = box.getBoundingClientRect();
    if (r.width < 43.5 || r.height < 43.5) {
      const what = (el.textContent || el.name || "").trim().slice(0, 24);
      small.push(`${el.tagName} "${what}" ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  return small;
}"""


# Style rules that act on hover (a control only a mouse can reveal)
_HOVER_RULES = """() => {
  const found = [];
  const walk = (rules) => { for (const r of rules) {
    if (r.cssRules) walk(r.cssRules);
    if (r.selectorText && r.selectorText.includes(":hover")) found.push(r.selectorText);
  } };
  for (const s of document.styleSheets) walk(s.cssRules);
  return found;
}"""


def small_targets(page: Page) -> list[str]:
    """The visible targets smaller than 44×44 px (a touch screen's minimum), described."""
    found: list[str] = page.evaluate(_SMALL_TARGETS)
    return found


def hover_rules(page: Page) -> list[str]:
    """The page's style rules that act on hover (what only a mouse could reveal)."""
    found: list[str] = page.evaluate(_HOVER_RULES)
    return found


def identify_by_card(page: Page, terminal: Terminal, person: int, name: str) -> None:
    """Insert the demo card of `person` and wait until the counter names `name`; a read that
    failed (a busy machine) is read again, as a cashier would."""
    insert_card(page, terminal, person)
    state = card_settled(page, name)
    if state == "error":
        page.get_by_test_id("reread").click()
        state = card_settled(page, name, error_too=False)
    assert state == "read", f"the card of {name} was not read"


def tap_digits(page: Page, digits: str) -> None:
    keypad = page.get_by_test_id("keypad")
    for d in digits:
        keypad.locator(f"button[data-kp='{d}']").tap()

// medpos counter: live updates, in-place redraws and the keyboard. Every form works without it.
(function () {
  "use strict";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // a touch screen: no field is focused by itself (a tablet would raise its keyboard at every
  // redraw); a wedge scanner's keys still reach the scan field (the keydown handler below)
  const touchScreen = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;

  function focusScan() {
    if (keypadOpen() || touchScreen) return; // typing on the on-screen keypad, or a tablet
    const need = $("[data-needs-price]");
    const target = need || $("#scan");
    if (target && document.activeElement !== target) target.focus();
  }

  function swap(selector, html) {
    const old = $(selector);
    if (!old) return;
    const box = document.createElement("div");
    box.innerHTML = html.trim();
    const fresh = box.firstElementChild;
    if (!fresh) return;
    const scan = $("#scan");
    const typed = scan && document.activeElement === scan ? scan.value : null;
    // tender fields typed into survive a redraw of the same basket at the same version
    const version = (root) => { const v = $("input[name=basket_version]", root); return v ? v.value : null; };
    const kept = version(old) !== null && version(old) === version(fresh)
      ? $$("input[data-keep]", old).map((i) => [i.closest("form").id, i.name, i.value, i === document.activeElement])
      : [];
    old.replaceWith(fresh);
    bind(fresh);
    if (typed !== null && $("#scan")) $("#scan").value = typed;
    remember(fresh);
    let refocus = null;
    kept.forEach(([form, name, value, focused]) => {
      const i = $(`#${form} input[name=${name}]`);
      if (!i) return;
      i.value = value;
      if (value) { const d = i.closest("details"); if (d) d.open = true; }
      if (focused) refocus = i;
    });
    $$("fieldset.tender", fresh).forEach(showChange);
    if (refocus && !touchScreen) refocus.focus(); else focusScan();
  }

  // yuan text → fen, integer arithmetic only ("12.5" → 1250); null when it is not an amount
  function fen(text) {
    const t = text.trim().replace("¥", "").replace("，", ".").replace(",", ".");
    if (t === "") return 0;
    const m = /^(\d+)(?:\.(\d{0,2}))?$/.exec(t);
    return m ? parseInt(m[1], 10) * 100 + parseInt((m[2] || "").padEnd(2, "0"), 10) : null;
  }
  const yuan = (f) => `${Math.floor(f / 100)}.${String(f % 100).padStart(2, "0")}`;

  // the cash part and the change while the cashier types (the server checks it all again)
  function showChange(box) {
    const out = $("output", box);
    const due = parseInt(box.dataset.due, 10);
    const [card, mobile, given] = ["card_amount", "mobile_amount", "cash_given"].map((n) => fen($(`input[name=${n}]`, box).value));
    out.classList.remove("short");
    if (card === null || mobile === null || given === null) { out.textContent = ""; return; }
    const cash = due - card - mobile;
    let text = `${box.dataset.lCash} ¥${yuan(Math.max(cash, 0))}`;
    if (given > 0 && cash >= 0) {
      if (given >= cash) text += ` · ${box.dataset.lChange} ¥${yuan(given - cash)}`;
      else { text += ` · ${box.dataset.lShort} ¥${yuan(cash - given)}`; out.classList.add("short"); }
    }
    out.textContent = text;
  }

  // the session's CSRF token, which every POST carries (docs/security.md)
  function csrfToken() {
    const meta = $("meta[name=csrf-token]");
    return meta ? meta.content : "";
  }

  // Requests go one after another, in the order they were made: a scanner's fast codes are all
  // sent (never dropped), and a second press of "confirm" finds the sale the first one made.
  let queue = Promise.resolve();
  let scansPending = 0; // scans sent whose new total is not on screen yet
  function submit(form, selector) {
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const body = new URLSearchParams(new FormData(form)); // taken now, before the field clears
    const action = form.action;
    const isScan = form.classList.contains("scanform");
    if (isScan) scansPending += 1;
    queue = queue.then(async () => {
      try {
        const r = await fetch(action, {
          method: "POST", body, credentials: "same-origin",
          headers: { "X-Fragment": "1", "X-CSRF-Token": csrfToken() },
        });
        if (r.status === 401) { location.href = "/login"; return; }
        swap(selector, await r.text());
        if (selector === "#counter") refreshStatus();
      } catch (e) {
        location.reload(); // the server went away mid-request: show what it holds now
      } finally {
        if (isScan) scansPending -= 1;
      }
    });
  }

  function bind(root) {
    $$("fieldset.tender", root).forEach((box) => {
      $$("input", box).forEach((i) => i.addEventListener("input", () => showChange(box)));
      showChange(box);
    });
    $$("form[data-fragment]", root).forEach((form) => {
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        submit(form, form.dataset.fragment);
        if (form.classList.contains("scanform")) {
          $("input[name=text]", form).value = "";
          lastScanEnter = Date.now();
        }
      });
    });
    // on a touch screen the number fields take the on-screen keypad, not the tablet's keyboard
    // (the scan field keeps it: words are searched there too)
    if (touchScreen) $$("input[data-keypad]:not(#scan)", root).forEach((i) => i.setAttribute("inputmode", "none"));
    $$("select[data-autosubmit]", root).forEach((s) =>
      s.addEventListener("change", () => s.form.requestSubmit()));
  }

  async function refreshCounter() {
    const el = $("#counter");
    if (!el) return;
    const r = await fetch("/counter", { credentials: "same-origin" });
    if (r.ok) swap("#counter", await r.text());
  }

  async function refreshStatus() {
    const r = await fetch("/status-bar", { credentials: "same-origin" });
    if (r.ok) swap("#status", await r.text());
  }

  function cyclePayment() {
    const radios = $$("#confirm input[name=payment_method], #self-pay input[name=payment_method]");
    if (!radios.length) return;
    const i = radios.findIndex((r) => r.checked);
    radios[(i + 1) % radios.length].checked = true;
  }

  // A scanner ends a code with CR+LF: both arrive as Enter, a few milliseconds apart. The second
  // is the same Enter, never a confirm of a total nobody has seen yet: an Enter while a scan's new
  // total is not on screen confirms nothing (the server also refuses a confirm of a basket
  // changed since the page showed it).
  let lastScanEnter = 0;
  const SAME_ENTER_MS = 30;

  document.addEventListener("keydown", (ev) => {
    const scan = $("#scan");
    if (ev.key === "F4") { ev.preventDefault(); cyclePayment(); return; }
    if (ev.key === "F6") { ev.preventDefault(); const r = $("#reread"); if (r) r.form.requestSubmit(); return; }
    if (ev.key === "F7") { ev.preventDefault(); const p = $("#park"); if (p) p.form.requestSubmit(); return; }
    if (ev.key === "F2") { ev.preventDefault(); recallKey(); return; }
    if (ev.key === "F8") { ev.preventDefault(); const v = $("#void"); if (v) v.form.requestSubmit(); return; }
    if (ev.key === "F9") { ev.preventDefault(); const s = $("form[action='/sync-now']"); if (s) s.requestSubmit(); return; }
    if (!scan) return;
    if (ev.key === "Escape") { scan.value = ""; scan.focus(); return; }
    if (ev.key === "Enter" && document.activeElement === scan && scan.value.trim() === "") {
      ev.preventDefault();
      if (scansPending > 0 || Date.now() - lastScanEnter < SAME_ENTER_MS) return; // CR+LF
      const confirmForm = $("#confirm");
      if (confirmForm) {
        const empty = $$("input[required]", confirmForm).find((i) => (i.type === "checkbox" ? !i.checked : !i.value));
        if (empty) empty.focus(); else confirmForm.requestSubmit();
      }
      return;
    }
    // a keyboard-wedge scanner typing while the focus is elsewhere: send it to the scan field
    const el = document.activeElement;
    const typing = el && (el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA");
    if (!typing && ev.key.length === 1 && !ev.ctrlKey && !ev.metaKey && !ev.altKey) scan.focus();
  });

  function live() {
    if (!$("#counter") || !window.EventSource) return;
    const es = new EventSource("/events");
    es.addEventListener("counter", (ev) => {
      const el = $("#counter");
      if (el && String(el.dataset.version) !== String(ev.data)) refreshCounter();
    });
  }

  function camera() {
    setInterval(() => {
      const img = $("img[data-live-image]");
      if (img && !document.hidden && !img.closest("details:not([open])")) img.src = "/camera.jpg?t=" + Date.now();
    }, 700);
  }

  async function demoPeople() {
    const selects = $$("select[data-demo-people]");
    if (!selects.length) return;
    const r = await fetch("/api/demo/people");
    if (!r.ok) return;
    const people = await r.json();
    selects.forEach((s) => people.forEach((p, i) => {
      const o = document.createElement("option");
      o.value = i; o.textContent = p.name + " (" + p.insutype + ")";
      s.appendChild(o);
    }));
  }

  // F2: one parked basket comes back at once; with several, the list is there to choose from
  function recallKey() {
    const buttons = $$("[data-testid=recall]");
    if (buttons.length === 1) buttons[0].form.requestSubmit();
    else if (buttons.length) buttons[0].focus();
  }

  // <details data-remember>: the cashier's open/closed choice (the camera) outlives redraws
  function remember(root) {
    $$("details[data-remember]", root).forEach((d) => {
      const key = "medpos:" + d.dataset.remember;
      const saved = localStorage.getItem(key);
      if (saved !== null) d.open = saved === "open";
      d.addEventListener("toggle", () => localStorage.setItem(key, d.open ? "open" : "closed"));
    });
  }

  // The on-screen number keypad (templates/_keypad.html): types into the `data-keypad` field it
  // is opened for. Inline (sign-in) it follows the focused field; docked (counter) it opens on a
  // tap of such a field and OK submits the field's form. The value is kept here too, so a redraw
  // of the counter while the cashier types loses nothing: OK finds the field again by its form.
  let kpTarget = null; // the field typed into
  let kpKey = null; // [form action, field name]: finds it again after a redraw
  let kpValue = "";
  function keypad() { return $("#keypad"); }
  function keypadOpen() { const k = keypad(); return !!(k && !k.hidden && !k.classList.contains("inline")); }
  function kpShow() {
    const out = $(".kp-value", keypad());
    if (out) out.textContent = kpTarget && kpTarget.type === "password" ? "•".repeat(kpValue.length) : kpValue;
  }
  function kpAim(input, fresh) {
    kpTarget = input;
    kpKey = [input.form ? input.form.getAttribute("action") : "", input.name];
    kpValue = fresh ? "" : input.value;
    const k = keypad();
    const label = input.getAttribute("aria-label") || (input.closest("label") || input).textContent;
    const forText = k && $(".kp-for", k);
    if (forText) forText.textContent = (label || "").trim();
    kpShow();
  }
  function kpResolve() {
    if (kpTarget && kpTarget.isConnected) return kpTarget;
    if (!kpKey) return null;
    return $$("form").filter((f) => f.getAttribute("action") === kpKey[0])
      .map((f) => f.elements.namedItem(kpKey[1])).find((i) => i) || null;
  }
  function kpOpen(input) {
    const k = keypad();
    if (!k || k.classList.contains("inline")) return;
    input.setAttribute("inputmode", "none"); // the keypad, not the tablet's own keyboard
    kpAim(input, input.dataset.keypad === "replace");
    k.hidden = false;
    document.body.classList.add("keypad-open");
  }
  function kpClose() {
    const k = keypad();
    if (k && !k.classList.contains("inline")) { k.hidden = true; document.body.classList.remove("keypad-open"); }
  }
  function kpPress(key) {
    const input = kpResolve();
    if (key === "close") { kpClose(); return; }
    if (!input) return;
    if (key === "ok") {
      input.value = kpValue;
      const form = input.form;
      const next = form && $$("input[data-keypad]", form).find((i) => i !== input && !i.value);
      if (next) { next.focus(); kpAim(next, false); return; }
      kpClose();
      if (form) form.requestSubmit();
      return;
    }
    if (key === "back") kpValue = kpValue.slice(0, -1);
    else if (key === "clear") kpValue = "";
    else kpValue += key;
    input.value = kpValue;
    kpShow();
  }
  function keypadSetup() {
    const k = keypad();
    if (!k) return;
    k.addEventListener("click", (ev) => {
      const b = ev.target.closest("button[data-kp]");
      if (b) { ev.preventDefault(); kpPress(b.dataset.kp); }
    });
    // a tap (not a mouse click) on a keypad field opens the docked keypad for it
    document.addEventListener("pointerdown", (ev) => {
      const input = ev.target.closest && ev.target.closest("input[data-keypad]");
      if (input && ev.pointerType !== "mouse") kpOpen(input);
    });
    // inline (sign-in): the keypad types into the field focused last
    if (k.classList.contains("inline")) {
      document.addEventListener("focusin", (ev) => {
        if (ev.target.matches && ev.target.matches("input[data-keypad]")) kpAim(ev.target, false);
      });
      const first = $("input[data-keypad]");
      if (first) kpAim(document.activeElement && document.activeElement.matches("input[data-keypad]") ? document.activeElement : first, false);
    }
  }

  bind(document);
  remember(document);
  keypadSetup();
  live();
  camera();
  demoPeople();
  setInterval(() => { if (!document.hidden) refreshStatus(); }, 5000);
  focusScan();
})();

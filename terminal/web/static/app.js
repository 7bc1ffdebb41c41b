// medpos counter: live updates, in-place redraws and the keyboard. Every form works without it.
(function () {
  "use strict";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function focusScan() {
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
    let refocus = null;
    kept.forEach(([form, name, value, focused]) => {
      const i = $(`#${form} input[name=${name}]`);
      if (!i) return;
      i.value = value;
      if (value) { const d = i.closest("details"); if (d) d.open = true; }
      if (focused) refocus = i;
    });
    $$("fieldset.tender", fresh).forEach(showChange);
    if (refocus) refocus.focus(); else focusScan();
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
      if (img && !document.hidden) img.src = "/camera.jpg?t=" + Date.now();
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

  bind(document);
  live();
  camera();
  demoPeople();
  setInterval(() => { if (!document.hidden) refreshStatus(); }, 5000);
  focusScan();
})();

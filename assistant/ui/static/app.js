// The chat window's page behaviour: citation links and chips open their card in the same message's
// sources; rating, correction, copy and recommendation clicks go to the server through one hidden
// textbox ("action channel"); the question box shows a character counter; exports arrive as data
// and are saved by the browser (no file stays on the server).
(() => {
  if (window.__taReady) return;
  window.__taReady = true;
  document.documentElement.lang = "fa";

  const q = (sel, root) => (root || document).querySelector(sel);

  function openCard(msg, n) {
    const card = document.getElementById(`${msg}-s${n}`);
    if (!card) return false;
    const details = card.closest("details");
    if (details) details.open = true;
    document.querySelectorAll(`[id^="${msg}-s"].cite-card.active`).forEach((c) => c.classList.remove("active"));
    card.classList.add("active");
    card.scrollIntoView({block: "nearest", behavior: "instant"});
    card.focus({preventScroll: true});
    return true;
  }
  window.taOpenCard = openCard;

  function sendAction(obj) {
    const box = q("#ui-action textarea, #ui-action input");
    const btn = q("#ui-action-btn");
    if (!box || !btn) return;
    const setter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(box), "value").set;
    setter.call(box, JSON.stringify({...obj, nonce: Date.now() + Math.random()}));
    box.dispatchEvent(new Event("input", {bubbles: true}));
    setTimeout(() => btn.click(), 30);
  }
  window.taSendAction = sendAction;

  function plainText(el) {
    const clone = el.cloneNode(true);
    clone.querySelectorAll("a.cite").forEach((a) => a.replaceWith(document.createTextNode(a.textContent)));
    return clone.innerText.replace(/\n{3,}/g, "\n\n").trim();
  }

  document.addEventListener("click", (ev) => {
    const link = ev.target.closest("a.cite, a.chip");
    if (link && link.dataset.msg) {
      if (openCard(link.dataset.msg, link.dataset.n)) ev.preventDefault();
      return;
    }
    const act = ev.target.closest("button.act");
    if (act) {
      const bar = act.closest(".actions");
      const msg = bar.dataset.msg;
      const kind = act.dataset.act;
      if (kind === "copy") {
        const body = act.closest(".msg").querySelector(".body");
        if (navigator.clipboard) navigator.clipboard.writeText(plainText(body));
        act.textContent = "✓ Copied";
      } else if (kind === "up" || kind === "down") {
        sendAction({act: kind, msg});
      } else if (kind === "fix") {
        const panel = bar.querySelector(".fix");
        panel.hidden = !panel.hidden;
        act.setAttribute("aria-expanded", String(!panel.hidden));
        if (!panel.hidden) panel.querySelector("textarea").focus();
      } else if (kind === "send-fix") {
        const text = bar.querySelector(".fix-text").value;
        sendAction({act: "fix", msg, text});
      }
      return;
    }
    const open = ev.target.closest(".rec-open");
    if (open) {
      sendAction({act: "open", id: open.dataset.id});
      return;
    }
    const brief = ev.target.closest("[data-brief]");
    if (brief) {
      const ids = [...document.querySelectorAll("#rec-list .rec-check:checked")].map((c) => c.value);
      sendAction({act: "brief", fmt: brief.dataset.brief, ids});
      return;
    }
    const all = ev.target.closest("[data-select]");
    if (all) {
      const on = all.dataset.select === "all";
      document.querySelectorAll("#rec-list .rec-check").forEach((c) => { c.checked = on; });
    }
  });

  // The question box: a live counter against the one limit; the box never cuts a paste.
  function updateCounter() {
    const box = q("#question textarea");
    const counter = q("#q-counter");
    if (!box || !counter) return;
    const limit = Number(counter.dataset.limit || 2000);
    const n = [...box.value].length;
    const text = `${n.toLocaleString("en")} / ${limit.toLocaleString("en")}`;
    if (counter.textContent !== text) counter.textContent = text;  // (unchanged: no mutation, no loop)
    if (counter.classList.contains("over") !== n > limit) counter.classList.toggle("over", n > limit);
    if (box.getAttribute("aria-describedby") !== "q-counter") box.setAttribute("aria-describedby", "q-counter");
  }
  document.addEventListener("input", (ev) => { if (ev.target.closest("#question")) updateCounter(); });

  // Accessible names in both languages for the inputs Gradio labels only visually (or not at all).
  function names() {
    const set = (sel, name) => { const el = q(sel); if (el && el.getAttribute("aria-label") !== name) el.setAttribute("aria-label", name); };
    set("#question textarea", "Question · پرسش");
    set("#policy-search textarea, #policy-search input", "Search the recommendations · جستجو در توصیه‌ها");
    updateCounter();
  }
  let naming = false;
  new MutationObserver(() => {
    if (naming) return;
    naming = true;
    try { names(); } finally { naming = false; }
  }).observe(document.documentElement, {childList: true, subtree: true});

  // Keep the newest message in view when the log grows.
  let lastCount = 0;
  new MutationObserver(() => {
    const log = q("#chat .chat-log");
    if (!log) return;
    const n = log.children.length;
    if (n !== lastCount) {
      lastCount = n;
      const last = log.lastElementChild;
      if (last) last.scrollIntoView({block: "nearest"});
    }
  }).observe(document.documentElement, {childList: true, subtree: true});

  window.taDownload = (payload) => {
    if (!payload) return;
    let p;
    try { p = JSON.parse(payload); } catch (e) { return; }
    const bytes = Uint8Array.from(atob(p.b64), (c) => c.charCodeAt(0));
    const url = URL.createObjectURL(new Blob([bytes], {type: p.mime}));
    const a = document.createElement("a");
    a.href = url; a.download = p.name; a.style.display = "none";
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    window.__taLastDownload = {name: p.name, size: bytes.length, head: String.fromCharCode(...bytes.slice(0, 8))};
  };
})();

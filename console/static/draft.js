// The AI agent's reply while it is written (console/drafts.py): shown on the ticket page, agents only.
// A newer turn (a retried attempt) replaces an older one; `done` shows the reply until the page's next
// live update brings the message itself (console.js counts them in body[data-updates]).
(function () {
  "use strict";
  function start() {
    var box = document.getElementById("draft-preview");
    if (!box || !window.EventSource) return;
    var text = box.querySelector('[data-role="draft-text"]'), state = box.querySelector('[data-role="draft-state"]');
    var turn = null, seq = 0, hideTimer = null;
    function hide() { box.hidden = true; text.textContent = ""; box.removeAttribute("data-state"); }
    function show(d) {
      if (d.turn === turn && d.seq <= seq) return;  // late or repeated
      turn = d.turn; seq = d.seq;
      if (hideTimer) { clearTimeout(hideTimer); hideTimer = null; }
      box.setAttribute("data-state", d.state);
      box.setAttribute("data-turn", d.turn);
      if (d.state === "done") {
        if (!d.text) { hide(); return; }
        state.textContent = "(finished: the ticket records it next)";
        hideTimer = setTimeout(hide, 15000);
      } else {
        state.textContent = "(live)";
      }
      text.textContent = d.text;  // text, never HTML
      box.hidden = false;
    }
    new MutationObserver(function () {
      if (box.getAttribute("data-state") === "done") hide();
    }).observe(document.body, { attributes: true, attributeFilter: ["data-updates"] });
    var source = new EventSource(box.getAttribute("data-draft-stream"));
    source.addEventListener("ready", function () { box.setAttribute("data-listening", "1"); });
    source.addEventListener("draft", function (ev) { show(JSON.parse(ev.data)); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();

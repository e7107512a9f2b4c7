/* Support chat widget. Embed with one tag, served by the support API itself (no CDN):
 *   <script src="https://support.example.com/chat/widget.js" data-token="TOKEN"></script>
 * TOKEN is issued by the host site for its logged-in visitor (channels/chat/tokens.py).
 * Optional: data-title="Help", data-open="true" (start open).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var base = new URL(script.src, location.href).origin;
  var token = script.getAttribute("data-token") || "";
  var title = script.getAttribute("data-title") || "Chat with support";
  var state = { ticket: null, lastSeq: 0, source: null, seen: {}, handed: false };
  var storeKey = "support-chat:" + base;

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "{}"); } catch (e) { return {}; }
  }
  function save() {
    try { localStorage.setItem(storeKey, JSON.stringify({ ticket: state.ticket, lastSeq: state.lastSeq })); } catch (e) { /* private mode */ }
  }

  var root = document.createElement("div");
  root.id = "support-chat";
  root.setAttribute("style", "position:fixed;right:16px;bottom:16px;width:320px;font:14px/1.4 system-ui,sans-serif;" +
    "z-index:2147483000;box-shadow:0 4px 16px rgba(0,0,0,.2);border-radius:8px;background:#fff;color:#222");
  root.innerHTML =
    '<button type="button" data-role="toggle" style="width:100%;padding:10px;border:0;border-radius:8px 8px 0 0;' +
    'background:#2d5be3;color:#fff;font-weight:600;cursor:pointer"></button>' +
    '<div data-role="panel" style="display:none">' +
    '<div data-role="notice" role="status" style="display:none;padding:8px;background:#fff4d6;font-size:13px"></div>' +
    '<ol data-role="log" aria-live="polite" style="list-style:none;margin:0;padding:8px;height:300px;overflow-y:auto"></ol>' +
    '<div data-role="typing" role="status" style="display:none;padding:2px 8px;color:#666;font-size:12px;font-style:italic">Support is typing…</div>' +
    '<form data-role="form" style="display:flex;gap:4px;padding:8px;border-top:1px solid #eee">' +
    '<textarea data-role="input" aria-label="Your message" rows="2" required maxlength="20000" style="flex:1;resize:none"></textarea>' +
    '<button type="submit" data-role="send">Send</button></form>' +
    '<div data-role="error" role="alert" style="display:none;padding:4px 8px;color:#b00020;font-size:12px"></div></div>';
  function el(role) { return root.querySelector('[data-role="' + role + '"]'); }
  el("toggle").textContent = title;
  el("toggle").addEventListener("click", function () {
    var p = el("panel");
    p.style.display = p.style.display === "none" ? "block" : "none";
  });
  if (script.getAttribute("data-open") === "true") el("panel").style.display = "block";

  function showError(text) {
    var e = el("error");
    e.textContent = text || "";
    e.style.display = text ? "block" : "none";
  }

  function addMessage(m) {
    if (state.seen[m.seq]) return;
    state.seen[m.seq] = true;
    var li = document.createElement("li");
    li.className = "support-chat-message support-chat-" + m.sender;
    li.setAttribute("data-seq", String(m.seq));
    li.setAttribute("data-sender", m.sender);
    var mine = m.sender === "customer";
    li.setAttribute("style", "margin:4px 0;padding:6px 8px;border-radius:6px;white-space:pre-wrap;" +
      (mine ? "background:#e8eefc;margin-left:32px" : "background:#f2f2f2;margin-right:32px"));
    li.textContent = m.body;  // text, never HTML
    if (!mine) typing(false);
    el("log").appendChild(li);
    el("log").scrollTop = el("log").scrollHeight;
    if (m.seq > state.lastSeq) { state.lastSeq = m.seq; save(); }
  }

  function typing(on) {
    el("typing").style.display = on ? "block" : "none";
  }

  function handover(text) {
    if (state.handed) return;
    state.handed = true;
    var n = el("notice");
    n.textContent = text;
    n.style.display = "block";
  }

  function listen() {
    if (!state.ticket) return;
    if (state.source) state.source.close();
    var url = base + "/chat/stream?token=" + encodeURIComponent(token) + "&ticket_id=" +
      encodeURIComponent(state.ticket) + "&after_seq=" + state.lastSeq;
    var source = new EventSource(url);  // reconnects by itself, sending Last-Event-ID (the last seq)
    state.source = source;
    source.addEventListener("message", function (ev) { addMessage(JSON.parse(ev.data)); });
    source.addEventListener("handover", function (ev) { handover(JSON.parse(ev.data).text); });
    // Only that a reply is being written: the reply itself arrives as a message, once guarded and stored.
    source.addEventListener("typing", function (ev) { typing(JSON.parse(ev.data).typing === true); });
    source.addEventListener("open", function () { showError(""); });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) showError("Disconnected. Reload the page to reconnect.");
    });
  }

  function follow(ticketId) {
    if (ticketId === state.ticket) return;
    state.ticket = ticketId; state.lastSeq = 0; state.seen = {}; state.handed = false;
    el("log").innerHTML = ""; el("notice").style.display = "none";
    save();
    listen();
  }

  function newId() {
    return (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
  }

  el("form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var input = el("input");
    var text = input.value.trim();
    if (!text) return;
    el("send").disabled = true;
    var payload = { token: token, body: text, message_id: newId() };
    if (state.ticket) payload.ticket_id = state.ticket;
    fetch(base + "/chat/messages", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload)
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error((data.error && data.error.message) || ("HTTP " + r.status));
        input.value = "";
        showError("");
        if (data.ticket_id !== state.ticket) follow(data.ticket_id);
      });
    }).catch(function (e) { showError("Not sent: " + e.message); })
      .then(function () { el("send").disabled = false; });
  });

  function start() {
    document.body.appendChild(root);
    var saved = load();
    fetch(base + "/chat/session?token=" + encodeURIComponent(token)).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error((data.error && data.error.message) || ("HTTP " + r.status));
        if (!data.ticket_id) return;
        state.ticket = data.ticket_id;
        // Resume after the last message this browser saw; the earlier ones are fetched again to show.
        state.lastSeq = 0;
        if (saved.ticket !== data.ticket_id) save();
        listen();
      });
    }).catch(function (e) { showError("Chat unavailable: " + e.message); });
  }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();

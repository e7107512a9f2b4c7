// The support console's only script: SLA countdowns, live updates over server-sent events, who else is
// viewing a ticket, the reply box's saved replies and help-article search, keyboard.
// No framework: a changed region is fetched as the same page and swapped in ([data-live] elements).
(function () {
  "use strict";

  function countdown(el) {
    var due = Date.parse(el.getAttribute("data-due"));
    if (isNaN(due)) return;
    var s = Math.round((due - Date.now()) / 1000), a = Math.abs(s);
    var d = Math.floor(a / 86400), h = Math.floor((a % 86400) / 3600), m = Math.floor((a % 3600) / 60);
    var text = d ? d + "d " + h + "h" : h ? h + "h " + m + "m" : m < 10 ? m + "m " + (a % 60) + "s" : m + "m";
    el.textContent = (s >= 0 ? "in " : "overdue ") + text;
    el.classList.toggle("overdue", s < 0);
  }
  function tick() { document.querySelectorAll("[data-due]").forEach(countdown); }

  var refreshing = false, again = false, updates = 0;
  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(location.href, { credentials: "same-origin", headers: { "X-Console-Refresh": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var fresh = doc.querySelector('[data-live="' + el.getAttribute("data-live") + '"]');
          if (!fresh) return;
          var active = document.activeElement;
          if (active && el.contains(active) && (active.value || "") !== "") return; // keep what is being typed
          el.innerHTML = fresh.innerHTML;
          Array.prototype.forEach.call(fresh.attributes, function (at) { el.setAttribute(at.name, at.value); });
        });
        // The screen now shows the newest state: the forms' preconditions follow it.
        var head = document.querySelector("[data-seen-seq]");
        if (head) {
          document.querySelectorAll('[data-precondition="seen_seq"]').forEach(function (i) { i.value = head.getAttribute("data-seen-seq"); });
          document.querySelectorAll('[data-precondition="expect_assignee"]').forEach(function (i) { i.value = head.getAttribute("data-expect-assignee"); });
        }
        updates += 1;
        document.body.setAttribute("data-updates", String(updates));
        tick();
      })
      .finally(function () {
        refreshing = false;
        if (again) { again = false; setTimeout(refresh, 300); }
      });
  }

  function live() {
    var url = document.body.getAttribute("data-stream");
    if (!url || !window.EventSource) return;
    var source = new EventSource(url), badge = document.getElementById("live");
    source.addEventListener("ready", function () { if (badge) badge.hidden = false; document.body.setAttribute("data-live-ready", "1"); });
    source.addEventListener("change", refresh);
    source.addEventListener("viewers", beat);
    source.onerror = function () { if (badge) badge.hidden = true; };
  }

  function keys() {
    var rows = function () { return Array.prototype.slice.call(document.querySelectorAll("tr.row")); }, at = -1;
    document.addEventListener("keydown", function (ev) {
      var tag = (ev.target && ev.target.tagName) || "";
      if (/INPUT|TEXTAREA|SELECT/.test(tag) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      var list = rows();
      if ((ev.key === "j" || ev.key === "k") && list.length) {
        if (at >= 0 && list[at]) list[at].classList.remove("selected");
        at = Math.max(0, Math.min(list.length - 1, at + (ev.key === "j" ? 1 : -1)));
        list[at].classList.add("selected");
        list[at].scrollIntoView({ block: "nearest" });
      } else if (ev.key === "Enter" && at >= 0 && list[at]) {
        var a = list[at].querySelector("a"); if (a) location.href = a.href;
      } else if (ev.key === "r" || ev.key === "n" || ev.key === "e") {
        // r: the reply; n: the internal note (when the page has one); e: the resolution note (Enter resolves)
        var target = document.getElementById({ r: "reply-body", n: "note-body", e: "resolve-note" }[ev.key]);
        if (target) { ev.preventDefault(); target.focus(); }
      } else if (ev.key === "?") {
        ev.preventDefault(); help();
      }
    });
  }

  var KEYS = [["j / k", "move down / up the queue"], ["Enter", "open the selected ticket"], ["r", "write a reply"],
    ["n", "write an internal note"], ["e", "resolve (focuses the resolution note; Enter resolves)"],
    ["?", "this list"], ["Esc", "close it"]];
  function help() {
    var box = document.getElementById("keys-help");
    if (box) { box.hidden = !box.hidden; if (!box.hidden) box.focus(); return; }
    box = document.createElement("div");
    box.id = "keys-help"; box.className = "keys-help card"; box.tabIndex = -1;
    box.setAttribute("role", "dialog"); box.setAttribute("aria-label", "Keyboard shortcuts");
    var h = document.createElement("h2"); h.textContent = "Keyboard shortcuts"; box.appendChild(h);
    var dl = document.createElement("dl");
    KEYS.forEach(function (k) {
      var dt = document.createElement("dt"), kbd = document.createElement("kbd"), dd = document.createElement("dd");
      kbd.textContent = k[0]; dt.appendChild(kbd); dd.textContent = k[1]; dl.appendChild(dt); dl.appendChild(dd);
    });
    box.appendChild(dl);
    box.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { box.hidden = true; } });
    document.body.appendChild(box); box.focus();
  }

  // Who else is viewing this ticket: a beat now and every few seconds, another when the stream says the
  // viewers changed, and a goodbye when the page goes away.
  var presence = null;
  function form(data) {
    var body = new URLSearchParams();
    Object.keys(data).forEach(function (k) { body.append(k, data[k]); });
    return body;
  }
  function beat() {
    if (!presence) return;
    fetch(presence.getAttribute("data-presence"), { method: "POST", credentials: "same-origin",
      body: form({ csrf: presence.getAttribute("data-csrf") }) })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { presence.innerHTML = html; document.body.setAttribute("data-presence-beats", String(++beats)); } })
      .catch(function () {});
  }
  var beats = 0;
  function viewing() {
    presence = document.getElementById("presence");
    if (!presence) return;
    beat();
    setInterval(beat, 1000 * (Number(presence.getAttribute("data-every")) || 10));
    window.addEventListener("pagehide", function () {
      if (navigator.sendBeacon) navigator.sendBeacon(presence.getAttribute("data-presence") + "/leave", form({ csrf: presence.getAttribute("data-csrf") }));
    });
  }

  // The reply box: text goes in at the cursor (or at the end), on a paragraph of its own.
  function insert(text) {
    var box = document.getElementById("reply-body");
    if (!box || !text) return;
    var start = box.selectionStart, end = box.selectionEnd, v = box.value;
    if (document.activeElement !== box && start === 0 && end === 0) { start = end = v.length; }
    var before = v.slice(0, start), after = v.slice(end);
    var lead = before && !/\n\n$/.test(before) ? (/\n$/.test(before) ? "\n" : "\n\n") : "";
    var tail = after && !/^\n/.test(after) ? "\n\n" : "";
    box.value = before + lead + text + tail + after;
    var at = (before + lead + text).length;
    box.focus(); box.setSelectionRange(at, at);
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }
  function replyTools() {
    var tools = document.getElementById("reply-tools");
    if (!tools) return;
    var pick = document.getElementById("saved-reply"), use = document.getElementById("insert-saved");
    if (use && pick) use.addEventListener("click", function () {
      var option = pick.options[pick.selectedIndex];
      if (option && option.value) insert(option.getAttribute("data-body"));
    });
    var search = document.getElementById("article-search"), results = document.getElementById("article-results");
    if (search && results) search.addEventListener("submit", function (ev) {
      ev.preventDefault();
      results.textContent = "Searching…";
      var url = search.getAttribute("action") + "?" + new URLSearchParams(new FormData(search)).toString();
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) { results.innerHTML = html; results.setAttribute("data-searched", search.querySelector("[name=q]").value); })
        .catch(function () { results.textContent = "The search did not answer; try again."; });
    });
    if (results) results.addEventListener("click", function (ev) {
      var button = ev.target.closest && ev.target.closest("button[data-insert]");
      if (button) insert(button.getAttribute("data-insert"));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick(); setInterval(tick, 1000); live(); keys(); viewing(); replyTools();
  });
})();

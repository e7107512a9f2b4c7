// The support console's only script: SLA countdowns, live updates over server-sent events, keyboard.
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
      } else if (ev.key === "r") {
        var reply = document.getElementById("reply-body"); if (reply) { ev.preventDefault(); reply.focus(); }
      } else if (ev.key === "n") {
        var note = document.getElementById("note-body"); if (note) { ev.preventDefault(); note.focus(); }
      } else if (ev.key === "?") {
        alert("j / k: move in the queue\nEnter: open the ticket\nr: write a reply\nn: write an internal note\n?: this list");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick(); setInterval(tick, 1000); live(); keys();
  });
})();

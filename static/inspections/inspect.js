/* The round form on a phone: every answer is saved by htmx as it is given. When the
 * connection drops, what was entered stays in the page and in localStorage, and is sent
 * again as soon as the phone is back online (or the page is opened again). */
(function () {
  "use strict";
  var page = document.querySelector(".inspection-page");
  if (!page || !window.htmx) { return; }
  var round = page.getAttribute("data-inspection");
  var pending = new Set();
  var banner = document.getElementById("offline-banner");

  function key(resultId) { return "inspection:" + round + ":result:" + resultId; }
  function cardOf(elt) { return elt && elt.closest ? elt.closest(".result-card") : null; }

  function refresh() {
    var cards = document.querySelectorAll(".result-card");
    var answered = 0;
    cards.forEach(function (card) { if (card.getAttribute("data-outcome")) { answered += 1; } });
    var counter = document.querySelector("[data-answered]");
    if (counter) { counter.textContent = answered; }
    if (banner) {
      var show = pending.size > 0 || navigator.onLine === false;
      banner.classList.toggle("d-none", !show);
      var count = banner.querySelector("[data-pending-count]");
      if (count) { count.textContent = pending.size ? "(" + pending.size + ")" : ""; }
    }
  }

  function triggerOf(form) { return form.getAttribute("hx-trigger") || "submit"; }

  function retry() {
    if (navigator.onLine === false) { return; }
    Array.from(pending).forEach(function (form) {
      if (!document.body.contains(form)) { pending.delete(form); return; }
      htmx.trigger(form, triggerOf(form));
    });
    refresh();
  }

  // Remember what is being sent, before it leaves.
  document.body.addEventListener("htmx:configRequest", function (event) {
    var card = cardOf(event.detail.elt);
    var params = event.detail.parameters;
    if (!card || !params || typeof params.get !== "function" || !params.get("outcome")) { return; }
    var saved = { outcome: params.get("outcome") };
    if (params.get("note") !== null) { saved.note = params.get("note"); }
    if (params.get("responsible")) { saved.responsible = params.get("responsible"); }
    try { localStorage.setItem(key(card.getAttribute("data-result")), JSON.stringify(saved)); } catch (e) { /* full */ }
  });

  var soon = null;
  function retrySoon() {
    if (soon === null) { soon = setTimeout(function () { soon = null; retry(); }, 3000); }
  }

  function failed(event) {
    var form = event.detail.elt;
    if (form && form.hasAttribute && form.hasAttribute("data-offline-retry")) {
      pending.add(form);
      var card = cardOf(form);
      if (card) { card.classList.add("unsaved"); }
      refresh();
      retrySoon();
    }
  }
  document.body.addEventListener("htmx:sendError", failed);
  document.body.addEventListener("htmx:timeout", failed);

  document.body.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || xhr.status === 0 || xhr.status >= 500) { return; }
    var form = event.detail.elt;
    pending.delete(form);
    var card = cardOf(form);
    if (card) {
      try { localStorage.removeItem(key(card.getAttribute("data-result"))); } catch (e) { /* ignore */ }
    }
    refresh();
  });

  // After a pass or N/A, bring the next open item under the thumb.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var card = event.target.classList && event.target.classList.contains("result-card") ? event.target : null;
    if (card) {
      var note = card.querySelector("[data-draft]");
      if (note) {
        try { localStorage.removeItem("draft:" + round + ":" + note.getAttribute("data-draft")); } catch (e) { /* ignore */ }
      }
      var outcome = card.getAttribute("data-outcome");
      if (outcome === "pass" || outcome === "na") {
        var next = document.querySelector('.result-card[data-outcome=""]');
        if (next) { next.scrollIntoView({ behavior: "smooth", block: "center" }); }
      }
    }
    refresh();
  });

  // Keep a typed note even if the page is closed before it is sent.
  document.body.addEventListener("input", function (event) {
    var field = event.target;
    if (field.hasAttribute && field.hasAttribute("data-draft")) {
      try { localStorage.setItem("draft:" + round + ":" + field.getAttribute("data-draft"), field.value); } catch (e) { /* full */ }
    }
  });

  // Do not close the round while answers are still on the phone only.
  document.querySelectorAll("[data-testid=complete]").forEach(function (button) {
    button.form.addEventListener("submit", function (event) {
      if (pending.size > 0) { event.preventDefault(); retry(); refresh(); }
    });
  });

  // Opened again: send what the server has not got yet, refill unsent notes.
  document.querySelectorAll(".result-card").forEach(function (card) {
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(key(card.getAttribute("data-result"))) || "null"); } catch (e) { saved = null; }
    if (saved && saved.outcome && !card.getAttribute("data-outcome")) {
      var input = card.querySelector('input[name=outcome][value="' + saved.outcome + '"]');
      if (input) { pending.add(input.form); }
    }
    var note = card.querySelector("[data-draft]");
    if (note && !note.value) {
      var draft = null;
      try { draft = localStorage.getItem("draft:" + round + ":" + note.getAttribute("data-draft")); } catch (e) { draft = null; }
      if (draft) { note.value = draft; pending.add(note.form); }
    }
  });

  window.addEventListener("online", function () { retry(); retrySoon(); });
  window.addEventListener("offline", refresh);
  setInterval(retry, 15000);
  if (pending.size) { retry(); }
  refresh();
})();

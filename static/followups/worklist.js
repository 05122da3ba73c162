// Keyboard for the worklist: J/K move between cards, a digit clicks that outcome in the
// focused card. Typing in a field is never intercepted.
(function () {
  function cards() { return Array.from(document.querySelectorAll(".task-card")); }
  function current() { return document.activeElement && document.activeElement.closest(".task-card"); }
  function move(step) {
    var list = cards(); if (!list.length) return;
    var index = list.indexOf(current());
    var next = list[Math.min(Math.max(index + step, 0), list.length - 1)];
    next.focus(); next.scrollIntoView({block: "nearest"});
  }
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "j") { move(1); event.preventDefault(); return; }
    if (event.key === "k") { move(-1); event.preventDefault(); return; }
    var card = current();
    if (card && /^[0-9]$/.test(event.key)) {
      var button = card.querySelector('button[data-hotkey="' + event.key + '"]');
      if (button) { button.click(); event.preventDefault(); }
    }
  });
  // After an outcome the card is replaced: move on to the next card still open.
  var lastId = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var card = event.target.closest ? event.target.closest(".task-card") : null;
    lastId = card ? card.id : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!lastId) return;
    var same = document.getElementById(lastId);
    if (same && same.querySelector(".alert-danger")) { same.focus(); lastId = null; return; }
    var list = cards();
    var index = list.findIndex(function (c) { return c.id === lastId; });
    var next = list.slice(index + 1).find(function (c) { return c.querySelector("form"); });
    if (next) next.focus();
    lastId = null;
  });
  var first = cards()[0]; if (first) first.focus();
})();

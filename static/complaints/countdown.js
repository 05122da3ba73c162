/* Live SLA countdowns. Each .countdown element carries its deadline (data-due), the
   warning instant (data-warn) and, when its clock is paused, the pause start
   (data-paused) as ISO timestamps. The page's server time (data-server-now on
   #complaint-board or on the element's container) corrects the browser's clock, so
   the colour changes at the second the server's sweep would see. */
(function () {
  "use strict";

  function parse(value) {
    var t = Date.parse(value);
    return isNaN(t) ? null : t;
  }

  var anchor = document.querySelector("[data-server-now]");
  var serverNow = anchor ? parse(anchor.getAttribute("data-server-now")) : null;
  var offset = serverNow === null ? 0 : serverNow - Date.now();

  var RANK = { in_time: 0, warning: 1, breached: 2 };

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function format(ms) {
    var sign = ms < 0 ? "-" : "";
    var total = Math.floor(Math.abs(ms) / 1000);
    var days = Math.floor(total / 86400);
    var rest = total % 86400;
    var text = pad(Math.floor(rest / 3600)) + ":" + pad(Math.floor((rest % 3600) / 60)) + ":" + pad(rest % 60);
    return sign + (days ? days + "d " : "") + text;
  }

  function state(now, warn, due) {
    // The deadline is the last second in time: breached once past it.
    if (Math.floor(now / 1000) > Math.floor(due / 1000)) return "breached";
    if (now >= warn) return "warning";
    return "in_time";
  }

  function tick() {
    var now = Date.now() + offset;
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var due = parse(el.getAttribute("data-due"));
      var warn = parse(el.getAttribute("data-warn"));
      var paused = parse(el.getAttribute("data-paused") || "");
      if (due === null || warn === null) return;
      var moment = paused === null ? now : paused;
      var current = state(moment, warn, due);
      el.textContent = format(due - moment);
      if (el.getAttribute("data-state") !== current) {
        el.setAttribute("data-state", current);
        el.className = el.className.replace(/sla-badge-\S+/, "sla-badge-" + current);
        var row = el.closest(".sla-row");
        // A row shows the worst of its clocks, and time only makes states worse.
        if (row && RANK[current] > RANK[row.getAttribute("data-state")]) {
          row.className = row.className.replace(/\bsla-(in_time|warning|breached)\b/, "sla-" + current);
          row.setAttribute("data-state", current);
        }
      }
    });
  }

  tick();
  setInterval(tick, 1000);
  document.body.addEventListener("htmx:afterSwap", tick);
})();

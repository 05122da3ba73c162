/* Charts of the manager's dashboard. Reads the figures from the json_script block
   #dashboard-data and draws into elements with a data-chart attribute. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var L = data.labels || {};
  var charts = [];

  function line(name, values, dashed) {
    return { name: name, type: "line", data: values, connectNulls: false,
             lineStyle: dashed ? { type: "dashed" } : undefined, symbol: dashed ? "none" : "circle" };
  }

  function draw(kind, option) {
    var el = document.querySelector('[data-chart="' + kind + '"]');
    if (!el) { return; }
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option);
    charts.push(chart);
  }

  var t = data.trends;
  draw("scores", {
    tooltip: { trigger: "axis" }, legend: { top: 0 },
    xAxis: { type: "category", data: data.months }, yAxis: { type: "value", scale: true },
    series: [
      line(t.css.label, t.css.values), line(t.css.label + " " + L.target, t.css.targets, true),
      line(t.csi.label, t.csi.values), line(t.csi.label + " " + L.target, t.csi.targets, true)
    ]
  });
  draw("rates", {
    tooltip: { trigger: "axis" }, legend: { top: 0 },
    xAxis: { type: "category", data: data.months }, yAxis: { type: "value", max: 100, scale: true },
    series: [
      line(t.followup.label, t.followup.values), line(t.followup.label + " " + L.target, t.followup.targets, true),
      line(t.satisfied.label, t.satisfied.values), line(t.satisfied.label + " " + L.target, t.satisfied.targets, true),
      line(t.ms.label, t.ms.values), line(t.ms.label + " " + L.target, t.ms.targets, true)
    ]
  });

  var itemSeries = [], names = [];
  ["css", "csi"].forEach(function (survey) {
    (data.items[survey] || []).forEach(function (item) {
      names.push(survey.toUpperCase() + " " + item.name);
      itemSeries.push({ value: item.score,
        itemStyle: { color: data.item_targets[survey] !== null && item.score < data.item_targets[survey] ? "#dc3545" : "#0d6efd" } });
    });
  });
  draw("items", {
    tooltip: { trigger: "axis" }, grid: { left: 180 },
    xAxis: { type: "value", scale: true }, yAxis: { type: "category", data: names, inverse: true },
    series: [{ name: L.score, type: "bar", data: itemSeries }]
  });

  var funnel = data.funnel || [];
  draw("funnel", {
    tooltip: { trigger: "axis" }, legend: { top: 0 },
    xAxis: { type: "category", data: funnel.map(function (r) { return r.programme; }) },
    yAxis: { type: "value" },
    series: ["due", "reached", "booked", "came_in"].map(function (key) {
      return { name: L[key], type: "bar", data: funnel.map(function (r) { return r[key]; }) };
    })
  });

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  window.addEventListener("beforeprint", function () { charts.forEach(function (c) { c.resize(); }); });
  document.querySelectorAll('[data-action="print"]').forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();

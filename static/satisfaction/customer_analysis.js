/* Charts of the customer analysis. Reads the breakdowns from the json_script block
   #customer-analysis-data and draws a bar chart into each element with a data-chart
   attribute; clicking a bar opens the list of the customers behind it. */
(function () {
  "use strict";
  var source = document.getElementById("customer-analysis-data");
  if (!source || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var L = data.labels || {};
  var charts = [];

  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var chart = data.charts[el.getAttribute("data-chart")];
    if (!chart) { return; }
    var instance = echarts.init(el, null, { renderer: "svg" });
    instance.setOption({
      tooltip: { trigger: "axis" },
      grid: { left: 120, right: 24, top: 8, bottom: 24 },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: chart.labels, inverse: true },
      series: [{ name: L.customers, type: "bar", data: chart.values, cursor: "pointer",
                 label: { show: true, position: "right" } }]
    });
    instance.on("click", function (params) {
      var link = chart.links[params.dataIndex];
      if (link) { window.location.href = link; }
    });
    charts.push(instance);
  });

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();

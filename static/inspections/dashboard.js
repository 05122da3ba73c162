/* The daily score trend per area on the manager's page (Apache ECharts, vendored). */
(function () {
  "use strict";
  var box = document.getElementById("trend-chart");
  var source = document.getElementById("trend-data");
  if (!box || !source || !window.echarts) { return; }
  var trend = JSON.parse(source.textContent);
  var chart = echarts.init(box);
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { type: "scroll", bottom: 0 },
    grid: { left: 40, right: 16, top: 16, bottom: 48 },
    xAxis: { type: "category", data: trend.days },
    yAxis: { type: "value", min: 0, max: 100 },
    series: trend.series.map(function (s) {
      return { name: s.name, type: "line", data: s.data, connectNulls: true, smooth: false };
    })
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();

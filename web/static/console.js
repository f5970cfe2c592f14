// 工作台: the dashboard's chart (Apache ECharts, vendored) and its live
// update. The page is complete without this script: the same figures are
// in its tables. Every POLL seconds the script asks the console for the
// figures and redraws; it changes no data.
(function () {
  "use strict";
  // 年度统计: grouped bars of the year's figures per county.
  var statsEl = document.getElementById("stats-chart");
  var statsSrc = document.getElementById("stats-data");
  if (statsEl && statsSrc && typeof echarts !== "undefined") {
    var d = JSON.parse(statsSrc.textContent);
    var s = d.series.map(function (x) { return { name: x.name, type: "bar", data: x.data }; });
    s.push({ name: "逾期", type: "bar", data: d.overdue, itemStyle: { color: "#8a1c12" } });
    var sc = echarts.init(statsEl, null, { renderer: "svg" });
    sc.setOption({ animation: false, tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 8, right: 16, bottom: 8, top: 56, containLabel: true },
      xAxis: { type: "value", minInterval: 1 }, yAxis: { type: "category", data: d.counties, inverse: true }, series: s });
    window.addEventListener("resize", function () { sc.resize(); });
  }
  var root = document.getElementById("dashboard");
  var el = document.getElementById("chart");
  var src = document.getElementById("chart-data");
  if (!root || !el || !src) { return; }
  var chart = null;

  function draw(data) {
    if (typeof echarts === "undefined") { return; }
    if (!chart) { chart = echarts.init(el, null, { renderer: "svg" }); }
    var series = data.series.map(function (s) {
      return { name: s.name, type: "bar", stack: "stage", data: s.data, emphasis: { focus: "series" } };
    });
    series.push({ name: "逾期", type: "bar", data: data.overdue, itemStyle: { color: "#8a1c12" } });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 8, right: 16, bottom: 8, top: 56, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: data.counties, inverse: true },
      series: series
    }, true);
  }

  function text(id, v) {
    var n = document.getElementById(id);
    if (n && String(n.textContent) !== String(v)) { n.textContent = v; }
  }

  function poll() {
    fetch(root.getAttribute("data-src"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status === 401) { window.location.assign("/console/signin"); return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (d) {
        if (!d) { return; }
        text("fig-total", d.total);
        text("fig-closed", d.closed);
        text("fig-awaiting", d.awaiting);
        text("fig-assigned", d.assigned);
        text("fig-overdue", d.overdue);
        text("fig-due", d.due_soon);
        draw(d.chart);
        var when = new Date();
        text("updated", "已于 " + when.toLocaleTimeString("zh-CN", { hour12: false }) + " 更新，每 " + root.getAttribute("data-poll") + " 秒自动刷新。");
      })
      .catch(function () { /* the next poll tries again */ });
  }

  draw(JSON.parse(src.textContent));
  window.addEventListener("resize", function () { if (chart) { chart.resize(); } });
  var every = parseInt(root.getAttribute("data-poll"), 10) || 10;
  window.setInterval(poll, every * 1000);
})();

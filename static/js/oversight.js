/* Draws the oversight dashboard's charts with ECharts (static/vendor/echarts).
 *
 * Each chart is a <div class="oversight-chart" data-chart-source="ID"> whose data sits in a
 * <script type="application/json" id="ID"> block (the CSP allows no inline script). The same
 * figures are in the table under each chart; this file only draws them.
 */
(function () {
  "use strict";

  var PALETTE = ["#1565c0", "#b3191f", "#2e7d32", "#f9a825", "#6a1b9a", "#00838f", "#5d4037"];

  function readSpec(el) {
    var source = document.getElementById(el.getAttribute("data-chart-source"));
    if (!source) { return null; }
    try { return JSON.parse(source.textContent); } catch (e) { return null; }
  }

  function pieOption(spec) {
    var series = spec.series[0];
    return {
      color: PALETTE,
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      legend: { bottom: 0, type: "scroll" },
      series: [{
        name: series.name,
        type: "pie",
        radius: ["35%", "65%"],
        center: ["50%", "45%"],
        label: { formatter: "{b}\n{c}" },
        data: spec.categories.map(function (name, i) { return { name: name, value: series.data[i] }; })
          .filter(function (d) { return d.value; })
      }]
    };
  }

  function barOption(spec) {
    var axes = [{ type: "value", minInterval: spec.money ? null : 1 }];
    if (spec.percentAxis) {
      axes.push({ type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" }, splitLine: { show: false } });
    }
    return {
      color: PALETTE,
      tooltip: { trigger: "axis" },
      legend: { top: 0, type: "scroll" },
      grid: { left: 12, right: spec.percentAxis ? 12 : 24, bottom: 8, top: 36, containLabel: true },
      xAxis: { type: "category", data: spec.categories, axisLabel: { interval: 0, hideOverlap: true } },
      yAxis: axes,
      series: spec.series.map(function (s) {
        return {
          name: s.name,
          type: s.type || "bar",
          yAxisIndex: s.axis || 0,
          data: s.data,
          connectNulls: false,
          barMaxWidth: 36,
          label: { show: spec.series.length === 1, position: "top" }
        };
      })
    };
  }

  function draw(el) {
    var spec = readSpec(el);
    if (!spec || typeof echarts === "undefined") { return null; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(spec.type === "pie" ? pieOption(spec) : barOption(spec));
    return chart;
  }

  function start() {
    var charts = [];
    document.querySelectorAll(".oversight-chart[data-chart-source]").forEach(function (el) {
      var chart = draw(el);
      if (chart) { charts.push(chart); }
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());

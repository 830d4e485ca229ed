// hero_livekit admin: charts of lk-backend's /api/stats/* series, drawn with uPlot (vendored,
// MIT, assets/uplot/). Loaded only by pages with a [data-charts] section, which stays hidden
// without JavaScript: the tables below it hold the same facts.
(function () {
  "use strict";
  var RANGES = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
  var section = document.querySelector("[data-charts]");
  if (!section || !window.uPlot) return;
  section.hidden = false;
  var range = "24h";
  try { range = localStorage.getItem("hero-chart-range") || range; } catch (_) {}
  if (!RANGES[range]) range = "24h";
  var css = getComputedStyle(document.documentElement);
  function color(name, fallback) { return (css.getPropertyValue(name) || fallback).trim(); }
  var palette = {
    accent: color("--accent", "#2357d9"), ok: color("--ok", "#137333"),
    warn: color("--warn", "#8a5300"), bad: color("--bad", "#b3261e"),
    muted: color("--muted", "#5b6470"), line: color("--line", "#dfe3e8")
  };
  var axis = { stroke: palette.muted, grid: { stroke: palette.line, width: 1 }, ticks: { stroke: palette.line } };
  var bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 60] }) : null;

  // What each series draws: its y series and how the x axis reads.
  var KINDS = {
    participants: function (d) {
      return { data: [d.t, d.participants], series: [{}, { label: "Participants", stroke: palette.accent, width: 2, fill: palette.accent + "22", paths: uPlot.paths.stepped({ align: -1 }) }] };
    },
    participant_minutes: function (d) {
      return { data: [d.t, d.minutes], series: [{}, { label: "Participant-minutes", stroke: palette.ok, fill: palette.ok + "88", paths: bars }], day: true };
    },
    session_durations: function (d) {
      var x = d.sessions.map(function (_, i) { return i; });
      return {
        data: [x, d.sessions],
        series: [{ label: "Duration", value: function (u, i) { return i == null ? "" : d.buckets[i]; } },
                 { label: "Sessions", stroke: palette.accent, fill: palette.accent + "88", paths: bars }],
        categories: d.buckets
      };
    },
    webhooks: function (d) {
      return {
        data: [d.t, d.stored, d.duplicates, d.forgeries],
        series: [{}, { label: "Stored", stroke: palette.ok, width: 2 },
                 { label: "Duplicates", stroke: palette.warn, width: 2 },
                 { label: "Forgeries", stroke: palette.bad, width: 2 }]
      };
    }
  };

  function draw(box, d) {
    var spec = KINDS[box.getAttribute("data-chart")](d);
    var plot = box.querySelector(".plot");
    var opts = {
      width: Math.max(280, plot.clientWidth || box.clientWidth - 20), height: 200,
      series: spec.series, legend: { show: true },
      scales: { x: { time: !spec.categories }, y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.1)]; } } },
      axes: [Object.assign({}, axis), Object.assign({}, axis, { size: 50 })]
    };
    if (spec.categories) {
      opts.scales.x.range = function () { return [-0.5, spec.categories.length - 0.5]; };
      opts.axes[0].splits = function () { return spec.categories.map(function (_, i) { return i; }); };
      // Short tick labels ("1–5m"); the legend keeps the full ones.
      opts.axes[0].values = function () {
        return spec.categories.map(function (c) { return c.replace(/ min$/, "m").replace(/ h$/, "h").replace(/ /g, ""); });
      };
    }
    if (spec.day) {
      // Whole days, half a day of margin: a single day must not stretch the axis to years.
      var t = spec.data[0];
      opts.scales.x.range = function () { return [t[0] - 43200, t[t.length - 1] + 43200]; };
      opts.axes[0].values = "{YYYY}-{MM}-{DD}";
      opts.axes[0].space = 70;
      opts.axes[0].incrs = [86400, 2 * 86400, 7 * 86400, 14 * 86400];
    }
    var empty = spec.data.slice(1).every(function (s) { return s.every(function (v) { return !v; }); });
    box.classList.toggle("has-data", !empty);
    if (box._plot) {
      box._plot.destroy();
      box._plot = null;
    }
    plot.textContent = "";
    box._plot = new uPlot(opts, spec.data, plot);
    box.querySelector(".chart-note").textContent = empty ? "No data in this range yet." : "";
  }

  function load(box) {
    if (document.hidden) return;
    var to = Math.floor(Date.now() / 1000);
    var q = "from=" + (to - RANGES[range]) + "&to=" + to;
    var room = box.getAttribute("data-room");
    if (room) q += "&room=" + encodeURIComponent(room);
    fetch("/api/stats/" + box.getAttribute("data-chart") + "?" + q, { credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401) { window.location.href = "/login"; throw 0; }
        return r.json().then(function (d) { if (!r.ok) throw new Error(d.error || r.status); return d; });
      })
      .then(function (d) { draw(box, d); box.setAttribute("data-loaded", range); })
      .catch(function (e) { if (e) box.querySelector(".chart-note").textContent = "Cannot load this chart: " + (e.message || e); });
  }

  var boxes = Array.prototype.slice.call(section.querySelectorAll("[data-chart]"));
  function loadAll() { boxes.forEach(load); }
  function pressed() {
    section.querySelectorAll("[data-range]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-range") === range));
    });
  }
  section.addEventListener("click", function (e) {
    var b = e.target.closest("[data-range]");
    if (!b) return;
    range = b.getAttribute("data-range");
    try { localStorage.setItem("hero-chart-range", range); } catch (_) {}
    pressed();
    loadAll();
  });
  // Live like the tables: app.js announces each change of /live; a burst costs one reload,
  // at most every 5 s, and a minute timer backs it up.
  var timer = null, last = 0;
  document.addEventListener("hero:live", function () {
    if (timer) return;
    timer = setTimeout(function () { timer = null; last = Date.now(); loadAll(); }, Math.max(250, 5000 - (Date.now() - last)));
  });
  setInterval(loadAll, 60000);
  var width = window.innerWidth;
  window.addEventListener("resize", function () {
    if (Math.abs(window.innerWidth - width) < 40) return;
    width = window.innerWidth;
    boxes.forEach(function (box) {
      if (box._plot) box._plot.setSize({ width: Math.max(280, box.querySelector(".plot").clientWidth), height: 200 });
    });
  });
  pressed();
  loadAll();
})();

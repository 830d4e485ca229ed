// hero_livekit admin: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  function relative(ms) {
    var s = Math.round(ms / 1000), a = Math.abs(s), r;
    if (a < 45) r = a + " s"; else if (a < 2700) r = Math.round(a / 60) + " min";
    else if (a < 79200) r = Math.round(a / 3600) + " h"; else r = Math.round(a / 86400) + " d";
    return s <= 0 ? r + " ago" : "in " + r;
  }

  // <time datetime="RFC 3339"> → local time with a relative hint; the UTC text stays as title.
  function times(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d)) return;
      if (!t.title) t.title = t.textContent.trim();
      t.textContent = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
      var rel = document.createElement("span");
      rel.className = "rel";
      rel.textContent = "(" + relative(d - Date.now()) + ")";
      t.appendChild(rel);
    });
  }

  // Copy buttons: data-copy="<id of the element whose value or text to copy>".
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-copy]");
    if (!b) return;
    var el = document.getElementById(b.getAttribute("data-copy"));
    if (!el) return;
    var text = "value" in el ? el.value : el.textContent;
    var done = function () { var old = b.textContent; b.textContent = "Copied"; setTimeout(function () { b.textContent = old; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      if (el.select) el.select();
      try { document.execCommand("copy"); done(); } catch (_) {}
    }
  });

  // Confirmation for destructive buttons: data-confirm="question".
  document.addEventListener("submit", function (e) {
    var q = e.target.getAttribute("data-confirm");
    if (q && !window.confirm(q)) e.preventDefault();
  });

  // Live regions: data-live="seconds". The page itself is re-fetched and the region with the
  // same id swapped in, unless the operator is typing or has a <details> open inside it.
  // While /live (Server-Sent Events) is connected, a region is refreshed as soon as the control
  // plane or LiveKit's webhooks report a change, and the timer only backs it up (every 30 s);
  // without it, the timer alone refreshes every data-live seconds.
  function busy(region) {
    var a = document.activeElement;
    if (a && region.contains(a) && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName)) return true;
    if (region.querySelector("details[open]")) return true;
    var sel = window.getSelection && window.getSelection();
    return !!(sel && !sel.isCollapsed && region.contains(sel.anchorNode));
  }
  var regions = Array.prototype.slice.call(document.querySelectorAll("[data-live][id]"));
  var stream = null;
  function pushing() { return !!stream && stream.readyState === 1; }
  function refresh(region) {
    if (region._inflight || document.hidden || busy(region)) return Promise.resolve();
    region._inflight = true;
    region._last = Date.now();
    return fetch(window.location.href, { credentials: "same-origin", headers: { "x-live-refresh": "1" } })
      .then(function (r) {
        if (r.redirected || r.status === 401) { window.location.href = "/login"; throw 0; }
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById(region.id);
        if (fresh && !busy(region)) { region.innerHTML = fresh.innerHTML; times(region); label(pushing()); }
      })
      .catch(function () {})
      .then(function () { region._inflight = false; });
  }
  regions.forEach(function (region) {
    var every = Math.max(2, parseInt(region.getAttribute("data-live"), 10) || 5) * 1000;
    region._last = Date.now();
    setInterval(function () {
      if (Date.now() - region._last < (pushing() ? 30000 : every)) return;
      region._last = Date.now();
      refresh(region);
    }, 1000);
  });
  // "Refreshes every N s" becomes "Live" while the stream is connected.
  function label(live) {
    document.querySelectorAll("p.live").forEach(function (p) {
      if (!p.hasAttribute("data-polling")) p.setAttribute("data-polling", p.textContent);
      p.textContent = live ? "Live: updates as they happen" : p.getAttribute("data-polling");
    });
  }
  if (regions.length && window.EventSource) {
    stream = new EventSource("/live");
    var pending = null;
    stream.addEventListener("open", function () { label(true); });
    stream.addEventListener("error", function () { label(pushing()); });
    // A burst of events (a room filling up) costs one refresh.
    stream.addEventListener("change", function () {
      // Charts (charts.js) follow the same stream.
      document.dispatchEvent(new CustomEvent("hero:live"));
      if (pending) return;
      pending = setTimeout(function () { pending = null; regions.forEach(refresh); }, 250);
    });
  }

  times(document);
})();

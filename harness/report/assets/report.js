// Filters, search and row expansion for the requirements x targets matrix.
// A self-check writes its outcome to <body data-selfcheck>, which tests read.
window.addEventListener("error", function (e) {
  document.body.setAttribute("data-init-ms", String(Math.round(performance.now() - t0)));
  document.body.setAttribute("data-ready-ms", String(Math.round(performance.now())));
  document.body.setAttribute("data-selfcheck", "error: " + e.message);
});
(function () {
  "use strict";
  var t0 = performance.now();
  var $ = function (s) { return document.querySelector(s); };
  var $$ = function (s) { return Array.prototype.slice.call(document.querySelectorAll(s)); };
  var table = $("#mx");
  if (!table) { document.body.setAttribute("data-selfcheck", "ok: no matrix"); return; }
  var rows = $$("#mx tbody tr.req"), areas = $$("#mx tbody tr.area");
  // Search text: the row (id, profile, statement) and its tests (the folded detail row).
  var texts = rows.map(function (tr) {
    var d = tr.nextElementSibling, t = tr.cells[0].textContent;
    if (d && d.classList.contains("detail")) t += " " + d.textContent;
    return (t + " " + tr.getAttribute("data-area")).toLowerCase();
  });
  var q = $("#q"), fs = $("#f-status"), fa = $("#f-area"), fp = $("#f-profile"), ft = $("#f-target");
  var colStyle = document.createElement("style");
  document.head.appendChild(colStyle);
  var FAILING = ["fail", "timeout", "crash", "error", "xpass"];

  function cellHas(cell, status) {
    var set = cell.split(",");
    if (status === "failing") return set.some(function (s) { return FAILING.indexOf(s) >= 0; });
    return set.indexOf(status) >= 0;
  }
  function apply() {
    var text = q.value.trim().toLowerCase(), st = fs.value, ar = fa.value, pr = fp.value, tg = ft.value;
    var shown = 0, seen = {};
    rows.forEach(function (tr, n) {
      var cells = tr.getAttribute("data-stt").split("|");
      var idx = tg === "" ? cells.map(function (_, i) { return i; }) : [Number(tg)];
      var ok = (!ar || tr.getAttribute("data-area") === ar) && (!pr || tr.getAttribute("data-profile") === pr) &&
        (!text || texts[n].indexOf(text) >= 0);
      if (ok && st) {
        if (st === "differs") ok = tr.classList.contains("differs");
        else if (st === "untested") ok = tr.classList.contains("untested");
        else ok = idx.some(function (i) { return cellHas(cells[i], st); });
      }
      tr.hidden = !ok;
      var d = tr.nextElementSibling;
      if (d && d.classList.contains("detail")) d.hidden = !ok || d.getAttribute("data-open") !== "1";
      if (ok) { shown++; seen[tr.getAttribute("data-area")] = 1; }
    });
    areas.forEach(function (tr) { tr.hidden = !seen[tr.getAttribute("data-area")]; });
    colStyle.textContent = tg === "" ? "" : "#mx [data-t]:not([data-t=\"" + tg + "\"]){display:none}";
    $("#shown").textContent = shown + " of " + rows.length + " requirements";
  }
  [q, fs, fa, fp, ft].forEach(function (el) { el.addEventListener("input", apply); el.addEventListener("change", apply); });
  table.addEventListener("click", function (ev) {
    var b = ev.target.closest("button.x");
    if (!b) return;
    var d = b.closest("tr").nextElementSibling;
    var open = d.getAttribute("data-open") !== "1";
    d.setAttribute("data-open", open ? "1" : "0");
    d.hidden = !open;
    b.textContent = open ? "\u25be" : "\u25b8";
    b.setAttribute("aria-expanded", open ? "true" : "false");
  });
  // #mx:STATUS[:TARGET] preselects filters (the verdict cards link to #mx:failing:N); #q=TEXT searches.
  function fromHash() {
    var m = /[#;]mx:(\w+)(?::(\d+))?(;|$)/.exec(location.hash);
    if (m) { fs.value = m[1]; if (m[2] !== undefined) ft.value = m[2]; }
    var s = /[#;]q=([^;]*)/.exec(location.hash);
    if (s) q.value = decodeURIComponent(s[1]);
    apply();
  }
  // #only=matrix,failures shows just those sections (a link that opens on the matrix).
  function only() {
    var m = /[#;]only=([\w,-]+)(;|$)/.exec(location.hash);
    var keep = m ? m[1].split(",") : null;
    $$("main > section").forEach(function (s) { s.hidden = keep !== null && keep.indexOf(s.id) < 0; });
  }
  window.addEventListener("hashchange", function () {
    fromHash();
    only();
    if (/[#;](mx:|q=)/.test(location.hash)) document.getElementById("matrix").scrollIntoView();
  });
  only();
  fromHash();
  apply();
  document.body.setAttribute("data-init-ms", String(Math.round(performance.now() - t0)));
  document.body.setAttribute("data-ready-ms", String(Math.round(performance.now())));
  document.body.setAttribute("data-selfcheck", "ok: " + rows.length + " rows, " + $$("#mx thead th[data-t]").length + " targets");
})();

// Sort and filter the toolkit table in the browser: no network, no library. Also labels the cells of
// every table marked cg-stack with their column heading, which the narrow-screen layout shows beside
// each value (book/_static/commonground.css) when such a table is stacked into one block per row.
(function () {
  "use strict";
  function label() {
    Array.prototype.forEach.call(document.querySelectorAll("table.cg-stack"), function (t) {
      if (!t.tHead) { return; }
      var heads = Array.prototype.map.call(t.tHead.rows[0].cells, function (h) { return h.textContent.trim(); });
      Array.prototype.forEach.call(t.tBodies[0].rows, function (r) {
        Array.prototype.forEach.call(r.cells, function (c, i) {
          if (!c.hasAttribute("data-label") && heads[i]) { c.setAttribute("data-label", heads[i]); }
        });
      });
    });
  }
  function setup() {
    label();
    var table = document.getElementById("cg-toolkit");
    if (!table) { return; }
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r.cells.length > 1; });
    var family = document.getElementById("cg-family");
    var search = document.getElementById("cg-search");
    var count = document.getElementById("cg-count");

    function key(row, col) {
      var cell = row.cells[col];
      var v = cell.getAttribute("data-sort");
      if (v === null) { v = cell.textContent.trim(); }
      var n = parseFloat(v);
      return (v !== "" && !isNaN(n)) ? n : v.toLowerCase();
    }

    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        rows.sort(function (a, b) {
          var x = key(a, col), y = key(b, col);
          if (x === "" || x === y) { return 0; }
          if (y === "") { return -1; }
          return (x < y ? -1 : 1) * (ascending ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });

    function filter() {
      var f = family ? family.value : "";
      var q = search ? search.value.trim().toLowerCase() : "";
      var shown = 0;
      rows.forEach(function (r) {
        var ok = (!f || r.getAttribute("data-family") === f) && (!q || r.textContent.toLowerCase().indexOf(q) >= 0);
        r.hidden = !ok;
        if (ok) { shown += 1; }
        var link = r.querySelector("a");  // the same evaluation in the forest plot below the table
        var twin = link && document.querySelector('#cg-forest a[href="' + link.getAttribute("href") + '"]');
        if (twin) { twin.closest("li").hidden = !ok; }
      });
      if (count) { count.textContent = shown + " of " + rows.length + " evaluations"; }
    }
    if (family) { family.addEventListener("change", filter); }
    if (search) { search.addEventListener("input", filter); }
    filter();
  }
  // Printing shows the numbers folded away under each figure.
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
  });
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", setup); } else { setup(); }
}());

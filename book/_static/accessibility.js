// Two gaps in the book theme's markup that axe-core reports as WCAG 2.2 A failures, closed in the
// browser on every page (no network, no library):
// - the navigation's expand/collapse toggles are <summary> elements holding only an icon (summary-name,
//   WCAG 4.1.2): each is named after the section it opens;
// - the search buttons are named "Search" while they show "Search the evidence" (label-content-name-
//   mismatch, WCAG 2.5.3): the name is taken from what they show; likewise the colour-mode button, whose
//   icons carry titles ("Light", "Dark") that differ from its name: the icons are decoration.
(function () {
  "use strict";
  function fix() {
    Array.prototype.forEach.call(document.querySelectorAll("summary"), function (s) {
      if (s.textContent.trim() || s.hasAttribute("aria-label")) { return; }
      var item = s.closest("li");
      var link = item && item.querySelector(":scope > a");
      s.setAttribute("aria-label", link ? "Show or hide the pages under " + link.textContent.trim() : "Show or hide");
    });
    Array.prototype.forEach.call(document.querySelectorAll(".search-button__button[aria-label]"), function (b) {
      if (b.textContent.trim()) { b.removeAttribute("aria-label"); }
    });
    Array.prototype.forEach.call(document.querySelectorAll(".theme-switch-button i"), function (icon) {
      icon.removeAttribute("title");
      icon.setAttribute("aria-hidden", "true");
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", fix); } else { fix(); }
}());

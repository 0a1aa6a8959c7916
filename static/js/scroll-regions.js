// Tables wider than their card scroll sideways inside it (.table-scroll in css/model.css). A
// region that scrolls must be reachable from the keyboard, or a keyboard user never sees its
// last columns (axe's rule scrollable-region-focusable), and must look like it scrolls, or
// nobody thinks to. One that fits needs neither: an extra tab stop would only be in the way.

import { html } from "./dom.js";

const CUE_TEXT = "Scroll sideways to see every column →";

/** Mark `region` while its content is wider than it: a focusable region named after its
    table's caption, class is-scrollable (the edge shadows), and a line of text under it. */
function watch(region) {
  const caption = region.querySelector("caption");
  const name = caption ? caption.textContent.trim() : "Table";
  // The cue is for the eye; a screen reader reads the table cell by cell, no scrolling needed.
  const cue = html("p", "scroll-cue", CUE_TEXT);
  cue.setAttribute("aria-hidden", "true");
  cue.hidden = true;
  region.after(cue);

  function update() {
    const scrolls = region.scrollWidth > region.clientWidth + 1; // +1: sub-pixel rounding
    region.classList.toggle("is-scrollable", scrolls);
    cue.hidden = !scrolls;
    if (scrolls) {
      region.tabIndex = 0;
      region.setAttribute("role", "region");
      region.setAttribute("aria-label", `${name} (scrolls sideways)`);
    } else {
      region.removeAttribute("tabindex");
      region.removeAttribute("role");
      region.removeAttribute("aria-label");
    }
  }

  update();
  // Whether it scrolls changes with the page width (a phone turned, a window resized) and
  // with the table's own width (web fonts arriving).
  if ("ResizeObserver" in window) {
    const observer = new ResizeObserver(update);
    observer.observe(region);
    if (region.firstElementChild) observer.observe(region.firstElementChild);
  }
}

/** Watch every .table-scroll under `root`. */
export function initScrollRegions(root = document) {
  root.querySelectorAll(".table-scroll").forEach(watch);
}

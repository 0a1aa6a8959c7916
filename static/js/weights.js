// The model page's first-layer weights: a 28x28 tile per unit on one canvas. The unit of a tile
// is named when the mouse points at it, a finger taps it or the arrow keys reach it (hover
// alone would leave out phones and keyboards), and a marker frames that tile.

import { setState } from "./dom.js";
import { finite } from "./numbers.js";

// Tiles are drawn one canvas pixel per weight and shown at a whole multiple of that
// (pixelated), so no weight is blurred into its neighbour; as many columns as fit the width.
const TILE_GAP = 2;
const HOW_TO_CHOOSE =
  "Tap or point at a tile, or Tab to the grid and use the arrow keys, to see which unit it is.";

/** A colour custom property of model.css, written there as #rrggbb, as [r, g, b]. */
export function cssColor(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(value);
  return match ? match.slice(1).map((hex) => parseInt(hex, 16)) : fallback;
}

/**
 * Start the grid on `canvas` with its `caption` and the `marker` that frames the chosen tile.
 * Returns draw(report), which may be called again (a new colour scheme), and showError(). The
 * grid redraws itself when the width of its figure changes.
 */
export function initWeightsGrid(canvas, caption, marker) {
  // The figure, not the canvas's own box: that box is as wide as the canvas, which is sized
  // from the width available.
  const frame = canvas.closest("figure") || canvas.parentElement;
  let layout = null; // {columns, units, side, scale} once drawn, for the caption
  let lastReport = null;
  let chosen = null; // the unit named in the caption, or null

  function draw(report) {
    lastReport = report;
    const layer = report.first_layer;
    if (!layer || layer.side === 0 || !layer.pixels_b64) {
      setState(canvas, "empty");
      caption.textContent = "The first layer does not take a 28×28 picture, so there is nothing to show.";
      return;
    }
    const { units, side } = layer;
    const bytes = Uint8Array.from(atob(layer.pixels_b64), (c) => c.charCodeAt(0));
    const pitch = side + TILE_GAP;
    const available = frame.clientWidth || 900;
    const zoom = Math.max(1, Math.floor(available / (16 * pitch))); // at least 16 columns
    const columns = Math.max(1, Math.min(units, Math.floor((available / zoom + TILE_GAP) / pitch)));
    const rows = Math.ceil(units / columns);
    canvas.width = columns * pitch - TILE_GAP;
    canvas.height = rows * pitch - TILE_GAP;
    canvas.style.width = `${canvas.width * zoom}px`; // CSSOM: the CSP refuses style="" attributes
    const context = canvas.getContext("2d");
    const image = context.createImageData(canvas.width, canvas.height);
    const zero = cssColor("--weight-zero", [255, 255, 255]);
    const positive = cssColor("--weight-positive", [200, 40, 40]);
    const negative = cssColor("--weight-negative", [40, 90, 200]);
    const gap = cssColor("--weight-gap", [185, 191, 204]);
    // Grid lines behind the tiles; slots past the last unit stay transparent.
    for (let y = 0; y < image.height; y += 1) {
      for (let x = 0; x < image.width; x += 1) {
        if (Math.floor(y / pitch) * columns + Math.floor(x / pitch) >= units) continue;
        const offset = (y * image.width + x) * 4;
        image.data.set([gap[0], gap[1], gap[2], 255], offset);
      }
    }
    for (let unit = 0; unit < units; unit += 1) {
      const left = (unit % columns) * pitch;
      const top = Math.floor(unit / columns) * pitch;
      for (let i = 0; i < side * side; i += 1) {
        const value = (bytes[unit * side * side + i] - 128) / 127; // -1..1
        const towards = value >= 0 ? positive : negative;
        const t = Math.min(1, Math.abs(value));
        const offset = ((top + Math.floor(i / side)) * image.width + left + (i % side)) * 4;
        image.data[offset] = zero[0] + (towards[0] - zero[0]) * t;
        image.data[offset + 1] = zero[1] + (towards[1] - zero[1]) * t;
        image.data[offset + 2] = zero[2] + (towards[2] - zero[2]) * t;
        image.data[offset + 3] = 255;
      }
    }
    context.putImageData(image, 0, 0);
    layout = { columns, units, side, scale: layer.scale };
    canvas.setAttribute(
      "aria-label",
      `The incoming weights of all ${units} first-layer units, each as a ${side} by ${side} picture`,
    );
    if (chosen !== null && chosen < units) {
      choose(chosen); // the same unit, wherever the new columns put its tile
    } else {
      chosen = null;
      marker.hidden = true;
      caption.textContent = `All ${units} units. ${HOW_TO_CHOOSE}`;
    }
    setState(canvas, "ready");
  }

  /** Name `unit` in the caption and frame its tile. */
  function choose(unit) {
    chosen = unit;
    const scale = layout.scale[unit];
    const shown = finite(scale) ? `; full colour at |weight| ${scale.toPrecision(2)}` : "";
    caption.textContent = `Unit ${unit} of ${layout.units}${shown}.`;
    // In percentages of the canvas, so the marker stays on its tile at any displayed size.
    const pitch = layout.side + TILE_GAP;
    const place = {
      left: (unit % layout.columns) * pitch,
      top: Math.floor(unit / layout.columns) * pitch,
    };
    marker.style.left = `${(place.left / canvas.width) * 100}%`; // CSSOM, allowed by the CSP
    marker.style.top = `${(place.top / canvas.height) * 100}%`;
    marker.style.width = `${(layout.side / canvas.width) * 100}%`;
    marker.style.height = `${(layout.side / canvas.height) * 100}%`;
    marker.hidden = false;
  }

  /** The unit whose tile is under a pointer event, or null (a gap, past the last unit). */
  function unitAt(event) {
    const rect = canvas.getBoundingClientRect();
    const px = ((event.clientX - rect.left) / rect.width) * canvas.width;
    const py = ((event.clientY - rect.top) / rect.height) * canvas.height;
    const pitch = layout.side + TILE_GAP;
    const unit = Math.floor(py / pitch) * layout.columns + Math.floor(px / pitch);
    if (px < 0 || py < 0 || px % pitch >= layout.side || unit >= layout.units) return null;
    return unit;
  }

  function showError() {
    setState(canvas, "error");
    caption.textContent = "Couldn't load the weights.";
  }

  // A mouse names the tile it moves over; a finger or a pen, the tile it comes down on (a
  // touch screen sends no moves without contact).
  function onPointer(event) {
    if (layout === null) return;
    const unit = unitAt(event);
    if (unit !== null && unit !== chosen) choose(unit);
  }
  canvas.addEventListener("pointermove", onPointer);
  canvas.addEventListener("pointerdown", onPointer);

  // From the keyboard: focus names a unit at once; arrows step a tile, up and down a row,
  // Home and End jump to the first and the last unit.
  canvas.addEventListener("focus", () => {
    if (layout !== null && chosen === null) choose(0);
  });
  canvas.addEventListener("keydown", (event) => {
    if (layout === null || event.altKey || event.ctrlKey || event.metaKey) return;
    const from = chosen ?? 0;
    const step = {
      ArrowLeft: -1,
      ArrowRight: 1,
      ArrowUp: -layout.columns,
      ArrowDown: layout.columns,
      Home: -from,
      End: layout.units - 1 - from,
    }[event.key];
    if (step === undefined) return;
    event.preventDefault(); // the arrows would scroll the page instead
    const unit = from + step;
    if (unit < 0 || unit >= layout.units) return; // at an edge, stay put
    choose(unit);
    // On a phone the grid is many screens tall: keep the chosen tile in sight.
    marker.scrollIntoView({ block: "nearest" });
  });

  // Re-fit the columns when the page width changes (rotating a phone, resizing a window).
  let lastWidth = 0;
  if ("ResizeObserver" in window) {
    new ResizeObserver((entries) => {
      const width = Math.round(entries[entries.length - 1].contentRect.width);
      if (lastReport !== null && width !== lastWidth) draw(lastReport);
      lastWidth = width;
    }).observe(frame);
  }

  return { draw, showError };
}

// The model page's first-layer weights: a 28x28 tile per unit on one canvas, named on hover.

import { setState } from "./dom.js";
import { finite } from "./numbers.js";

// Tiles are drawn one canvas pixel per weight and shown at a whole multiple of that
// (pixelated), so no weight is blurred into its neighbour; as many columns as fit the width.
const TILE_GAP = 2;

/** A colour custom property of model.css, written there as #rrggbb, as [r, g, b]. */
export function cssColor(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(value);
  return match ? match.slice(1).map((hex) => parseInt(hex, 16)) : fallback;
}

/**
 * Start the grid on `canvas` with its `caption`. Returns draw(report), which may be called
 * again (a new colour scheme), and showError(). The grid redraws itself when its width changes.
 */
export function initWeightsGrid(canvas, caption) {
  let layout = null; // {columns, units, side, scale} once drawn, for the hover caption
  let lastReport = null;

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
    const available = canvas.parentElement.clientWidth || 900;
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
    caption.textContent = `All ${units} units. Point at a tile to see which unit it is.`;
    setState(canvas, "ready");
  }

  function showError() {
    setState(canvas, "error");
    caption.textContent = "Couldn't load the weights.";
  }

  canvas.addEventListener("pointermove", (event) => {
    if (layout === null) return;
    const rect = canvas.getBoundingClientRect();
    const px = ((event.clientX - rect.left) / rect.width) * canvas.width;
    const py = ((event.clientY - rect.top) / rect.height) * canvas.height;
    const pitch = layout.side + TILE_GAP;
    const unit = Math.floor(py / pitch) * layout.columns + Math.floor(px / pitch);
    if (px % pitch >= layout.side || unit < 0 || unit >= layout.units) return;
    const scale = layout.scale[unit];
    const shown = finite(scale) ? `; full colour at |weight| ${scale.toPrecision(2)}` : "";
    caption.textContent = `Unit ${unit} of ${layout.units}${shown}.`;
  });

  // Re-fit the columns when the page width changes (rotating a phone, resizing a window).
  let lastWidth = 0;
  if ("ResizeObserver" in window) {
    new ResizeObserver((entries) => {
      const width = Math.round(entries[entries.length - 1].contentRect.width);
      if (lastReport !== null && width !== lastWidth) draw(lastReport);
      lastWidth = width;
    }).observe(canvas.parentElement);
  }

  return { draw, showError };
}

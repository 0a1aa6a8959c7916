// The drawing pad: pointer strokes, undo and clear, brush width, and the PNG export.

import { onColorSchemeChange } from "./dom.js";

const EXPORT_SIZE = 280; // the server always gets a 280x280 PNG, whatever the screen
const BRUSH_REFERENCE_SIZE = 280; // brush widths are pixels on a 280px-wide pad
const MIN_POINT_GAP = 0.002; // drop pointer samples closer than this (fraction of the pad)
const EXPORT_INK = "#000"; // dark ink on a transparent background, what the server expects

// The drawing is kept as data so undo and resizing can re-render it exactly. A stroke is
// {width, points}; width is in BRUSH_REFERENCE_SIZE pixels, points are [x, y] fractions of the
// pad (0..1), so the same strokes render at any canvas resolution.

/** Trace one stroke: quadratic curves through the midpoints give smooth lines. */
export function traceStroke(context, stroke, size) {
  const points = stroke.points.map(([x, y]) => [x * size, y * size]);
  const width = (stroke.width * size) / BRUSH_REFERENCE_SIZE;
  context.lineWidth = width;
  context.beginPath();
  if (points.length === 1) {
    // A tap leaves a dot.
    context.arc(points[0][0], points[0][1], width / 2, 0, 2 * Math.PI);
    context.fill();
    return;
  }
  context.moveTo(points[0][0], points[0][1]);
  for (let i = 1; i < points.length - 1; i += 1) {
    const midX = (points[i][0] + points[i + 1][0]) / 2;
    const midY = (points[i][1] + points[i + 1][1]) / 2;
    context.quadraticCurveTo(points[i][0], points[i][1], midX, midY);
  }
  const last = points[points.length - 1];
  context.lineTo(last[0], last[1]);
  context.stroke();
}

/** Clear a square canvas of `size` pixels and draw every stroke on it in `ink`. */
export function renderStrokes(context, strokes, size, ink) {
  context.clearRect(0, 0, size, size);
  context.lineCap = "round";
  context.lineJoin = "round";
  context.strokeStyle = ink;
  context.fillStyle = ink;
  for (const stroke of strokes) traceStroke(context, stroke, size);
}

/** Does a key pressed in `target` type text? Then it is not a shortcut. */
export function isTextEntry(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") {
    return true;
  }
  // Sliders, checkboxes and radio buttons take no text, so the shortcuts work there too.
  return target.tagName === "INPUT" && !["range", "checkbox", "radio"].includes(target.type);
}

/**
 * Start the pad (#pad, #brush, #undo, #clear). `onChange({immediate})` is called after every
 * change of the drawing: immediate when a stroke ends or one is undone or cleared, not while
 * a stroke is being drawn. Returns {hasInk, exportImage}.
 */
export function initPad({ onChange }) {
  const pad = document.getElementById("pad");
  const padFrame = pad.closest(".pad-frame");
  const brush = document.getElementById("brush");
  const brushValue = document.getElementById("brush-value");
  const undoButton = document.getElementById("undo");
  const clearButton = document.getElementById("clear");
  const padContext = pad.getContext("2d");
  const exportCanvas = document.createElement("canvas");
  exportCanvas.width = EXPORT_SIZE;
  exportCanvas.height = EXPORT_SIZE;
  const exportContext = exportCanvas.getContext("2d");

  /** @type {{width: number, points: number[][]}[]} */
  const strokes = [];
  let activeStroke = null;
  let activePointerId = null;
  let padInk = getComputedStyle(pad).color; // follows the colour scheme, see draw.css
  let renderQueued = false;

  const hasInk = () => strokes.length > 0;

  function changed(immediate) {
    undoButton.disabled = !hasInk();
    clearButton.disabled = !hasInk();
    onChange({ immediate });
  }

  // ---- rendering -------------------------------------------------------------------------

  function renderPad() {
    renderQueued = false;
    renderStrokes(padContext, strokes, pad.width, padInk);
    padFrame.classList.toggle("has-ink", hasInk());
  }

  function queueRender() {
    if (!renderQueued) {
      renderQueued = true;
      requestAnimationFrame(renderPad);
    }
  }

  /** The drawing as the server wants it: a fixed-size PNG data URL, dark ink, no background. */
  function exportImage() {
    renderStrokes(exportContext, strokes, EXPORT_SIZE, EXPORT_INK);
    return exportCanvas.toDataURL("image/png");
  }

  // Match the canvas resolution to its on-screen size in device pixels, so lines stay sharp.
  function resizePad(deviceWidth) {
    const size = Math.max(1, Math.round(deviceWidth));
    if (pad.width !== size || pad.height !== size) {
      pad.width = size;
      pad.height = size;
      renderPad();
    }
  }

  if ("ResizeObserver" in window) {
    new ResizeObserver((entries) => {
      const entry = entries[entries.length - 1];
      const exact = entry.devicePixelContentBoxSize && entry.devicePixelContentBoxSize[0];
      resizePad(exact ? exact.inlineSize : entry.contentRect.width * window.devicePixelRatio);
    }).observe(pad);
  }
  resizePad(pad.getBoundingClientRect().width * window.devicePixelRatio);

  onColorSchemeChange(() => {
    padInk = getComputedStyle(pad).color;
    renderPad();
  });

  // ---- strokes: Pointer Events cover mouse, touch and pen alike; one pointer draws at a time

  /** Pointer position as a fraction of the pad; right when the page is scrolled or zoomed. */
  function padPoint(event) {
    const rect = pad.getBoundingClientRect();
    return [(event.clientX - rect.left) / rect.width, (event.clientY - rect.top) / rect.height];
  }

  function addPoint(point) {
    const points = activeStroke.points;
    const last = points[points.length - 1];
    if (Math.hypot(point[0] - last[0], point[1] - last[1]) >= MIN_POINT_GAP) points.push(point);
  }

  pad.addEventListener("pointerdown", (event) => {
    if (activePointerId !== null) return;
    if (event.pointerType === "mouse" && event.button !== 0) return;
    event.preventDefault();
    try {
      pad.setPointerCapture(event.pointerId); // keep the stroke when the pointer leaves the pad
    } catch {
      // The pointer may already be gone; the stroke still works while it is over the pad.
    }
    activePointerId = event.pointerId;
    activeStroke = { width: Number(brush.value), points: [padPoint(event)] };
    strokes.push(activeStroke);
    queueRender();
    changed(false);
  });

  pad.addEventListener("pointermove", (event) => {
    if (event.pointerId !== activePointerId) return;
    // Coalesced events carry the samples the browser merged between frames: smoother curves.
    const samples = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const sample of samples.length > 0 ? samples : [event]) addPoint(padPoint(sample));
    queueRender();
    changed(false);
  });

  function endStroke(event) {
    if (event.pointerId !== activePointerId) return;
    if (event.type === "pointerup") addPoint(padPoint(event));
    activePointerId = null;
    activeStroke = null;
    if (pad.hasPointerCapture(event.pointerId)) pad.releasePointerCapture(event.pointerId);
    queueRender();
    changed(true);
  }

  pad.addEventListener("pointerup", endStroke);
  pad.addEventListener("pointercancel", endStroke);
  pad.addEventListener("lostpointercapture", endStroke);
  pad.addEventListener("contextmenu", (event) => event.preventDefault()); // long-press on touch

  // ---- undo, clear, brush and the keyboard -------------------------------------------------

  function stopDrawing() {
    if (activePointerId !== null && pad.hasPointerCapture(activePointerId)) {
      const pointerId = activePointerId;
      activePointerId = null;
      pad.releasePointerCapture(pointerId);
    }
    activePointerId = null;
    activeStroke = null;
  }

  function undo() {
    if (!hasInk()) return;
    stopDrawing();
    strokes.pop();
    renderPad();
    changed(true);
  }

  function clear() {
    if (!hasInk()) return;
    stopDrawing();
    strokes.length = 0;
    renderPad();
    changed(true);
  }

  undoButton.addEventListener("click", undo);
  clearButton.addEventListener("click", clear);

  brush.addEventListener("input", () => {
    brushValue.textContent = brush.value;
  });

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.isComposing || event.altKey || isTextEntry(event.target)) {
      return;
    }
    const withModifier = event.ctrlKey || event.metaKey;
    if (withModifier && !event.shiftKey && event.key.toLowerCase() === "z") {
      event.preventDefault();
      undo();
    } else if (!withModifier && ["Escape", "Delete", "Backspace"].includes(event.key)) {
      event.preventDefault();
      clear();
    }
  });

  return { hasInk, exportImage };
}

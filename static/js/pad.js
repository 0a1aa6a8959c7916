// The drawing pad: pointer strokes, undo and clear, brush width, its shape (square for one digit,
// wide for a number), and the export: a PNG and the strokes in its pixels.

import { onColorSchemeChange } from "./dom.js";

// The server always gets a PNG EXPORT_SIZE px tall, whatever the screen: 280x280 for a digit,
// 840x280 for a number (aspect 3).
const EXPORT_SIZE = 280;
const BRUSH_REFERENCE_SIZE = 280; // brush widths are pixels on a 280px-tall pad
const MIN_POINT_GAP = 0.002; // drop pointer samples closer than this (fraction of the pad height)
const EXPORT_INK = "#000"; // dark ink on a transparent background, what the server expects
const FIT_TOLERANCE = 0.02; // a stroke may run this far past the right edge and still "fit"

// The drawing is kept as data so undo and resizing can re-render it exactly. A stroke is
// {width, points}; width is in BRUSH_REFERENCE_SIZE pixels, points are [x, y] in units of the
// pad's height (y 0..1, x 0..aspect), so the same strokes render at any canvas resolution, and a
// digit drawn on the square pad lands at the left of the wide pad at the same scale.

/** Trace one stroke: quadratic curves through the midpoints give smooth lines. `size` is the
    canvas height in pixels. */
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

/** Clear a canvas and draw every stroke on it in `ink`, scaled to its height. */
export function renderStrokes(context, strokes, ink) {
  const { width, height } = context.canvas;
  context.clearRect(0, 0, width, height);
  context.lineCap = "round";
  context.lineJoin = "round";
  context.strokeStyle = ink;
  context.fillStyle = ink;
  for (const stroke of strokes) traceStroke(context, stroke, height);
}

/** Strokes as the server takes them: [[[x, y], ...], ...] in pixels of an export `height` px
    tall and `width` px wide, clamped to it (a stroke may leave the pad while the pointer is
    captured), rounded to 0.1 px, repeated points dropped. */
export function strokesInPixels(strokes, width, height) {
  const clamp = (value, high) => Math.round(Math.min(high, Math.max(0, value)) * 10) / 10;
  return strokes.map((stroke) => {
    const points = [];
    for (const [x, y] of stroke.points) {
      const point = [clamp(x * height, width), clamp(y * height, height)];
      const last = points[points.length - 1];
      if (!last || last[0] !== point[0] || last[1] !== point[1]) points.push(point);
    }
    return points;
  });
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
 * change of the drawing by the person: immediate when a stroke ends or one is undone or
 * cleared, not while a stroke is being drawn. Returns {hasInk, exportImage, exportStrokes,
 * exportSize, clear, setAspect}; setAspect (width / height: 1 square, 3 wide) reports no
 * change, its caller asks again itself.
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
  let aspect = 1; // width / height of the pad, and of the export

  /** @type {{width: number, points: number[][]}[]} */
  const strokes = [];
  let activeStroke = null;
  let activePointerId = null;
  let padInk = getComputedStyle(pad).color; // follows the colour scheme, see draw.css
  let renderQueued = false;

  const hasInk = () => strokes.length > 0;

  function updateButtons() {
    undoButton.disabled = !hasInk();
    clearButton.disabled = !hasInk();
  }

  function changed(immediate) {
    updateButtons();
    onChange({ immediate });
  }

  // ---- rendering -------------------------------------------------------------------------

  function renderPad() {
    renderQueued = false;
    renderStrokes(padContext, strokes, padInk);
    padFrame.classList.toggle("has-ink", hasInk());
  }

  function queueRender() {
    if (!renderQueued) {
      renderQueued = true;
      requestAnimationFrame(renderPad);
    }
  }

  /** The drawing as the server wants it: a PNG data URL 280 px tall, dark ink, no background. */
  function exportImage() {
    renderStrokes(exportContext, strokes, EXPORT_INK);
    return exportCanvas.toDataURL("image/png");
  }

  /** The strokes in the exported image's pixels, in drawing order. */
  function exportStrokes() {
    return strokesInPixels(strokes, exportCanvas.width, exportCanvas.height);
  }

  /** {width, height} of the exported image, in pixels. */
  const exportSize = () => ({ width: exportCanvas.width, height: exportCanvas.height });

  // Match the canvas resolution to its on-screen size in device pixels, so lines stay sharp.
  // The height follows the aspect, so strokes (in units of the height) fill the width exactly.
  function resizePad(deviceWidth) {
    const width = Math.max(1, Math.round(deviceWidth));
    const height = Math.max(1, Math.round(width / aspect));
    if (pad.width !== width || pad.height !== height) {
      pad.width = width;
      pad.height = height;
      renderPad();
    }
  }

  const measure = () => resizePad(pad.getBoundingClientRect().width * window.devicePixelRatio);
  if ("ResizeObserver" in window) {
    new ResizeObserver((entries) => {
      const entry = entries[entries.length - 1];
      const exact = entry.devicePixelContentBoxSize && entry.devicePixelContentBoxSize[0];
      resizePad(exact ? exact.inlineSize : entry.contentRect.width * window.devicePixelRatio);
    }).observe(pad);
  }
  measure();

  /** Square (1) or wide (3) pad; the stylesheet has already given the canvas that shape. The
      drawing stays when it fits (square to wide it always does: at the left, same scale);
      otherwise the pad starts blank. */
  function setAspect(newAspect) {
    if (newAspect === aspect) return;
    stopDrawing();
    const inside = ([x]) => x <= newAspect + FIT_TOLERANCE;
    const fits = strokes.every((stroke) => stroke.points.every(inside));
    if (!fits) strokes.length = 0;
    aspect = newAspect;
    exportCanvas.width = Math.round(EXPORT_SIZE * aspect);
    measure();
    renderPad();
    updateButtons();
  }

  onColorSchemeChange(() => {
    padInk = getComputedStyle(pad).color;
    renderPad();
  });

  // ---- strokes: Pointer Events cover mouse, touch and pen alike; one pointer draws at a time

  /** Pointer position in pad heights; right when the page is scrolled or zoomed. */
  function padPoint(event) {
    const rect = pad.getBoundingClientRect();
    return [(event.clientX - rect.left) / rect.height, (event.clientY - rect.top) / rect.height];
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

  return { hasInk, exportImage, exportStrokes, exportSize, clear, setAspect };
}

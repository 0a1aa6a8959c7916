// The drawing page: captures strokes on the pad, asks POST /api/predict what the network
// thinks while you draw, and shows the answer. Plain browser JavaScript, no dependencies,
// loaded with `defer` from templates/index.html. Nothing inline: the page runs under a strict
// Content-Security-Policy, so styles are only ever set through the CSSOM (element.style.x).
"use strict";

(() => {
  const PREDICT_URL = "/api/predict";
  const PREDICT_DELAY_MS = 120; // live updates while drawing, at most ~8 requests a second
  const EXPORT_SIZE = 280; // the server always gets a 280x280 PNG, whatever the screen
  const BRUSH_REFERENCE_SIZE = 280; // brush widths are pixels on a 280px-wide pad
  const MIN_POINT_GAP = 0.002; // drop pointer samples closer than this (fraction of the pad)
  const EXPORT_INK = "#000"; // dark ink on a transparent background, what the server expects

  const pad = document.getElementById("pad");
  const padFrame = pad.closest(".pad-frame");
  const brush = document.getElementById("brush");
  const brushValue = document.getElementById("brush-value");
  const undoButton = document.getElementById("undo");
  const clearButton = document.getElementById("clear");
  const verdictRegion = document.getElementById("verdict");
  const prediction = document.getElementById("prediction");
  const confidence = document.getElementById("confidence");
  const statusLine = document.getElementById("status");
  const barRows = Array.from({ length: 10 }, (_, digit) => document.getElementById(`prob-${digit}`));
  const preview = document.getElementById("preview");

  const padContext = pad.getContext("2d");
  const previewContext = preview.getContext("2d");
  const exportCanvas = document.createElement("canvas");
  exportCanvas.width = EXPORT_SIZE;
  exportCanvas.height = EXPORT_SIZE;
  const exportContext = exportCanvas.getContext("2d");

  // ---------------------------------------------------------------------------------------
  // The drawing, kept as data so undo and resizing can re-render it exactly.
  // A stroke is {width, points}; width is in BRUSH_REFERENCE_SIZE pixels, points are [x, y]
  // fractions of the pad (0..1), so the same strokes render at any canvas resolution.

  /** @type {{width: number, points: number[][]}[]} */
  const strokes = [];
  let activeStroke = null;
  let activePointerId = null;

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

  /** Trace one stroke: quadratic curves through the midpoints give smooth lines. */
  function traceStroke(context, stroke, size) {
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

  function renderStrokes(context, size, ink) {
    context.clearRect(0, 0, size, size);
    context.lineCap = "round";
    context.lineJoin = "round";
    context.strokeStyle = ink;
    context.fillStyle = ink;
    for (const stroke of strokes) traceStroke(context, stroke, size);
  }

  let padInk = getComputedStyle(pad).color; // follows the colour scheme, see style.css
  let renderQueued = false;

  function renderPad() {
    renderQueued = false;
    renderStrokes(padContext, pad.width, padInk);
    padFrame.classList.toggle("has-ink", strokes.length > 0);
  }

  function queueRender() {
    if (!renderQueued) {
      renderQueued = true;
      requestAnimationFrame(renderPad);
    }
  }

  /** The drawing as the server wants it: a fixed-size PNG data URL, dark ink, no background. */
  function exportImage() {
    renderStrokes(exportContext, EXPORT_SIZE, EXPORT_INK);
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

  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    padInk = getComputedStyle(pad).color;
    renderPad();
  });

  // ---------------------------------------------------------------------------------------
  // Pointer Events cover mouse, touch and pen alike. One pointer draws at a time.

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
    drawingChanged({ immediate: false });
  });

  pad.addEventListener("pointermove", (event) => {
    if (event.pointerId !== activePointerId) return;
    // Coalesced events carry the samples the browser merged between frames: smoother curves.
    const samples = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const sample of samples.length > 0 ? samples : [event]) addPoint(padPoint(sample));
    queueRender();
    drawingChanged({ immediate: false });
  });

  function endStroke(event) {
    if (event.pointerId !== activePointerId) return;
    if (event.type === "pointerup") addPoint(padPoint(event));
    activePointerId = null;
    activeStroke = null;
    if (pad.hasPointerCapture(event.pointerId)) pad.releasePointerCapture(event.pointerId);
    queueRender();
    drawingChanged({ immediate: true });
  }

  pad.addEventListener("pointerup", endStroke);
  pad.addEventListener("pointercancel", endStroke);
  pad.addEventListener("lostpointercapture", endStroke);
  pad.addEventListener("contextmenu", (event) => event.preventDefault()); // long-press on touch

  // ---------------------------------------------------------------------------------------
  // Undo, clear, brush and the keyboard.

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
    if (strokes.length === 0) return;
    stopDrawing();
    strokes.pop();
    renderPad();
    drawingChanged({ immediate: true });
  }

  function clear() {
    if (strokes.length === 0) return;
    stopDrawing();
    strokes.length = 0;
    renderPad();
    drawingChanged({ immediate: true });
  }

  undoButton.addEventListener("click", undo);
  clearButton.addEventListener("click", clear);

  brush.addEventListener("input", () => {
    brushValue.textContent = brush.value;
  });

  function isTextEntry(target) {
    if (!(target instanceof HTMLElement)) return false;
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") {
      return true;
    }
    return target.tagName === "INPUT" && target.type !== "range";
  }

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

  // ---------------------------------------------------------------------------------------
  // Asking the server. At most one request is in flight; when it returns and the drawing has
  // changed meanwhile, the newest drawing is sent at once. `version` counts changes so a
  // response can tell whether it still describes what is on the pad; clearing aborts.

  let version = 0;
  let inFlight = null; // {controller: AbortController, version: number}
  let timer = null;

  function drawingChanged({ immediate }) {
    version += 1;
    undoButton.disabled = strokes.length === 0;
    clearButton.disabled = strokes.length === 0;
    if (strokes.length === 0) {
      // Nothing to ask about: an empty pad is never sent (the server would answer "no ink").
      cancelPrediction();
      showEmpty();
      return;
    }
    setState("pending");
    if (immediate) {
      clearTimeout(timer);
      timer = null;
      requestPrediction();
    } else if (timer === null) {
      timer = setTimeout(() => {
        timer = null;
        requestPrediction();
      }, PREDICT_DELAY_MS);
    }
  }

  function cancelPrediction() {
    clearTimeout(timer);
    timer = null;
    if (inFlight !== null) {
      inFlight.controller.abort();
      inFlight = null;
    }
  }

  async function requestPrediction() {
    if (inFlight !== null) return; // sent again when the current request returns
    const request = { controller: new AbortController(), version };
    inFlight = request;
    try {
      const response = await fetch(PREDICT_URL, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ image: exportImage() }),
        signal: request.controller.signal,
      });
      const body = await response.json().catch(() => ({}));
      if (inFlight !== request) return; // cleared while waiting
      const current = request.version === version;
      if (response.ok && isPrediction(body)) {
        showPrediction(body, current);
      } else {
        showError(response.status, body && body.detail, current);
      }
    } catch {
      if (inFlight !== request) return; // aborted by a clear, or cleared while failing
      showError(0, null, request.version === version);
    } finally {
      if (inFlight === request) {
        inFlight = null;
        if (request.version !== version && strokes.length > 0) requestPrediction();
      }
    }
  }

  function isPrediction(body) {
    return (
      body !== null &&
      typeof body === "object" &&
      Number.isInteger(body.digit) &&
      Array.isArray(body.probabilities) &&
      body.probabilities.length === 10 &&
      Array.isArray(body.input) &&
      body.input.length === 28
    );
  }

  // ---------------------------------------------------------------------------------------
  // Showing the answer.

  // Rounded down, so 99.7% reads "99%" and only a certain answer reads "100%". The epsilon
  // keeps 0.57 * 100 = 56.99999999999999 from becoming 56.
  const floorTo = (x, step) => Math.floor(x / step + 1e-9) * step;
  const percent = (p) => `${floorTo(p * 100, 1)}%`;

  /** empty | pending | ready | error. While pending (drawing, or a request on its way) the
      live region is marked busy, so screen readers announce the settled answer only. */
  function setState(state) {
    prediction.dataset.state = state;
    verdictRegion.setAttribute("aria-busy", String(state === "pending"));
  }

  function verdict(digit, p) {
    if (p >= 0.9) return `That's a ${digit}.`;
    if (p >= 0.6) return `Probably a ${digit}.`;
    return `Not sure. Maybe a ${digit}?`;
  }

  function showPrediction(body, current) {
    prediction.textContent = String(body.digit);
    setState(current ? "ready" : "pending");
    confidence.textContent = `${floorTo(body.confidence * 100, 0.1).toFixed(1)}% sure`;
    statusLine.textContent = verdict(body.digit, body.confidence);
    statusLine.classList.remove("is-error");
    showBars(body.probabilities, body.digit);
    showPreview(body.input);
  }

  function showBars(probabilities, topDigit) {
    barRows.forEach((row, digit) => {
      const p = probabilities === null ? 0 : Math.min(1, Math.max(0, Number(probabilities[digit])));
      row.dataset.value = probabilities === null ? "0" : p.toFixed(4);
      row.classList.toggle("is-top", digit === topDigit);
      row.querySelector(".bar-fill").style.transform = `scaleX(${p})`;
      row.querySelector(".bar-value").textContent = percent(p);
    });
  }

  /** Paint the 28x28 network input (ink high) one canvas pixel per input pixel, light on dark. */
  function showPreview(input) {
    const image = previewContext.createImageData(28, 28);
    input.forEach((row, y) => {
      row.forEach((value, x) => {
        const offset = (y * 28 + x) * 4;
        image.data[offset] = value;
        image.data[offset + 1] = value;
        image.data[offset + 2] = value;
        image.data[offset + 3] = 255;
      });
    });
    previewContext.putImageData(image, 0, 0);
  }

  function showEmpty() {
    prediction.textContent = "";
    setState("empty");
    confidence.textContent = "";
    statusLine.textContent = "Nothing drawn yet.";
    statusLine.classList.remove("is-error");
    showBars(null, -1);
    previewContext.clearRect(0, 0, preview.width, preview.height);
  }

  function showError(status, detail, current) {
    prediction.textContent = "";
    setState(current ? "error" : "pending");
    confidence.textContent = "";
    statusLine.classList.add("is-error");
    if (status === 0) {
      statusLine.textContent = "Can't reach the server. Check your connection and try again.";
    } else if (status === 422 && detail === "no ink") {
      statusLine.textContent = "I can't see any ink yet. Try drawing a bit bigger.";
    } else {
      const reason = typeof detail === "string" ? detail : `error ${status}`;
      statusLine.textContent = `Couldn't read that drawing (${reason}).`;
    }
    showBars(null, -1);
    previewContext.clearRect(0, 0, preview.width, preview.height);
  }

  showEmpty();
})();

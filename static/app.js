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
    // Sliders, checkboxes and radio buttons take no text, so the shortcuts work there too.
    return target.tagName === "INPUT" && !["range", "checkbox", "radio"].includes(target.type);
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
    insideChanged();
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
    predictionShown(body, current);
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
    paintGrey(preview, input);
  }

  function showEmpty() {
    prediction.textContent = "";
    setState("empty");
    confidence.textContent = "";
    statusLine.textContent = "Nothing drawn yet.";
    statusLine.classList.remove("is-error");
    showBars(null, -1);
    previewContext.clearRect(0, 0, preview.width, preview.height);
    hideSaliency();
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
    hideSaliency();
  }

  // ---------------------------------------------------------------------------------------
  // Looking inside: the saliency heatmap over the preview, the hidden layers' activations,
  // and "make it a ...". Both ask the server about the 28x28 `input` of the last prediction
  // that matched the pad (`settled`), never while the live prediction is still catching up,
  // so they never slow it down. Answers are dropped when the drawing changed meanwhile.

  const EXPLAIN_URL = "/api/explain";
  const ATTACK_URL = "/api/adversarial";
  const UNITS_PER_ROW = 256; // activation strips wrap after this many units
  const STRIP_ROW_HEIGHT = 8; // canvas pixels per strip row (shown scaled, pixelated)
  const HEAT_POSITIVE = [239, 68, 68]; // red: more ink here raises the score
  const HEAT_NEGATIVE = [59, 130, 246]; // blue: lowers it

  const saliencyToggle = document.getElementById("saliency-toggle");
  const saliencyMode = document.getElementById("saliency-mode");
  const saliencyCanvas = document.getElementById("saliency");
  const saliencyStatus = document.getElementById("saliency-status");
  const activationsBox = document.getElementById("activations");
  const attackForm = document.getElementById("attack-form");
  const attackButton = document.getElementById("attack");
  const targetSelect = document.getElementById("target");
  const epsilonInput = document.getElementById("epsilon");
  const epsilonValue = document.getElementById("epsilon-value");
  const attackStatus = document.getElementById("attack-status");
  const attackResult = document.getElementById("attack-result");
  const originalPrediction = document.getElementById("original-prediction");
  const attackLinf = document.getElementById("attack-linf");
  const perturbedPrediction = document.getElementById("perturbed-prediction");
  const perturbedConfidence = document.getElementById("perturbed-confidence");
  const attackCanvases = {
    original: document.getElementById("attack-original"),
    change: document.getElementById("attack-change"),
    perturbed: document.getElementById("perturbed"),
  };

  let settled = null; // {version, input, digit}: the prediction that describes the pad
  let explanation = null; // {version, body}: the latest /api/explain answer for `settled`
  let explainRequest = null; // {controller, version}
  let attackRequest = null; // {controller, version}

  /** Called on every change of the drawing: whatever was shown no longer describes it. */
  function insideChanged() {
    settled = null;
    abortRequest(explainRequest);
    explainRequest = null;
    abortRequest(attackRequest);
    attackRequest = null;
    hideSaliency();
    activationsBox.classList.add("is-stale");
    resetAttack(strokes.length === 0 ? "Draw a digit first." : "");
  }

  function abortRequest(request) {
    if (request !== null) request.controller.abort();
  }

  /** Called with every prediction shown; `current` when it describes what is on the pad. */
  function predictionShown(body, current) {
    hideSaliency(); // the preview just changed under it
    if (!current) return;
    settled = { version, input: body.input, digit: body.digit };
    attackButton.disabled = attackRequest !== null;
    if (attackStatus.textContent === "") attackStatus.textContent = "Pick a digit and press “Make it so”.";
    if (saliencyToggle.checked) requestExplanation();
  }

  function postJson(url, payload, signal) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload),
      signal,
    });
  }

  const failure = (status, detail) =>
    status === 0
      ? "can't reach the server"
      : typeof detail === "string"
        ? detail
        : `error ${status}`;

  // ---- saliency and activations ---------------------------------------------------------

  async function requestExplanation() {
    if (settled === null) return;
    if (explanation !== null && explanation.version === settled.version) {
      showExplanation();
      return;
    }
    abortRequest(explainRequest);
    const request = { controller: new AbortController(), version: settled.version };
    explainRequest = request;
    saliencyStatus.textContent = "";
    try {
      const response = await postJson(EXPLAIN_URL, { pixels: settled.input }, request.controller.signal);
      const body = await response.json().catch(() => ({}));
      if (explainRequest !== request) return; // superseded, cancelled or switched off
      explainRequest = null;
      if (request.version !== version) return;
      if (response.ok && isExplanation(body)) {
        explanation = { version: request.version, body };
        showExplanation();
      } else {
        saliencyStatus.textContent = `Couldn't look inside (${failure(response.status, body && body.detail)}).`;
      }
    } catch {
      if (explainRequest !== request) return;
      explainRequest = null;
      saliencyStatus.textContent = `Couldn't look inside (${failure(0)}).`;
    }
  }

  function isExplanation(body) {
    return (
      body !== null &&
      typeof body === "object" &&
      Array.isArray(body.saliency) &&
      body.saliency.length === 28 &&
      Array.isArray(body.grad_x_input) &&
      body.grad_x_input.length === 28 &&
      Array.isArray(body.activations)
    );
  }

  function selectedMode() {
    const checked = saliencyMode.querySelector("input:checked");
    return checked ? checked.value : "saliency";
  }

  function showExplanation() {
    if (!saliencyToggle.checked || explanation === null || settled === null) return;
    if (explanation.version !== settled.version) return;
    drawHeatmap(explanation.body[selectedMode()]);
    saliencyCanvas.hidden = false;
    saliencyCanvas.dataset.state = "ready";
    saliencyCanvas.dataset.digit = String(explanation.body.digit);
    drawActivations(explanation.body.activations);
  }

  function hideSaliency() {
    saliencyCanvas.hidden = true;
    saliencyCanvas.dataset.state = saliencyToggle.checked ? "pending" : "off";
  }

  /** Signed map -> red/blue over the preview; opacity grows with |value| / the map's peak. */
  function drawHeatmap(map) {
    const context = saliencyCanvas.getContext("2d");
    const image = context.createImageData(28, 28);
    let peak = 0;
    for (const row of map) for (const value of row) peak = Math.max(peak, Math.abs(value));
    map.forEach((row, y) => {
      row.forEach((value, x) => {
        const offset = (y * 28 + x) * 4;
        const colour = value >= 0 ? HEAT_POSITIVE : HEAT_NEGATIVE;
        image.data[offset] = colour[0];
        image.data[offset + 1] = colour[1];
        image.data[offset + 2] = colour[2];
        // A gentle power curve, so moderate values stay visible next to the peak.
        image.data[offset + 3] = peak > 0 ? Math.round(235 * (Math.abs(value) / peak) ** 0.7) : 0;
      });
    });
    context.putImageData(image, 0, 0);
  }

  /** One strip per hidden layer: a cell per unit, brighter the more active it is. */
  function drawActivations(layers) {
    const ink = getComputedStyle(activationsBox).color.match(/[\d.]+/g).map(Number);
    const strips = layers.map((values, index) => {
      const active = values.filter((v) => v > 0).length;
      const peak = Math.max(0, ...values);
      const strip = document.createElement("figure");
      strip.className = "strip";
      const caption = document.createElement("figcaption");
      caption.textContent = `Hidden layer ${index + 1}: ${active} of ${values.length} units active`;
      const canvas = document.createElement("canvas");
      canvas.className = "strip-canvas";
      const columns = Math.min(UNITS_PER_ROW, values.length);
      const rows = Math.ceil(values.length / columns);
      canvas.width = columns;
      canvas.height = rows * STRIP_ROW_HEIGHT;
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `${active} of ${values.length} units of hidden layer ${index + 1} are active`);
      const context = canvas.getContext("2d");
      const image = context.createImageData(canvas.width, canvas.height);
      values.forEach((value, unit) => {
        const alpha = peak > 0 ? Math.round(255 * Math.max(0, value / peak) ** 0.6) : 0;
        const left = unit % columns;
        const top = Math.floor(unit / columns) * STRIP_ROW_HEIGHT;
        for (let dy = 0; dy < STRIP_ROW_HEIGHT - (rows > 1 ? 1 : 0); dy += 1) {
          const offset = ((top + dy) * canvas.width + left) * 4;
          image.data[offset] = ink[0];
          image.data[offset + 1] = ink[1];
          image.data[offset + 2] = ink[2];
          image.data[offset + 3] = alpha;
        }
      });
      context.putImageData(image, 0, 0);
      strip.append(caption, canvas);
      return strip;
    });
    activationsBox.replaceChildren(...strips);
    activationsBox.classList.remove("is-stale");
    activationsBox.dataset.state = "ready";
  }

  saliencyToggle.addEventListener("change", () => {
    const on = saliencyToggle.checked;
    saliencyMode.disabled = !on;
    activationsBox.hidden = !on;
    saliencyStatus.textContent = "";
    if (on) {
      saliencyCanvas.dataset.state = "pending";
      activationsBox.dataset.state = activationsBox.dataset.state === "ready" ? "ready" : "pending";
      requestExplanation();
    } else {
      abortRequest(explainRequest);
      explainRequest = null;
      saliencyCanvas.hidden = true;
      saliencyCanvas.dataset.state = "off";
    }
  });

  saliencyMode.addEventListener("change", showExplanation);

  // ---- make it a ... --------------------------------------------------------------------

  epsilonInput.addEventListener("input", () => {
    epsilonValue.textContent = epsilonInput.value;
  });

  attackForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (settled === null || attackRequest !== null) return;
    const target = Number(targetSelect.value);
    const epsilon = Number(epsilonInput.value);
    const input = settled.input;
    const request = { controller: new AbortController(), version: settled.version };
    attackRequest = request;
    attackButton.disabled = true;
    attackButton.setAttribute("aria-busy", "true");
    attackResult.dataset.state = "pending";
    attackStatus.classList.remove("is-error");
    attackStatus.textContent = `Turning it into a ${target}…`;
    try {
      const response = await postJson(ATTACK_URL, { pixels: input, target, epsilon }, request.controller.signal);
      const body = await response.json().catch(() => ({}));
      if (attackRequest !== request) return; // the drawing changed: the panel was reset
      if (response.ok && isAttack(body)) {
        showAttack(body, input, target, epsilon);
      } else {
        showAttackError(failure(response.status, body && body.detail));
      }
    } catch {
      if (attackRequest !== request) return;
      showAttackError(failure(0));
    } finally {
      if (attackRequest === request) {
        attackRequest = null;
        attackButton.disabled = settled === null;
        attackButton.removeAttribute("aria-busy");
      }
    }
  });

  function isAttack(body) {
    return (
      body !== null &&
      typeof body === "object" &&
      Number.isInteger(body.digit) &&
      Number.isInteger(body.original_digit) &&
      Array.isArray(body.perturbed) &&
      body.perturbed.length === 28 &&
      Array.isArray(body.probabilities)
    );
  }

  /** A 28x28 grey image (0..255, ink high) on a 28x28 canvas. */
  function paintGrey(canvas, pixels) {
    const context = canvas.getContext("2d");
    const image = context.createImageData(28, 28);
    pixels.forEach((row, y) => {
      row.forEach((value, x) => {
        const offset = (y * 28 + x) * 4;
        image.data.set([value, value, value, 255], offset);
      });
    });
    context.putImageData(image, 0, 0);
  }

  /** perturbed - original: red where ink was added, blue where it was taken away. */
  function paintChange(canvas, original, perturbed, linf) {
    const context = canvas.getContext("2d");
    const image = context.createImageData(28, 28);
    perturbed.forEach((row, y) => {
      row.forEach((value, x) => {
        const change = value - original[y][x];
        const colour = change >= 0 ? HEAT_POSITIVE : HEAT_NEGATIVE;
        const strength = linf > 0 ? Math.abs(change) / linf : 0;
        image.data.set(
          [colour[0] * strength, colour[1] * strength, colour[2] * strength, 255],
          (y * 28 + x) * 4,
        );
      });
    });
    context.putImageData(image, 0, 0);
  }

  function showAttack(body, input, target, epsilon) {
    paintGrey(attackCanvases.original, input);
    paintChange(attackCanvases.change, input, body.perturbed, body.linf);
    paintGrey(attackCanvases.perturbed, body.perturbed);
    originalPrediction.textContent = String(body.original_digit);
    attackLinf.textContent = String(body.linf);
    perturbedPrediction.textContent = String(body.digit);
    perturbedConfidence.textContent = `(${percent(body.probabilities[body.digit])} sure)`;
    attackResult.hidden = false;
    attackResult.dataset.state = body.digit === target ? "reached" : "missed";
    attackStatus.classList.remove("is-error");
    const steps = body.steps_taken === 1 ? "1 step" : `${body.steps_taken} steps`;
    if (body.original_digit === target) {
      attackStatus.textContent = `It already reads a ${target}: nothing to change.`;
    } else if (body.digit === target) {
      attackStatus.textContent = `Done in ${steps}: the network now reads a ${target}, though no pixel moved by more than ${body.linf} of 255.`;
    } else {
      attackStatus.textContent = `Not within ε = ${epsilon}: after ${steps} it reads a ${body.digit}. Try a larger ε.`;
    }
  }

  function showAttackError(reason) {
    attackResult.hidden = true;
    attackResult.dataset.state = "error";
    attackStatus.classList.add("is-error");
    attackStatus.textContent = `Couldn't run the attack (${reason}).`;
  }

  function resetAttack(message) {
    attackButton.disabled = true;
    attackButton.removeAttribute("aria-busy");
    attackResult.hidden = true;
    attackResult.dataset.state = "empty";
    perturbedPrediction.textContent = "";
    perturbedConfidence.textContent = "";
    attackStatus.classList.remove("is-error");
    attackStatus.textContent = message;
  }

  showEmpty();
})();

// Looking inside on the drawing page: saliency heatmap, hidden activations, "make it a ...".

import { ATTACK_URL, EXPLAIN_URL, postJson, readJson } from "./api.js";
import { html } from "./dom.js";
import { percentDown, withArticle } from "./numbers.js";
import { paintChange, paintGrey, paintHeatmap } from "./pixels.js";

// The saliency heatmap over the preview and the activation strips come from POST /api/explain,
// "make it a ..." from POST /api/adversarial. Both ask about the 28x28 `input` of the last
// prediction that matched the pad (`settled`), never while the live prediction is still
// catching up, so they never slow it down. Answers are dropped when the drawing changed
// meanwhile.

const UNITS_PER_ROW = 256; // activation strips wrap after this many units
const STRIP_ROW_HEIGHT = 8; // canvas pixels per strip row (shown scaled, pixelated)

/** Why a request failed, for "Couldn't ... (reason)."; status 0 means no answer at all. */
export function failure(status, detail) {
  if (status === 0) return "can't reach the server";
  return typeof detail === "string" ? detail : `error ${status}`;
}

/** Is this /api/explain answer one the page can show? */
export function isExplanation(body) {
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

/** Is this /api/adversarial answer one the page can show? */
export function isAttack(body) {
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

/** One hidden layer as a strip: a cell per unit, brighter the more active, in `ink` [r, g, b]. */
export function activationStrip(values, index, ink) {
  const active = values.filter((v) => v > 0).length;
  const peak = Math.max(0, ...values);
  const strip = html("figure", "strip");
  const caption = html(
    "figcaption",
    "",
    `Hidden layer ${index + 1}: ${active} of ${values.length} units active`,
  );
  const canvas = html("canvas", "strip-canvas");
  const columns = Math.min(UNITS_PER_ROW, values.length);
  const rows = Math.ceil(values.length / columns);
  canvas.width = columns;
  canvas.height = rows * STRIP_ROW_HEIGHT;
  canvas.setAttribute("role", "img");
  canvas.setAttribute(
    "aria-label",
    `${active} of ${values.length} units of hidden layer ${index + 1} are active`,
  );
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
}

/** What the status line says after an attack: done, not needed, or not within epsilon. */
export function attackSummary(body, target, epsilon) {
  const steps = body.steps_taken === 1 ? "1 step" : `${body.steps_taken} steps`;
  if (body.original_digit === target) return `It already reads ${withArticle(target)}: nothing to change.`;
  if (body.digit === target) {
    return `Done in ${steps}: the network now reads ${withArticle(target)}, though no pixel moved by more than ${body.linf} of 255.`;
  }
  return `Not within ε = ${epsilon}: after ${steps} it reads ${withArticle(body.digit)}. Try a larger ε.`;
}

/**
 * Start the look inside. Returns the three calls the live prediction makes:
 * drawingChanged(version, hasInk) on every change of the drawing, predictionShown(body,
 * current, version) with every answer shown, and hide() when the answer is cleared.
 */
export function initExplain() {
  const byId = (id) => document.getElementById(id);
  const saliencyToggle = byId("saliency-toggle");
  const saliencyMode = byId("saliency-mode");
  const saliencyCanvas = byId("saliency");
  const saliencyStatus = byId("saliency-status");
  const activationsBox = byId("activations");
  const attackForm = byId("attack-form");
  const attackButton = byId("attack");
  const targetSelect = byId("target");
  const epsilonInput = byId("epsilon");
  const epsilonValue = byId("epsilon-value");
  const attackStatus = byId("attack-status");
  const attackResult = byId("attack-result");
  const originalPrediction = byId("original-prediction");
  const attackLinf = byId("attack-linf");
  const perturbedPrediction = byId("perturbed-prediction");
  const perturbedConfidence = byId("perturbed-confidence");
  const attackCanvases = {
    original: byId("attack-original"),
    change: byId("attack-change"),
    perturbed: byId("perturbed"),
  };

  let version = 0; // the drawing's version, as last told by the live prediction
  let settled = null; // {version, input, digit}: the prediction that describes the pad
  let explanation = null; // {version, body}: the latest /api/explain answer for `settled`
  let explainRequest = null; // {controller, version}
  let attackRequest = null; // {controller, version}

  function abortRequest(request) {
    if (request !== null) request.controller.abort();
  }

  /** Every change of the drawing: whatever was shown no longer describes it. */
  function drawingChanged(newVersion, hasInk) {
    version = newVersion;
    settled = null;
    abortRequest(explainRequest);
    explainRequest = null;
    abortRequest(attackRequest);
    attackRequest = null;
    hideSaliency();
    activationsBox.classList.add("is-stale");
    resetAttack(hasInk ? "" : "Draw a digit first.");
  }

  /** Every prediction shown; `current` when it describes what is on the pad. */
  function predictionShown(body, current, shownVersion) {
    hideSaliency(); // the preview just changed under it
    if (!current) return;
    settled = { version: shownVersion, input: body.input, digit: body.digit };
    attackButton.disabled = attackRequest !== null;
    if (attackStatus.textContent === "") attackStatus.textContent = "Pick a digit and press “Make it so”.";
    if (saliencyToggle.checked) requestExplanation();
  }

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
      const body = await readJson(response);
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

  function selectedMode() {
    const checked = saliencyMode.querySelector("input:checked");
    return checked ? checked.value : "saliency";
  }

  function showExplanation() {
    if (!saliencyToggle.checked || explanation === null || settled === null) return;
    if (explanation.version !== settled.version) return;
    paintHeatmap(saliencyCanvas, explanation.body[selectedMode()]);
    saliencyCanvas.hidden = false;
    saliencyCanvas.dataset.state = "ready";
    saliencyCanvas.dataset.digit = String(explanation.body.digit);
    showActivations(explanation.body.activations);
  }

  function hideSaliency() {
    saliencyCanvas.hidden = true;
    saliencyCanvas.dataset.state = saliencyToggle.checked ? "pending" : "off";
  }

  function showActivations(layers) {
    // Active units are painted in the box's text colour (see draw.css).
    const ink = getComputedStyle(activationsBox).color.match(/[\d.]+/g).map(Number);
    activationsBox.replaceChildren(...layers.map((values, index) => activationStrip(values, index, ink)));
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
    attackStatus.textContent = `Turning it into ${withArticle(target)}…`;
    try {
      const response = await postJson(ATTACK_URL, { pixels: input, target, epsilon }, request.controller.signal);
      const body = await readJson(response);
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

  function showAttack(body, input, target, epsilon) {
    paintGrey(attackCanvases.original, input);
    paintChange(attackCanvases.change, input, body.perturbed, body.linf);
    paintGrey(attackCanvases.perturbed, body.perturbed);
    originalPrediction.textContent = String(body.original_digit);
    attackLinf.textContent = String(body.linf);
    perturbedPrediction.textContent = String(body.digit);
    perturbedConfidence.textContent = `(${percentDown(body.probabilities[body.digit])} sure)`;
    attackResult.hidden = false;
    attackResult.dataset.state = body.digit === target ? "reached" : "missed";
    attackStatus.classList.remove("is-error");
    attackStatus.textContent = attackSummary(body, target, epsilon);
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

  return { drawingChanged, predictionShown, hide: hideSaliency };
}

// The live prediction: POST /api/predict while the drawing changes, and showing the answer.

import { PREDICT_URL, postJson, readJson } from "./api.js";
import { floorTo, percentDown } from "./numbers.js";
import { paintGrey } from "./pixels.js";

const PREDICT_DELAY_MS = 120; // live updates while drawing, at most ~8 requests a second

/** Is this /api/predict answer one the page can show? */
export function isPrediction(body) {
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

/** The sentence under the answer, by how sure the network is. */
export function verdict(digit, p) {
  if (p >= 0.9) return `That's a ${digit}.`;
  if (p >= 0.6) return `Probably a ${digit}.`;
  return `Not sure. Maybe a ${digit}?`;
}

/** What to say when no prediction came back; status 0 means no answer at all. */
export function errorMessage(status, detail) {
  if (status === 0) return "Can't reach the server. Check your connection and try again.";
  if (status === 422 && detail === "no ink") {
    return "I can't see any ink yet. Try drawing a bit bigger.";
  }
  const reason = typeof detail === "string" ? detail : `error ${status}`;
  return `Couldn't read that drawing (${reason}).`;
}

/** The answer's elements (#verdict, #prediction, #confidence, #status, #prob-0..9, #preview)
    and the three ways to fill them. */
function answerView() {
  const region = document.getElementById("verdict");
  const prediction = document.getElementById("prediction");
  const confidence = document.getElementById("confidence");
  const statusLine = document.getElementById("status");
  const barRows = Array.from({ length: 10 }, (_, digit) => document.getElementById(`prob-${digit}`));
  const preview = document.getElementById("preview");
  const previewContext = preview.getContext("2d");

  /** empty | pending | ready | error. While pending (drawing, or a request on its way) the
      live region is marked busy, so screen readers announce the settled answer only. */
  function setState(state) {
    prediction.dataset.state = state;
    region.setAttribute("aria-busy", String(state === "pending"));
  }

  function showBars(probabilities, topDigit) {
    barRows.forEach((row, digit) => {
      const p = probabilities === null ? 0 : Math.min(1, Math.max(0, Number(probabilities[digit])));
      row.dataset.value = probabilities === null ? "0" : p.toFixed(4);
      row.classList.toggle("is-top", digit === topDigit);
      // Through the CSSOM: the strict Content-Security-Policy refuses style="" attributes.
      row.querySelector(".bar-fill").style.transform = `scaleX(${p})`;
      row.querySelector(".bar-value").textContent = percentDown(p);
    });
  }

  function showPrediction(body, current) {
    prediction.textContent = String(body.digit);
    setState(current ? "ready" : "pending");
    confidence.textContent = `${floorTo(body.confidence * 100, 0.1).toFixed(1)}% sure`;
    statusLine.textContent = verdict(body.digit, body.confidence);
    statusLine.classList.remove("is-error");
    showBars(body.probabilities, body.digit);
    paintGrey(preview, body.input); // the 28x28 network input, light on dark
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
    statusLine.textContent = errorMessage(status, detail);
    showBars(null, -1);
    previewContext.clearRect(0, 0, preview.width, preview.height);
  }

  return { setState, showPrediction, showEmpty, showError };
}

/**
 * Start the live prediction. `drawing` is the pad ({hasInk, exportImage}); `inside` is the look
 * inside (explain.js), told of every change of the drawing and of every answer shown.
 * Returns {drawingChanged}, which the pad calls with {immediate} after every change.
 */
export function initPrediction({ drawing, inside }) {
  const answer = answerView();

  // At most one request is in flight; when it returns and the drawing has changed meanwhile,
  // the newest drawing is sent at once. `version` counts changes so a response can tell
  // whether it still describes what is on the pad; clearing aborts.
  let version = 0;
  let inFlight = null; // {controller: AbortController, version: number}
  let timer = null;

  function showPrediction(body, current) {
    answer.showPrediction(body, current);
    inside.predictionShown(body, current, version);
  }

  function showEmpty() {
    answer.showEmpty();
    inside.hide();
  }

  function showError(status, detail, current) {
    answer.showError(status, detail, current);
    inside.hide();
  }

  function drawingChanged({ immediate }) {
    version += 1;
    inside.drawingChanged(version, drawing.hasInk());
    if (!drawing.hasInk()) {
      // Nothing to ask about: an empty pad is never sent (the server would answer "no ink").
      cancelPrediction();
      showEmpty();
      return;
    }
    answer.setState("pending");
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
      const image = drawing.exportImage();
      const response = await postJson(PREDICT_URL, { image }, request.controller.signal);
      const body = await readJson(response);
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
        if (request.version !== version && drawing.hasInk()) requestPrediction();
      }
    }
  }

  showEmpty();
  return { drawingChanged };
}

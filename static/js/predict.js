// Digit mode: POST /api/predict while the drawing changes (live.js), and showing the answer; a
// drawing that looks like several digits is read with POST /api/number too.

import { errorMessage, isNumberReading, isPrediction } from "./answers.js";
import {
  NUMBER_STROKE_LIMITS,
  NUMBER_URL,
  PREDICT_URL,
  boundedStrokes,
  readJson,
} from "./api.js";
import { liveAnswers } from "./live.js";
import { floorTo, percentDown, withArticle } from "./numbers.js";
import { paintGrey } from "./pixels.js";

// The server's verdict on the drawing (app/schemas.py); an older server sends none, which reads
// as DIGIT.
const DIGIT = "digit";
const NOT_A_DIGIT = "not_a_digit";
const SEVERAL_DIGITS = "several_digits";

/** The sentence under the answer, by how sure the network is. */
export function verdict(digit, p) {
  const named = withArticle(digit);
  if (p >= 0.9) return `That's ${named}.`;
  if (p >= 0.6) return `Probably ${named}.`;
  return `Not sure. Maybe ${named}?`;
}

/** What the server says the drawing is: DIGIT, NOT_A_DIGIT or SEVERAL_DIGITS. */
export function verdictOf(body) {
  return [NOT_A_DIGIT, SEVERAL_DIGITS].includes(body.verdict) ? body.verdict : DIGIT;
}

/** The sentence for a drawing of several digits, with /api/number's reading when there is one. */
export function severalDigits(reading) {
  const number = reading ? reading.number : "";
  if (number.length < 2) return "That looks like more than one digit.";
  return `That looks like ${number.length} digits: ${number}.`;
}

/** The answer's elements (#verdict, #prediction, #confidence, #status, #read-as-number,
    #prob-0..9, #preview, and the compact copy by the pad, #compact-answer) and the four ways to
    fill them. */
function answerView() {
  const region = document.getElementById("verdict");
  const prediction = document.getElementById("prediction");
  const confidence = document.getElementById("confidence");
  const statusLine = document.getElementById("status");
  const readAsNumber = document.getElementById("read-as-number");
  const bars = document.getElementById("bars");
  const barRows = Array.from({ length: 10 }, (_, digit) => document.getElementById(`prob-${digit}`));
  const preview = document.getElementById("preview");
  const previewContext = preview.getContext("2d");
  const compact = document.getElementById("compact-answer");
  const compactDigit = compact.querySelector(".compact-digit");
  const compactText = compact.querySelector(".compact-text");

  /** empty | pending | ready | error. While pending (drawing, or a request on its way) the
      live region is marked busy, so screen readers announce the settled answer only. */
  function setState(state) {
    prediction.dataset.state = state;
    compact.dataset.state = state;
    region.setAttribute("aria-busy", String(state === "pending"));
  }

  /** The server's verdict: a drawing that is not one digit keeps its bars, muted, and claims
      no digit. */
  function setVerdict(kind) {
    region.dataset.verdict = kind;
    bars.classList.toggle("is-muted", kind !== DIGIT);
    readAsNumber.hidden = kind !== SEVERAL_DIGITS;
  }

  /** The copy by the pad, for small screens where the answer card is out of sight. */
  function showCompact(digit, text) {
    compactDigit.textContent = digit;
    compactText.textContent = text;
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
    const kind = verdictOf(body);
    setState(current ? "ready" : "pending");
    setVerdict(kind);
    statusLine.classList.remove("is-error");
    if (kind === DIGIT) {
      const sure = `${floorTo(body.confidence * 100, 0.1).toFixed(1)}% sure`;
      prediction.textContent = String(body.digit);
      confidence.textContent = sure;
      statusLine.textContent = verdict(body.digit, body.confidence);
      showCompact(String(body.digit), sure);
    } else {
      prediction.textContent = ""; // no digit claimed
      confidence.textContent = "";
      statusLine.textContent =
        kind === NOT_A_DIGIT ? "That doesn't look like a digit." : severalDigits(body.number);
      showCompact("", statusLine.textContent);
    }
    showBars(body.probabilities, body.digit);
    paintGrey(preview, body.input); // the 28x28 network input, light on dark
  }

  function showEmpty() {
    prediction.textContent = "";
    setState("empty");
    setVerdict(DIGIT);
    confidence.textContent = "";
    statusLine.textContent = "Nothing drawn yet.";
    statusLine.classList.remove("is-error");
    showCompact("", "Nothing drawn yet.");
    showBars(null, -1);
    previewContext.clearRect(0, 0, preview.width, preview.height);
  }

  function showError(status, error, current) {
    prediction.textContent = "";
    setState(current ? "error" : "pending");
    setVerdict(DIGIT);
    confidence.textContent = "";
    statusLine.classList.add("is-error");
    statusLine.textContent = errorMessage(status, error);
    showCompact("", statusLine.textContent);
    showBars(null, -1);
    previewContext.clearRect(0, 0, preview.width, preview.height);
  }

  return { setState, showPrediction, showEmpty, showError };
}

/**
 * Start digit mode's live answer. `drawing` is the pad ({hasInk, exportImage, exportStrokes});
 * `inside` is the look inside (explain.js), told of every change of the drawing and of every
 * answer shown; `postReading(url, payload, signal)` posts a reading request with the browser's
 * profile (profile.js);
 * `onReadAsNumber()` is the "Read it as a number" button. Returns live.js's
 * {drawingChanged, refresh, stop}.
 */
export function initPrediction({ drawing, inside, postReading, onReadAsNumber }) {
  const answer = answerView();
  document.getElementById("read-as-number").addEventListener("click", onReadAsNumber);

  /** /api/number's reading of the same image and strokes, or null. */
  async function readNumber(image, strokes, signal) {
    try {
      const response = await postReading(NUMBER_URL, { image, strokes }, signal);
      const body = await readJson(response);
      return response.ok && isNumberReading(body) ? body : null;
    } catch (error) {
      if (signal.aborted) throw error;
      return null; // the sentence does without the digits
    }
  }

  async function ask(signal) {
    const image = drawing.exportImage();
    const strokes = boundedStrokes(drawing.exportStrokes(), NUMBER_STROKE_LIMITS);
    const response = await postReading(PREDICT_URL, { image }, signal);
    const body = await readJson(response);
    const ok = response.ok && isPrediction(body);
    if (ok && verdictOf(body) === SEVERAL_DIGITS) body.number = await readNumber(image, strokes, signal);
    return { ok, status: response.status, body };
  }

  const view = {
    changed: (version, hasInk) => inside.drawingChanged(version, hasInk),
    pending: () => answer.setState("pending"),
    empty() {
      answer.showEmpty();
      inside.hide();
    },
    answer(body, current, version) {
      answer.showPrediction(body, current);
      inside.predictionShown(body, current, version);
    },
    failed(status, error, current) {
      answer.showError(status, error, current);
      inside.hide();
    },
  };

  answer.showEmpty();
  return liveAnswers({ drawing, ask, view });
}

// Number mode: POST /api/number while the drawing changes (live.js), and showing the number, a
// box round each piece on the pad, and what the network saw of each piece.

import { errorMessage, isNumberReading } from "./answers.js";
import { NUMBER_STROKE_LIMITS, NUMBER_URL, boundedStrokes, readJson } from "./api.js";
import { html, svg } from "./dom.js";
import { liveAnswers } from "./live.js";
import { percentDown } from "./numbers.js";
import { paintGrey } from "./pixels.js";

const DIGIT = "digit"; // a piece's verdict; only such pieces make up the number
const NOT_A_NUMBER = "not_a_number";
const LABEL_SIZE = 22; // the pieces' labels, in px of the 280 px tall export (the overlay's units)
const MIN_LABEL_PX = 13; // ... and at least this many px on screen, however small the pad

/** The line under the number: said only when the drawing is not all digits. */
export function numberVerdict(reading) {
  if (reading.verdict !== NOT_A_NUMBER) return "";
  if (reading.number === "") return "That doesn't look like a number.";
  return "Not all digits: the pieces marked ? are left out.";
}

/** The number's elements (#number, #number-confidence, #number-verdict, the #pad-overlay SVG
    over the pad, #number-pieces in the answer card) and the ways to fill them. */
function numberView() {
  const number = document.getElementById("number");
  const region = document.getElementById("number-answer");
  const confidence = document.getElementById("number-confidence");
  const verdictLine = document.getElementById("number-verdict");
  const overlay = document.getElementById("pad-overlay");
  const pieces = document.getElementById("number-pieces");

  function setState(state) {
    number.dataset.state = state;
    overlay.dataset.state = state;
    region.setAttribute("aria-busy", String(state === "pending"));
  }

  /** A box round each piece, in the export's pixels (the overlay's viewBox), with its reading. */
  function drawBoxes(reading, width, height) {
    overlay.setAttribute("viewBox", `0 0 ${width} ${height}`);
    overlay.replaceChildren();
    const shown = overlay.getBoundingClientRect().height;
    const size = Math.max(LABEL_SIZE, shown > 0 ? (MIN_LABEL_PX * height) / shown : 0);
    for (const piece of reading.digits) {
      const [x0, y0, x1, y1] = piece.box;
      const isDigit = piece.verdict === undefined || piece.verdict === DIGIT;
      const group = svg("g", {
        class: isDigit ? "piece" : "piece piece-unsure",
        "data-testid": "piece",
        "data-digit": isDigit ? piece.digit : "?",
        "data-verdict": piece.verdict || DIGIT,
      }, overlay);
      svg("rect", { x: x0, y: y0, width: x1 - x0, height: y1 - y0, rx: 6 }, group);
      // The label sits above the box, or inside its top when there is no room above.
      const labelY = y0 >= size + 2 ? y0 - size / 4 : y0 + size;
      const label = svg("text", { x: x0 + 4, y: labelY, "font-size": size }, group);
      label.textContent = isDigit ? String(piece.digit) : "?";
    }
  }

  /** What the network saw of each piece, with its reading, in the answer card. */
  function listPieces(reading) {
    pieces.replaceChildren(
      ...reading.digits.map((piece) => {
        const isDigit = piece.verdict === undefined || piece.verdict === DIGIT;
        const item = html("li", isDigit ? "number-piece" : "number-piece is-unsure");
        const canvas = html("canvas", "number-piece-canvas");
        canvas.width = 28;
        canvas.height = 28;
        canvas.setAttribute("role", "img");
        canvas.setAttribute("aria-label", "The 28 by 28 pixel image the network saw of this piece");
        paintGrey(canvas, piece.input);
        const reads = isDigit ? String(piece.digit) : "?";
        const sure = isDigit ? percentDown(piece.confidence) : "not a digit";
        item.append(canvas, html("strong", "", reads), html("span", "", sure));
        return item;
      }),
    );
  }

  function showReading(reading, current, width, height) {
    setState(current ? "ready" : "pending");
    number.textContent = reading.number;
    confidence.textContent =
      reading.number === "" || typeof reading.confidence !== "number"
        ? ""
        : `${percentDown(reading.confidence)} sure`;
    verdictLine.textContent = numberVerdict(reading);
    verdictLine.classList.remove("is-error");
    drawBoxes(reading, width, height);
    listPieces(reading);
  }

  function showEmpty() {
    setState("empty");
    number.textContent = "";
    confidence.textContent = "";
    verdictLine.textContent = "";
    verdictLine.classList.remove("is-error");
    overlay.replaceChildren();
    pieces.replaceChildren();
  }

  function showError(status, error, current) {
    setState(current ? "error" : "pending");
    number.textContent = "";
    confidence.textContent = "";
    verdictLine.textContent = errorMessage(status, error);
    verdictLine.classList.add("is-error");
    overlay.replaceChildren();
    pieces.replaceChildren();
  }

  return { setState, showReading, showEmpty, showError };
}

/**
 * Start number mode's live answer. `drawing` is the pad ({hasInk, exportImage, exportStrokes});
 * `postReading(url, payload, signal)` posts with the browser's profile (profile.js). Returns
 * live.js's {drawingChanged, refresh, stop}, plus reset() to blank the view when the mode is left.
 */
export function initNumberReading({ drawing, postReading }) {
  const view = numberView();
  let exported = { width: 0, height: 0 }; // the size of the image the last request sent

  async function ask(signal) {
    const image = drawing.exportImage();
    const strokes = boundedStrokes(drawing.exportStrokes(), NUMBER_STROKE_LIMITS);
    const size = drawing.exportSize();
    const response = await postReading(NUMBER_URL, { image, strokes }, signal);
    const body = await readJson(response);
    exported = size;
    return { ok: response.ok && isNumberReading(body), status: response.status, body };
  }

  const live = liveAnswers({
    drawing,
    ask,
    view: {
      changed: () => {},
      pending: () => view.setState("pending"),
      empty: () => view.showEmpty(),
      answer: (body, current) => view.showReading(body, current, exported.width, exported.height),
      failed: (status, error, current) => view.showError(status, error, current),
    },
  });

  view.showEmpty();
  return { ...live, reset: view.showEmpty };
}

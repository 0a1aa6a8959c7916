// What both modes need of the server's answers: is a body one the page can show, and what to
// say when none came.

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

/** Is this /api/number answer one the page can show? */
export function isNumberReading(body) {
  return (
    body !== null &&
    typeof body === "object" &&
    typeof body.number === "string" &&
    Array.isArray(body.digits) &&
    body.digits.every(
      (piece) =>
        piece !== null &&
        Number.isInteger(piece.digit) &&
        Array.isArray(piece.box) &&
        piece.box.length === 4 &&
        Array.isArray(piece.input),
    )
  );
}

/** Did the server say the drawing has no ink? Its errors are {"detail", "code"}: `code` is
    for programs and never changes, so it decides; a server from before the codes only had
    the detail, worded "no ink found: draw a digit" (and once just "no ink"). */
export function isNoInk(error) {
  if (!error || typeof error !== "object") return false;
  if (typeof error.code === "string") return error.code === "no_ink";
  return typeof error.detail === "string" && error.detail.startsWith("no ink");
}

/** What to say when no answer came back: `status` 0 means no answer at all; `error` is the
    server's error body ({detail, code}), or null or {} when it sent none we could read. */
export function errorMessage(status, error) {
  if (status === 0) return "Can't reach the server. Check your connection and try again.";
  if (isNoInk(error)) return "I can't see any ink yet. Try drawing a bit bigger.";
  const detail = error && typeof error === "object" ? error.detail : undefined;
  const reason = typeof detail === "string" ? detail : `error ${status}`;
  return `Couldn't read that drawing (${reason}).`;
}

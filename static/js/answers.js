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

/** What to say when no answer came back; status 0 means no answer at all. */
export function errorMessage(status, detail) {
  if (status === 0) return "Can't reach the server. Check your connection and try again.";
  if (status === 422 && detail === "no ink") {
    return "I can't see any ink yet. Try drawing a bit bigger.";
  }
  const reason = typeof detail === "string" ? detail : `error ${status}`;
  return `Couldn't read that drawing (${reason}).`;
}

// The model page's SVG charts drawn in the browser: the confusion matrix, accuracy per digit.
// (The training curves are drawn on the server, by model/training/plots.py.)

import { setState, showMessage, svg } from "./dom.js";
import { finite, percent } from "./numbers.js";

// Each chart is drawn from GET /api/model/report into its box. Colours come from classes in
// model.css; SVG elements get attributes, never style="".

/** Round, evenly spaced tick values covering [low, high] (about `count` of them). */
export function niceTicks(low, high, count = 4) {
  const span = high - low || Math.abs(high) || 1;
  const rough = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const scaled = rough / magnitude;
  const step = (scaled < 1.5 ? 1 : scaled < 3 ? 2 : scaled < 7 ? 5 : 10) * magnitude;
  const ticks = [];
  for (let tick = Math.floor(low / step) * step; tick <= high + step * 1e-6; tick += step) {
    ticks.push(Number(tick.toPrecision(12)));
  }
  if (ticks[ticks.length - 1] < high) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

// ---- confusion matrix and accuracy per digit -----------------------------------------------

/** The test set's confusion matrix, true digit by row, into `box`. */
export function drawConfusion(box, report) {
  const matrix = report.confusion;
  if (!matrix) {
    showMessage(box, "This weight file records no confusion matrix.");
    setState(box, "empty");
    return;
  }
  const n = matrix.length;
  const cell = 32;
  const left = 44;
  const top = 44;
  const size = left + n * cell + 6;
  const root = svg("svg", {
    viewBox: `0 0 ${size} ${top + n * cell + 6}`,
    class: "chart confusion-chart",
    role: "img",
    "aria-label": "Confusion matrix of the test set: true digit by row, predicted digit by column",
  });
  const heading = svg("text", { x: left + (n * cell) / 2, y: 12, class: "axis-label axis-label-center" }, root);
  heading.textContent = "predicted";
  const side = svg("text", {
    x: 12,
    y: top + (n * cell) / 2,
    class: "axis-label axis-label-center",
    transform: `rotate(-90 12 ${top + (n * cell) / 2})`,
  }, root);
  side.textContent = "true";

  const errors = matrix.flatMap((row, i) => row.filter((_, j) => j !== i));
  const worst = Math.max(1, ...errors);
  for (let i = 0; i < n; i += 1) {
    const colLabel = svg("text", { x: left + i * cell + cell / 2, y: top - 8, class: "tick tick-center" }, root);
    colLabel.textContent = String(i);
    const rowLabel = svg("text", { x: left - 8, y: top + i * cell + cell / 2, class: "tick tick-y" }, root);
    rowLabel.textContent = String(i);
    const total = matrix[i].reduce((a, b) => a + b, 0);
    for (let j = 0; j < n; j += 1) {
      const count = matrix[i][j];
      const correct = i === j;
      // Mistakes on a log scale: 1 of 1,000 should still show, 8 should stand out.
      const strength = correct ? 1 : count === 0 ? 0 : 0.18 + 0.82 * (Math.log1p(count) / Math.log1p(worst));
      const group = svg("g", { class: correct ? "cell cell-correct" : count ? "cell cell-error" : "cell cell-zero" }, root);
      svg("rect", {
        x: left + j * cell + 1,
        y: top + i * cell + 1,
        width: cell - 2,
        height: cell - 2,
        rx: 3,
        "fill-opacity": correct || count === 0 ? 1 : strength.toFixed(3),
      }, group);
      if (count > 0) {
        const text = svg("text", {
          x: left + j * cell + cell / 2,
          y: top + i * cell + cell / 2,
          class: strength > 0.6 ? "count count-strong" : "count",
        }, group);
        text.textContent = String(count);
      }
      const tip = svg("title", {}, group);
      tip.textContent = correct
        ? `${count} of ${total} test ${i}s read correctly (${percent(count / (total || 1))})`
        : `${count} test ${i}${count === 1 ? "" : "s"} read as ${j}`;
    }
  }
  box.replaceChildren(root);
  setState(box, "ready");
}

/** The test accuracy of each digit as horizontal bars, with the overall accuracy dashed. */
export function drawPerClass(box, report) {
  const accuracy = report.per_class_accuracy;
  if (!accuracy) {
    showMessage(box, "This weight file records no per-class accuracy.");
    setState(box, "empty");
    return;
  }
  const width = 300;
  const row = 26;
  const left = 26;
  const right = 56;
  const top = 6;
  const height = top + accuracy.length * row + 24;
  // Every digit sits between 97% and 100%, so the axis starts near the worst one (it says
  // so in its tick labels); from 0 all ten bars would look the same.
  const low = Math.max(0, Math.floor(Math.min(...accuracy) * 100 - 1) / 100);
  const x = (value) => left + ((value - low) / (1 - low)) * (width - left - right);
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart per-class-chart",
    role: "img",
    "aria-label": `Test accuracy per digit, from ${percent(Math.min(...accuracy))} to ${percent(Math.max(...accuracy))}`,
  });
  const axisY = top + accuracy.length * row;
  for (const tick of niceTicks(low, 1, 3)) {
    if (tick < low || tick > 1) continue;
    svg("line", { class: "grid-line", x1: x(tick), x2: x(tick), y1: top, y2: axisY }, root);
    const text = svg("text", { x: x(tick), y: axisY + 15, class: "tick tick-center" }, root);
    text.textContent = percent(tick, 0);
  }
  if (finite(report.test_accuracy)) {
    const overall = x(report.test_accuracy);
    svg("line", { class: "marker", x1: overall, x2: overall, y1: top - 2, y2: axisY }, root);
  }
  accuracy.forEach((value, digit) => {
    const y = top + digit * row;
    const label = svg("text", { x: left - 10, y: y + row / 2, class: "tick tick-y tick-strong" }, root);
    label.textContent = String(digit);
    const bar = svg("rect", {
      class: "bar",
      x: left,
      y: y + 4,
      width: Math.max(1, x(value) - left).toFixed(1),
      height: row - 8,
      rx: 3,
    }, root);
    const tip = svg("title", {}, bar);
    tip.textContent = `${digit}: ${percent(value, 2)} right`;
    const text = svg("text", { x: x(value) + 6, y: y + row / 2, class: "value" }, root);
    text.textContent = percent(value, 1);
  });
  box.replaceChildren(root);
  setState(box, "ready");
}

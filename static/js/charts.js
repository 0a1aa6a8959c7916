// The model page's SVG charts: training curves, the confusion matrix, accuracy per digit.

import { html, setState, showMessage, svg } from "./dom.js";
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

// ---- training curves ---------------------------------------------------------------------

/**
 * One SVG line chart. `series` is [{name, values}], one value (or null) per entry of `xs`.
 * Colours come from the classes series-0, series-1, ... in model.css.
 */
export function lineChart({ title, label, xs, series, formatY, yMin = null, yMax = null, marker = null }) {
  const width = 340;
  const height = 210;
  const margin = { top: 10, right: 14, bottom: 30, left: 50 };
  const values = series.flatMap((s) => s.values).filter(finite);
  let low = yMin !== null ? yMin : Math.min(...values);
  let high = yMax !== null ? yMax : Math.max(...values);
  if (yMin === null) low -= (high - low) * 0.05;
  if (yMax === null) high += (high - low) * 0.05;
  const ticks = niceTicks(low, high, 4);
  low = Math.min(low, ticks[0]);
  high = Math.max(high, ticks[ticks.length - 1]);
  if (yMin !== null) low = Math.max(low, yMin);
  if (yMax !== null) high = Math.min(high, yMax);

  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const firstX = xs[0];
  const lastX = xs[xs.length - 1];
  const x = (value) => margin.left + (lastX === firstX ? plotWidth / 2 : ((value - firstX) / (lastX - firstX)) * plotWidth);
  const y = (value) => margin.top + (1 - (value - low) / (high - low || 1)) * plotHeight;

  const figure = html("figure", "chart-figure");
  const caption = html("figcaption");
  caption.appendChild(html("strong", "", title));
  figure.appendChild(caption);

  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": label });
  const grid = svg("g", { class: "grid" }, root);
  for (const tick of ticks) {
    if (tick < low - 1e-12 || tick > high + 1e-12) continue;
    svg("line", { x1: margin.left, x2: width - margin.right, y1: y(tick), y2: y(tick) }, grid);
    const text = svg("text", { x: margin.left - 6, y: y(tick), class: "tick tick-y" }, root);
    text.textContent = formatY(tick);
  }
  const xStep = xs.length > 12 ? 5 : xs.length > 6 ? 2 : 1;
  for (const value of xs) {
    if (value !== firstX && value % xStep !== 0) continue;
    const text = svg("text", { x: x(value), y: height - margin.bottom + 16, class: "tick tick-x" }, root);
    text.textContent = String(value);
  }
  const axisLabel = svg("text", { x: width - margin.right, y: height - 2, class: "axis-label" }, root);
  axisLabel.textContent = "epoch";
  svg("line", {
    class: "axis",
    x1: margin.left,
    x2: width - margin.right,
    y1: margin.top + plotHeight,
    y2: margin.top + plotHeight,
  }, root);

  if (marker !== null && marker.x >= firstX && marker.x <= lastX) {
    svg("line", { class: "marker", x1: x(marker.x), x2: x(marker.x), y1: margin.top, y2: margin.top + plotHeight }, root);
    const text = svg("text", { x: x(marker.x) - 4, y: margin.top + plotHeight - 8, class: "marker-label" }, root);
    text.textContent = marker.label;
  }

  series.forEach((line, index) => {
    let path = "";
    let pen = "M";
    line.values.forEach((value, i) => {
      if (!finite(value)) {
        pen = "M"; // a gap: start a new segment after it
        return;
      }
      path += `${pen}${x(xs[i]).toFixed(1)},${y(value).toFixed(1)}`;
      pen = "L";
    });
    const group = svg("g", { class: `series series-${index}` }, root);
    svg("path", { d: path }, group);
    line.values.forEach((value, i) => {
      if (!finite(value)) return;
      const dot = svg("circle", { cx: x(xs[i]).toFixed(1), cy: y(value).toFixed(1), r: 2.2 }, group);
      const tip = svg("title", {}, dot);
      tip.textContent = `${line.name}, epoch ${xs[i]}: ${formatY(value, true)}`;
    });
  });
  figure.appendChild(root);

  const legend = html("ul", "legend");
  series.forEach((line, index) => {
    const item = html("li", `series-${index}`);
    item.appendChild(html("span", "legend-swatch"));
    item.appendChild(document.createTextNode(line.name));
    legend.appendChild(item);
  });
  figure.appendChild(legend);
  return figure;
}

/** Loss, accuracy, gradient norms and learning rate per epoch, into `box`. */
export function drawCurves(box, report) {
  const curves = report.curves;
  if (!curves || curves.epoch.length === 0) {
    showMessage(box, "This weight file records no training history.");
    setState(box, "empty");
    return;
  }
  const xs = curves.epoch;
  const best = report.best_epoch ? { x: report.best_epoch, label: "kept" } : null;
  const small = (value) => (Math.abs(value) >= 0.01 || value === 0 ? value.toFixed(2) : value.toExponential(0));
  const charts = [
    lineChart({
      title: "Loss",
      label: "Training loss per epoch",
      xs,
      series: [{ name: "training loss (cross-entropy)", values: curves.train_loss }],
      formatY: (v, exact) => (exact ? v.toFixed(4) : v.toFixed(2)),
      yMin: 0,
    }),
    lineChart({
      title: "Accuracy",
      label: "Training and validation accuracy per epoch",
      xs,
      series: [
        { name: "training", values: curves.train_accuracy },
        { name: "validation", values: curves.val_accuracy },
      ],
      formatY: (v, exact) => percent(v, exact ? 2 : 0),
      yMax: 1,
      marker: best,
    }),
    lineChart({
      title: "Gradient norms",
      label: "Norm of each dense layer's weight gradient per epoch",
      xs,
      series: curves.grad_norms.map((values, i) => {
        const layer = report.layers[i];
        const shape = layer ? ` (${layer.inputs}→${layer.outputs})` : "";
        return { name: `${layer ? layer.name : `layer ${i}`}${shape}`, values };
      }),
      formatY: (v, exact) => (exact ? v.toFixed(4) : v.toFixed(1)),
      yMin: 0,
    }),
    lineChart({
      title: "Learning rate",
      label: "Learning rate at the end of each epoch",
      xs,
      series: [{ name: "learning rate (end of epoch)", values: curves.learning_rate }],
      formatY: (v, exact) => (exact ? v.toPrecision(3) : small(v)),
      yMin: 0,
    }),
  ];
  box.replaceChildren(...charts);
  setState(box, "ready");
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

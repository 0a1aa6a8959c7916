// The model page: fetches GET /api/model/report once and draws its charts: training curves
// (SVG), the confusion matrix and per-class accuracy (SVG), the misclassified digits and the
// first layer's weights (canvas). Plain browser JavaScript, no dependencies, loaded with `defer`
// from templates/model.html. Nothing inline: colours come from classes in model.css, or from
// its custom properties for canvas pixels; SVG gets attributes, never style="".
"use strict";

(() => {
  const REPORT_URL = "/api/model/report";
  const SVG_NS = "http://www.w3.org/2000/svg";

  const curvesBox = document.getElementById("curves");
  const confusionBox = document.getElementById("confusion");
  const perClassBox = document.getElementById("per-class");
  const mistakesBox = document.getElementById("mistakes");
  const weightsCanvas = document.getElementById("weights-grid");
  const weightsCaption = document.getElementById("weights-caption");

  // ---------------------------------------------------------------------------------------
  // Small helpers.

  /** An SVG element with attributes, appended to `parent` when given. */
  function svg(tag, attributes = {}, parent = null) {
    const element = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attributes)) {
      element.setAttribute(name, String(value));
    }
    if (parent) parent.appendChild(element);
    return element;
  }

  function html(tag, className = "", text = "") {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text) element.textContent = text;
    return element;
  }

  function setState(box, state) {
    box.dataset.state = state;
    box.removeAttribute("aria-busy");
  }

  function showMessage(box, text) {
    box.replaceChildren(html("p", "chart-message", text));
  }

  /** Round, evenly spaced tick values covering [low, high] (about `count` of them). */
  function niceTicks(low, high, count = 4) {
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

  const finite = (value) => typeof value === "number" && Number.isFinite(value);
  const percent = (value, digits = 1) => `${(value * 100).toFixed(digits)}%`;

  /** A colour custom property of model.css, written there as #rrggbb, as [r, g, b]. */
  function cssColor(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(value);
    return match ? match.slice(1).map((hex) => parseInt(hex, 16)) : fallback;
  }

  // ---------------------------------------------------------------------------------------
  // Line charts for the training curves.

  /**
   * One SVG line chart. `series` is [{name, values}], one value (or null) per entry of `xs`.
   * Colours come from the classes series-0, series-1, ... in model.css.
   */
  function lineChart({ title, label, xs, series, formatY, yMin = null, yMax = null, marker = null }) {
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

  function drawCurves(report) {
    const curves = report.curves;
    if (!curves || curves.epoch.length === 0) {
      showMessage(curvesBox, "This weight file records no training history.");
      setState(curvesBox, "empty");
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
    curvesBox.replaceChildren(...charts);
    setState(curvesBox, "ready");
  }

  // ---------------------------------------------------------------------------------------
  // Confusion matrix and per-class accuracy.

  function drawConfusion(report) {
    const matrix = report.confusion;
    if (!matrix) {
      showMessage(confusionBox, "This weight file records no confusion matrix.");
      setState(confusionBox, "empty");
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
    confusionBox.replaceChildren(root);
    setState(confusionBox, "ready");
  }

  function drawPerClass(report) {
    const accuracy = report.per_class_accuracy;
    if (!accuracy) {
      showMessage(perClassBox, "This weight file records no per-class accuracy.");
      setState(perClassBox, "empty");
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
    perClassBox.replaceChildren(root);
    setState(perClassBox, "ready");
  }

  // ---------------------------------------------------------------------------------------
  // Pictures on canvas.

  function paintDigit(canvas, pixels) {
    const context = canvas.getContext("2d");
    const image = context.createImageData(28, 28);
    pixels.forEach((row, y) => {
      row.forEach((value, x) => {
        const offset = (y * 28 + x) * 4;
        image.data[offset] = value;
        image.data[offset + 1] = value;
        image.data[offset + 2] = value;
        image.data[offset + 3] = 255;
      });
    });
    context.putImageData(image, 0, 0);
  }

  function drawMistakes(report) {
    const mistakes = report.mistakes;
    if (!mistakes || mistakes.length === 0) {
      showMessage(mistakesBox, "This weight file stores no misclassified digits.");
      setState(mistakesBox, "empty");
      return;
    }
    const items = mistakes.map((mistake) => {
      const figure = html("figure", "mistake");
      figure.dataset.true = String(mistake.true);
      figure.dataset.predicted = String(mistake.predicted);
      const canvas = html("canvas", "mistake-canvas");
      canvas.width = 28;
      canvas.height = 28;
      canvas.setAttribute("role", "img");
      canvas.setAttribute(
        "aria-label",
        `Test digit ${mistake.index}: a ${mistake.true} the network read as ${mistake.predicted}, ${percent(mistake.confidence, 0)} sure`,
      );
      paintDigit(canvas, mistake.pixels);
      figure.appendChild(canvas);
      const caption = html("figcaption");
      const labels = html("span", "mistake-labels");
      labels.appendChild(html("span", "mistake-true", String(mistake.true)));
      labels.appendChild(html("span", "mistake-arrow", "→"));
      labels.appendChild(html("span", "mistake-predicted", String(mistake.predicted)));
      caption.appendChild(labels);
      caption.appendChild(html("span", "mistake-confidence", percent(mistake.confidence, 0)));
      figure.appendChild(caption);
      figure.title = `test digit #${mistake.index}: true ${mistake.true}, read as ${mistake.predicted} (${percent(mistake.confidence, 1)})`;
      return figure;
    });
    mistakesBox.replaceChildren(...items);
    setState(mistakesBox, "ready");
  }

  // Tiles are drawn one canvas pixel per weight and shown at a whole multiple of that
  // (pixelated), so no weight is blurred into its neighbour; as many columns as fit the width.
  const TILE_GAP = 2;
  let weightsLayout = null; // {columns, units, side, scale} once drawn, for the hover caption
  let weightsReport = null;

  function drawWeights(report) {
    weightsReport = report;
    const layer = report.first_layer;
    if (!layer || layer.side === 0 || !layer.pixels_b64) {
      setState(weightsCanvas, "empty");
      weightsCaption.textContent = "The first layer does not take a 28×28 picture, so there is nothing to show.";
      return;
    }
    const { units, side } = layer;
    const bytes = Uint8Array.from(atob(layer.pixels_b64), (c) => c.charCodeAt(0));
    const pitch = side + TILE_GAP;
    const available = weightsCanvas.parentElement.clientWidth || 900;
    const zoom = Math.max(1, Math.floor(available / (16 * pitch))); // at least 16 columns
    const columns = Math.max(1, Math.min(units, Math.floor((available / zoom + TILE_GAP) / pitch)));
    const rows = Math.ceil(units / columns);
    weightsCanvas.width = columns * pitch - TILE_GAP;
    weightsCanvas.height = rows * pitch - TILE_GAP;
    weightsCanvas.style.width = `${weightsCanvas.width * zoom}px`;
    const context = weightsCanvas.getContext("2d");
    const image = context.createImageData(weightsCanvas.width, weightsCanvas.height);
    const zero = cssColor("--weight-zero", [255, 255, 255]);
    const positive = cssColor("--weight-positive", [200, 40, 40]);
    const negative = cssColor("--weight-negative", [40, 90, 200]);
    const gap = cssColor("--weight-gap", [185, 191, 204]);
    // Grid lines behind the tiles; slots past the last unit stay transparent.
    for (let y = 0; y < image.height; y += 1) {
      for (let x = 0; x < image.width; x += 1) {
        if (Math.floor(y / pitch) * columns + Math.floor(x / pitch) >= units) continue;
        const offset = (y * image.width + x) * 4;
        image.data.set([gap[0], gap[1], gap[2], 255], offset);
      }
    }
    for (let unit = 0; unit < units; unit += 1) {
      const left = (unit % columns) * pitch;
      const top = Math.floor(unit / columns) * pitch;
      for (let i = 0; i < side * side; i += 1) {
        const value = (bytes[unit * side * side + i] - 128) / 127; // -1..1
        const towards = value >= 0 ? positive : negative;
        const t = Math.min(1, Math.abs(value));
        const offset = ((top + Math.floor(i / side)) * image.width + left + (i % side)) * 4;
        image.data[offset] = zero[0] + (towards[0] - zero[0]) * t;
        image.data[offset + 1] = zero[1] + (towards[1] - zero[1]) * t;
        image.data[offset + 2] = zero[2] + (towards[2] - zero[2]) * t;
        image.data[offset + 3] = 255;
      }
    }
    context.putImageData(image, 0, 0);
    weightsLayout = { columns, units, side, scale: layer.scale };
    weightsCanvas.setAttribute(
      "aria-label",
      `The incoming weights of all ${units} first-layer units, each as a ${side} by ${side} picture`,
    );
    weightsCaption.textContent = `All ${units} units. Point at a tile to see which unit it is.`;
    setState(weightsCanvas, "ready");
  }

  weightsCanvas.addEventListener("pointermove", (event) => {
    if (weightsLayout === null) return;
    const rect = weightsCanvas.getBoundingClientRect();
    const px = ((event.clientX - rect.left) / rect.width) * weightsCanvas.width;
    const py = ((event.clientY - rect.top) / rect.height) * weightsCanvas.height;
    const pitch = weightsLayout.side + TILE_GAP;
    const unit = Math.floor(py / pitch) * weightsLayout.columns + Math.floor(px / pitch);
    if (px % pitch >= weightsLayout.side || unit < 0 || unit >= weightsLayout.units) return;
    const scale = weightsLayout.scale[unit];
    const shown = finite(scale) ? `; full colour at |weight| ${scale.toPrecision(2)}` : "";
    weightsCaption.textContent = `Unit ${unit} of ${weightsLayout.units}${shown}.`;
  });

  // Re-fit the columns when the page width changes (rotating a phone, resizing a window).
  let lastWidth = 0;
  if ("ResizeObserver" in window) {
    new ResizeObserver((entries) => {
      const width = Math.round(entries[entries.length - 1].contentRect.width);
      if (weightsReport !== null && width !== lastWidth) drawWeights(weightsReport);
      lastWidth = width;
    }).observe(weightsCanvas.parentElement);
  }

  // ---------------------------------------------------------------------------------------

  async function main() {
    let report;
    try {
      const response = await fetch(REPORT_URL, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      report = await response.json();
    } catch (error) {
      for (const box of [curvesBox, confusionBox, perClassBox, mistakesBox]) {
        showMessage(box, `Couldn't load the model report (${error.message}).`);
        setState(box, "error");
      }
      setState(weightsCanvas, "error");
      weightsCaption.textContent = "Couldn't load the weights.";
      return;
    }
    drawCurves(report);
    drawConfusion(report);
    drawPerClass(report);
    drawMistakes(report);
    drawWeights(report);
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => drawWeights(report));
  }

  main();
})();

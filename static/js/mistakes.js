// The model page's gallery of misclassified test digits, with labels and confidence.

import { html, setState, showMessage } from "./dom.js";
import { percent, withArticle } from "./numbers.js";
import { paintGrey } from "./pixels.js";

/** One misclassified digit as a <figure class="mistake">. */
export function mistakeFigure(mistake) {
  const figure = html("figure", "mistake");
  figure.dataset.true = String(mistake.true);
  figure.dataset.predicted = String(mistake.predicted);
  const canvas = html("canvas", "mistake-canvas");
  canvas.width = 28;
  canvas.height = 28;
  canvas.setAttribute("role", "img");
  canvas.setAttribute(
    "aria-label",
    `Test digit ${mistake.index}: ${withArticle(mistake.true)} the network read as ${mistake.predicted}, ${percent(mistake.confidence, 0)} sure`,
  );
  paintGrey(canvas, mistake.pixels);
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
}

/** Fill `box` with the report's misclassified digits, or say there are none. */
export function drawMistakes(box, report) {
  const mistakes = report.mistakes;
  if (!mistakes || mistakes.length === 0) {
    showMessage(box, "This weight file stores no misclassified digits.");
    setState(box, "empty");
    return;
  }
  box.replaceChildren(...mistakes.map(mistakeFigure));
  setState(box, "ready");
}

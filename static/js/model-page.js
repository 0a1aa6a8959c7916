// Entry module of the model page (templates/model.html): one report fetch, then every chart
// the page did not bring with it (the training curves come server-drawn, in the HTML).

import { REPORT_URL, getJson } from "./api.js";
import { drawConfusion, drawPerClass } from "./charts.js";
import { onColorSchemeChange, setState, showMessage } from "./dom.js";
import { drawMistakes } from "./mistakes.js";
import { initScrollRegions } from "./scroll-regions.js";
import { initWeightsGrid } from "./weights.js";

const byId = (id) => document.getElementById(id);
const confusionBox = byId("confusion");
const perClassBox = byId("per-class");
const mistakesBox = byId("mistakes");
const weights = initWeightsGrid(byId("weights-grid"), byId("weights-caption"), byId("tile-marker"));
initScrollRegions(); // the architecture, config and checksum tables

async function main() {
  let report;
  try {
    report = await getJson(REPORT_URL);
  } catch (error) {
    for (const box of [confusionBox, perClassBox, mistakesBox]) {
      showMessage(box, `Couldn't load the model report (${error.message}).`);
      setState(box, "error");
    }
    weights.showError();
    return;
  }
  drawConfusion(confusionBox, report);
  drawPerClass(perClassBox, report);
  drawMistakes(mistakesBox, report);
  weights.draw(report);
  onColorSchemeChange(() => weights.draw(report));
}

main();

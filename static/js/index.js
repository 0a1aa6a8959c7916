// Entry module of the drawing page (templates/index.html): wires pad, prediction and explain.

import { initExplain } from "./explain.js";
import { initPad } from "./pad.js";
import { initPrediction } from "./predict.js";

const inside = initExplain();
// The pad reports changes only on user input, so after this module has run and `prediction`
// exists.
const pad = initPad({ onChange: (change) => prediction.drawingChanged(change) });
const prediction = initPrediction({ drawing: pad, inside });

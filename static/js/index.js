// Entry module of the drawing page (templates/index.html): wires the pad, the mode switch, the
// two live answers (one digit: predict.js, a number: number.js), the look inside and the profile.

import { initExplain } from "./explain.js";
import { DIGIT_MODE, NUMBER_MODE, initModeSwitch } from "./mode.js";
import { initNumberReading } from "./number.js";
import { initPad } from "./pad.js";
import { initPrediction } from "./predict.js";
import { initProfile } from "./profile.js";

const inside = initExplain();
// The pad reports changes only on user input, so after this module has run and everything it
// calls exists.
const pad = initPad({
  onChange(change) {
    reading().drawingChanged(change);
    profile.drawingChanged(pad.hasInk());
  },
});
const modes = initModeSwitch({ onSwitch: switchMode });
const profile = initProfile({
  drawing: pad,
  onTeach: () => modes.set(DIGIT_MODE),
  onSaved: () => digit.refresh(), // the next answer already reads with the new example
});
const digit = initPrediction({
  drawing: pad,
  inside,
  postReading: profile.postReading,
  onReadAsNumber() {
    modes.set(NUMBER_MODE); // the drawing stays, at the left of the wide pad
    document.getElementById("mode-number").focus();
  },
});
const number = initNumberReading({ drawing: pad, postReading: profile.postReading });

/** The live answer of the mode on show. */
function reading() {
  return modes.current() === NUMBER_MODE ? number : digit;
}

/** A new mode: the other answer stops, the pad takes its shape, this one asks at once. */
function switchMode(mode, aspect) {
  if (mode === NUMBER_MODE) {
    digit.stop();
    inside.hide();
  } else {
    number.stop();
    number.reset();
  }
  pad.setAspect(aspect);
  profile.modeChanged(mode, pad.hasInk());
  reading().refresh();
}

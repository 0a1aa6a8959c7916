// The mode switch: read one digit on the square pad, or a whole number on a wide one.

export const DIGIT_MODE = "digit";
export const NUMBER_MODE = "number";

// What changes with the mode besides the answer: the pad's shape (width / height) and words.
const MODES = {
  [DIGIT_MODE]: {
    aspect: 1,
    heading: "Draw a digit",
    placeholder: "draw 0–9 here",
    padLabel: "Drawing area. Draw a single digit from 0 to 9.",
  },
  [NUMBER_MODE]: {
    aspect: 3,
    heading: "Write a number",
    placeholder: "write a number here",
    padLabel: "Wide drawing area. Write a number, its digits side by side.",
  },
};

/**
 * Start the switch (#mode-digit, #mode-number: toggle buttons, aria-pressed). The mode is kept
 * as data-mode on .workspace, which the stylesheet reads (the pad's shape, which cards show).
 * `onSwitch(mode, aspect)` runs after every change. Returns {current(), set(mode)}.
 */
export function initModeSwitch({ onSwitch }) {
  const workspace = document.querySelector(".workspace");
  const heading = document.getElementById("pad-heading");
  const placeholder = document.getElementById("pad-placeholder");
  const pad = document.getElementById("pad");
  const buttons = {
    [DIGIT_MODE]: document.getElementById("mode-digit"),
    [NUMBER_MODE]: document.getElementById("mode-number"),
  };
  let mode = DIGIT_MODE;

  function set(newMode) {
    if (newMode === mode || !(newMode in MODES)) return;
    mode = newMode;
    const words = MODES[mode];
    workspace.dataset.mode = mode;
    for (const [name, button] of Object.entries(buttons)) {
      button.setAttribute("aria-pressed", String(name === mode));
    }
    heading.textContent = words.heading;
    placeholder.textContent = words.placeholder;
    pad.setAttribute("aria-label", words.padLabel);
    onSwitch(mode, words.aspect);
  }

  for (const [name, button] of Object.entries(buttons)) {
    button.addEventListener("click", () => set(name));
  }
  return { current: () => mode, set };
}

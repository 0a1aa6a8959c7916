// DOM helpers shared by both pages: element builders, a loading box's state, light/dark.

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element with attributes, appended to `parent` when given. */
export function svg(tag, attributes = {}, parent = null) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, String(value));
  }
  if (parent) parent.appendChild(element);
  return element;
}

/** An HTML element with an optional class and text. */
export function html(tag, className = "", text = "") {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text) element.textContent = text;
  return element;
}

/** A box that was loading is done: `state` (ready, empty or error) goes to data-state, which
    the tests and the CSS read, and the box is no longer aria-busy. */
export function setState(box, state) {
  box.dataset.state = state;
  box.removeAttribute("aria-busy");
}

/** Replace what a box shows with one line of text. */
export function showMessage(box, text) {
  box.replaceChildren(html("p", "chart-message", text));
}

/** Call `callback` whenever the system switches between light and dark. */
export function onColorSchemeChange(callback) {
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", callback);
}

// The one painter of 28x28 images onto canvases, for both pages (grey, heatmap, change).

const SIDE = 28; // one canvas pixel per image pixel; the CSS scales the canvas up, pixelated
const HEAT_POSITIVE = [239, 68, 68]; // red: more ink here raises the score
const HEAT_NEGATIVE = [59, 130, 246]; // blue: lowers it

/** Fill the canvas from `rows` (28 rows of 28 values); `rgba(value, x, y)` gives each pixel. */
function paint(canvas, rows, rgba) {
  const context = canvas.getContext("2d");
  const image = context.createImageData(SIDE, SIDE);
  rows.forEach((row, y) => {
    row.forEach((value, x) => {
      image.data.set(rgba(value, x, y), (y * SIDE + x) * 4);
    });
  });
  context.putImageData(image, 0, 0);
}

/** A grey image (0..255, ink high), light on dark. */
export function paintGrey(canvas, pixels) {
  paint(canvas, pixels, (value) => [value, value, value, 255]);
}

/** A signed map, red where positive and blue where negative, on a transparent canvas (it lies
    over the preview); opacity grows with |value| / the map's peak. */
export function paintHeatmap(canvas, map) {
  let peak = 0;
  for (const row of map) for (const value of row) peak = Math.max(peak, Math.abs(value));
  paint(canvas, map, (value) => {
    const colour = value >= 0 ? HEAT_POSITIVE : HEAT_NEGATIVE;
    // A gentle power curve, so moderate values stay visible next to the peak.
    const alpha = peak > 0 ? Math.round(235 * (Math.abs(value) / peak) ** 0.7) : 0;
    return [colour[0], colour[1], colour[2], alpha];
  });
}

/** perturbed - original: red where ink was added, blue where it was taken away, full colour at
    a change of `linf`. */
export function paintChange(canvas, original, perturbed, linf) {
  paint(canvas, perturbed, (value, x, y) => {
    const change = value - original[y][x];
    const colour = change >= 0 ? HEAT_POSITIVE : HEAT_NEGATIVE;
    const strength = linf > 0 ? Math.abs(change) / linf : 0;
    return [colour[0] * strength, colour[1] * strength, colour[2] * strength, 255];
  });
}

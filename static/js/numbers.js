// Number formats and checks shared by both pages.

/** `x` rounded down to a multiple of `step`. The epsilon keeps 0.57 * 100 = 56.99999999999999
    from becoming 56. */
export const floorTo = (x, step) => Math.floor(x / step + 1e-9) * step;

/** A probability as a whole percentage rounded down, so 99.7% reads "99%" and only a certain
    answer reads "100%" (the drawing page). */
export const percentDown = (p) => `${floorTo(p * 100, 1)}%`;

/** A fraction as a percentage with `digits` decimals, rounded (the model page). */
export const percent = (value, digits = 1) => `${(value * 100).toFixed(digits)}%`;

/** A real number, not null, NaN or infinite (gaps in a training curve). */
export const finite = (value) => typeof value === "number" && Number.isFinite(value);

/** A digit or a number in a sentence, with its article: "a 7", "an 8", "an 11", "an 18",
    "an 80". English reads a number from its leading group of up to three digits (eighteen
    thousand, eleven million), so that group decides: eight..., eleven and eighteen take "an". */
export function withArticle(value) {
  const text = String(value);
  if (!/^\d+$/.test(text) || text.startsWith("0")) return `a ${text}`;
  const lead = text.slice(0, text.length % 3 || 3);
  const vowelSound = lead.startsWith("8") || lead === "11" || lead === "18";
  return `${vowelSound ? "an" : "a"} ${text}`;
}

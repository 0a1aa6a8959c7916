// The server's JSON endpoints the pages call, and the ways they call them.

export const PREDICT_URL = "/api/predict";
export const NUMBER_URL = "/api/number";
export const EXPLAIN_URL = "/api/explain";
export const ATTACK_URL = "/api/adversarial";
export const REPORT_URL = "/api/model/report";
export const PROFILES_URL = "/api/profiles";
export const EXAMPLES_URL = "/api/examples";
const OPENAPI_URL = "/openapi.json";

// The most strokes and [x, y] points each endpoint takes (app/schemas.py); a drawing with more
// is sent without its strokes, which are a help, never required.
export const NUMBER_STROKE_LIMITS = { strokes: 200, points: 20000 };
export const EXAMPLE_STROKE_LIMITS = { strokes: 100, points: 10000 };

/** POST `payload` as JSON; resolves to the Response, whatever its status. */
export function postJson(url, payload, signal) {
  return fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(payload),
    signal,
  });
}

/** A response's body as JSON, or {} when it is not JSON (an error page from a proxy). */
export function readJson(response) {
  return response.json().catch(() => ({}));
}

/** GET a JSON body; throws Error("HTTP <status>") unless the answer is 2xx. */
export async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

/** Any request with an optional JSON payload; resolves to {ok, status, body} (body {} when
    there is none, as after 204), or {ok: false, status: 0} when no answer came at all. */
export async function call(method, url, payload = undefined) {
  const init = { method, headers: { Accept: "application/json" } };
  if (payload !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(payload);
  }
  try {
    const response = await fetch(url, init);
    const body = response.status === 204 ? {} : await readJson(response);
    return { ok: response.ok, status: response.status, body };
  } catch {
    return { ok: false, status: 0, body: {} };
  }
}

/** `strokes` if they are within `limits` ({strokes, points}), else undefined (left out). */
export function boundedStrokes(strokes, limits) {
  const points = strokes.reduce((total, stroke) => total + stroke.length, 0);
  const within = strokes.length > 0 && strokes.length <= limits.strokes && points <= limits.points;
  return within ? strokes : undefined;
}

let schema = null; // the promise of the server's OpenAPI document, fetched once

/** Does the JSON body of POST `path` take a field `name`, by the server's own OpenAPI schema?
    Resolves to false when the schema cannot be read. Lets the page send a new optional field
    only to a server that accepts it (the bodies refuse unknown fields with 422). */
export async function acceptsField(path, name) {
  if (schema === null) schema = getJson(OPENAPI_URL).catch(() => ({}));
  const document = await schema;
  let body = document.paths?.[path]?.post?.requestBody?.content?.["application/json"]?.schema;
  const reference = body && body.$ref; // "#/components/schemas/Name"
  if (typeof reference === "string") body = document.components?.schemas?.[reference.split("/").pop()];
  return Boolean(body && body.properties && name in body.properties);
}

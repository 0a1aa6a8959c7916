// The server's JSON endpoints the pages call, and the two ways they call them.

export const PREDICT_URL = "/api/predict";
export const EXPLAIN_URL = "/api/explain";
export const ATTACK_URL = "/api/adversarial";
export const REPORT_URL = "/api/model/report";

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

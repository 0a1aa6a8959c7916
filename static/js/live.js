// The live round trip, shared by both modes: ask the server about the drawing while it changes.

const ASK_DELAY_MS = 120; // live updates while drawing, at most ~8 requests a second

/**
 * Keep an answer about the drawing up to date. At most one request is in flight; while a stroke
 * is being drawn one goes out at most every ASK_DELAY_MS, when a stroke ends at once; when a
 * request returns and the drawing has changed meanwhile, the newest drawing is sent at once.
 * `version` counts changes, so an answer can tell whether it still describes what is on the
 * pad. An empty pad is never sent (the server would answer "no ink"); clearing aborts.
 *
 * `drawing` is the pad ({hasInk}). `ask(signal)` sends the drawing and resolves to
 * {ok, status, body} (it may throw when there is no answer at all). `view` shows the outcome:
 *   changed(version, hasInk)        every change, before anything is asked
 *   pending()                       a request is due or on its way
 *   empty()                         nothing on the pad
 *   answer(body, current, version)  an answer; `current` when it describes the pad
 *   failed(status, error, current)  no usable answer; status 0: no answer at all; `error`
 *                                   is the server's error body ({detail, code}) or null
 * Returns {drawingChanged({immediate}), refresh(), stop()}: refresh asks again at once about
 * the same drawing (a new mode, a new profile); stop drops whatever is on its way.
 */
export function liveAnswers({ drawing, ask, view }) {
  let version = 0;
  let inFlight = null; // {controller: AbortController, version: number}
  let timer = null;

  function drawingChanged({ immediate }) {
    version += 1;
    view.changed(version, drawing.hasInk());
    if (!drawing.hasInk()) {
      stop();
      view.empty();
      return;
    }
    view.pending();
    if (immediate) {
      clearTimeout(timer);
      timer = null;
      request();
    } else if (timer === null) {
      timer = setTimeout(() => {
        timer = null;
        request();
      }, ASK_DELAY_MS);
    }
  }

  function stop() {
    clearTimeout(timer);
    timer = null;
    if (inFlight !== null) {
      inFlight.controller.abort();
      inFlight = null;
    }
  }

  async function request() {
    if (inFlight !== null) return; // sent again when the current request returns
    const sent = { controller: new AbortController(), version };
    inFlight = sent;
    try {
      const { ok, status, body } = await ask(sent.controller.signal);
      if (inFlight !== sent) return; // cleared or stopped while waiting
      const current = sent.version === version;
      if (ok) {
        view.answer(body, current, sent.version);
      } else {
        view.failed(status, body ?? null, current); // the whole body: its code, not just words
      }
    } catch {
      if (inFlight !== sent) return; // aborted by a clear, or cleared while failing
      view.failed(0, null, sent.version === version);
    } finally {
      if (inFlight === sent) {
        inFlight = null;
        if (sent.version !== version && drawing.hasInk()) request();
      }
    }
  }

  return {
    drawingChanged,
    refresh: () => drawingChanged({ immediate: true }),
    stop,
  };
}

// The browser's own profile: corrections ("Wrong? It was a ..."), the "Your handwriting" panel
// with its counts, the "Teach me" round, and "Forget me".

import {
  EXAMPLES_URL,
  EXAMPLE_STROKE_LIMITS,
  PREDICT_URL,
  PROFILES_URL,
  acceptsField,
  boundedStrokes,
  call,
  postJson,
} from "./api.js";
import { withArticle } from "./numbers.js";

// A profile is a random id from POST /api/profiles, kept in this browser only, one for all its
// tabs: localStorage is the one place the id lives, read again at each use. Examples go to
// POST /api/examples with it; GET /api/profiles/{id} counts them per digit; DELETE removes the
// profile and its examples. The server answers 404 for an id it does not know (deleted, or
// another server's), 503 when it cannot store anything: prediction goes on regardless.
const STORAGE_KEY = "digits.profile";
// What the server takes as a profile id (app/store/base.py PROFILE_ID, app/schemas.py
// MAX_PROFILE_ID): URL-safe base64 text, 1 to 64 characters; its own ids have 22. Anything else
// in storage (emptied, cut short, edited by hand) can never be a profile, and sent along it
// would make every request a 422.
const PROFILE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const THANKS_MS = 4000; // how long "Thanks: saved as a 7" stays
const STORE_DOWN =
  "The server can't store examples right now, so corrections are off. Reading digits still works.";

const isProfileId = (value) => typeof value === "string" && PROFILE_ID.test(value);

/** What this browser stores as its profile id: the id, null when there is none, or undefined
    when the browser refuses storage. A stored value that cannot be an id is dropped, so it is
    never sent and never comes back. */
function readStored() {
  let id = null;
  try {
    id = localStorage.getItem(STORAGE_KEY);
  } catch {
    return undefined;
  }
  if (id === null || isProfileId(id)) return id;
  keepId(null);
  return null;
}

/** The stored profile id, or null (also when the browser refuses storage). */
function storedId() {
  return readStored() ?? null;
}

/** Keep `id` in this browser, or forget it (null); false when the browser refused. */
function keepId(id) {
  try {
    if (id === null) localStorage.removeItem(STORAGE_KEY);
    else localStorage.setItem(STORAGE_KEY, id);
    return true;
  } catch {
    // Storage refused (a private window, a policy): the profile lasts as long as the page.
    return false;
  }
}

// One profile per browser, however many tabs: a tab makes one only while holding this lock (Web
// Locks, shared by the origin's tabs), after reading localStorage again. Without Web Locks (an
// insecure context, an old browser) the check after POST /api/profiles still keeps one.
const LOCK_NAME = "digits.profile.create";
// Where a tab tells the others it stored an example ({stored: id}), so that their panels count
// it too: the id is the same, so localStorage does not change and no storage event comes.
const CHANNEL_NAME = "digits.profile";

/** Run `task` holding LOCK_NAME, or without the lock where the browser has none. */
async function withCreateLock(task) {
  const locks = typeof navigator === "undefined" ? undefined : navigator.locks;
  if (!locks || typeof locks.request !== "function") return task();
  let ran = false;
  try {
    return await locks.request(LOCK_NAME, () => {
      ran = true;
      return task();
    });
  } catch (error) {
    if (ran) throw error;
    return task(); // the lock itself was refused (an opaque origin): go on without it
  }
}

const plural = (count, noun) => `${count} ${noun}${count === 1 ? "" : "s"}`;

/** What went wrong with a store request, for people; 503 is handled before this. */
function storeFailure(status, detail) {
  if (status === 0) return "Can't reach the server.";
  if (status === 429) return "Your profile is full: it holds as many examples as one may.";
  if (status === 403) return "The server's storage is full, so it can't keep more examples.";
  return `The server refused it (${typeof detail === "string" ? detail : `error ${status}`}).`;
}

/**
 * Start the profile. `drawing` is the pad ({hasInk, exportImage, exportStrokes, clear});
 * `onTeach()` runs when a "Teach me" round starts (it needs digit mode); `onSaved()` after each
 * correction is stored (the answer is asked again, now with the profile). Returns
 * {postReading(url, payload, signal), drawingChanged(hasInk), modeChanged(mode)}.
 */
export function initProfile({ drawing, onTeach, onSaved }) {
  const byId = (id) => document.getElementById(id);
  const correctButtons = Array.from({ length: 10 }, (_, digit) => byId(`correct-${digit}`));
  const correctionStatus = byId("correction-status");
  const summary = byId("profile-summary");
  const usage = byId("profile-usage");
  const countRows = Array.from({ length: 10 }, (_, digit) => byId(`profile-count-${digit}`));
  const profileStatus = byId("profile-status");
  const teachButton = byId("teach");
  const forgetButton = byId("forget");
  const forgetConfirm = byId("forget-confirm");
  const forgetQuestion = byId("forget-question");
  const forgetYes = byId("forget-yes");
  const forgetNo = byId("forget-no");
  const teachBar = byId("teach-bar");
  const teachPrompt = byId("teach-prompt");
  const teachProgress = byId("teach-progress");
  const teachStatus = byId("teach-status");
  const teachNext = byId("teach-next");
  const teachSkip = byId("teach-skip");
  const teachStop = byId("teach-stop");

  // The id as this page last saw it in localStorage. Every use reads localStorage again first
  // (currentId): another tab of this browser may have made the profile, or forgotten it, since.
  let id = storedId();
  let memoryOnly = false; // the browser refused to store the id: this page alone holds it
  // Examples stored per digit; null while the server has not told (not yet, or it could not):
  // without an id nothing is stored, with one the panel must not claim a number it does not know.
  let counts = id === null ? new Array(10).fill(0) : null;
  let countsAsked = false; // the first look-up of the counts has answered
  let countsAsks = 0; // look-ups of the counts so far: only the latest one's answer is shown
  let storeDown = false; // the store answered 503: corrections are off for this visit
  let busy = false; // an example is on its way
  let hasInk = false;
  let digitMode = true;
  let teaching = null; // {digit, saved} during a "Teach me" round
  let thanksTimer = null;

  // ---- what the panel and the buttons show -------------------------------------------------

  const total = () => (counts === null ? 0 : counts.reduce((sum, count) => sum + count, 0));

  /** The summary line: what the panel knows of the stored examples. */
  function summaryText() {
    if (counts === null) {
      return countsAsked
        ? "Your examples' counts can't be read right now."
        : "Reading your examples' counts…";
    }
    return total() === 0
      ? "Nothing stored yet. Correct a wrong answer, or teach me your digits in a short round."
      : `${plural(total(), "example")} of your handwriting stored.`;
  }

  /** The counts per digit and the summary, after they changed. An unknown count shows a dash
      and an empty data-count, never a 0 it cannot vouch for. */
  function showCounts() {
    countRows.forEach((row, digit) => {
      const count = counts === null ? "" : String(counts[digit]);
      row.dataset.count = count;
      row.querySelector(".profile-count-value").textContent = count || "–";
    });
    summary.textContent = summaryText();
    showUsage();
    render();
  }

  /** Which buttons work now. */
  function render() {
    forgetButton.disabled = id === null || storeDown;
    teachButton.disabled = storeDown || teaching !== null;
    const canSave = hasInk && digitMode && !storeDown && !busy;
    for (const button of correctButtons) {
      button.disabled = !canSave;
      button.title = storeDown ? STORE_DOWN : "";
    }
    teachNext.disabled = !canSave;
  }

  /** Whether the network reads with the examples yet: only if the server takes a profile. */
  async function showUsage() {
    if (total() === 0 || id === null) {
      usage.textContent = "";
      return;
    }
    const used = await acceptsField(PREDICT_URL, "profile");
    usage.textContent = used
      ? "The network reads your drawings with them in mind."
      : "They are kept to learn from; the network doesn't read with them yet.";
  }

  function sayThanks(text) {
    clearTimeout(thanksTimer);
    correctionStatus.classList.remove("is-error");
    correctionStatus.textContent = text;
    thanksTimer = setTimeout(() => {
      if (correctionStatus.textContent === text) correctionStatus.textContent = "";
    }, THANKS_MS);
  }

  function sayProblem(line, text) {
    clearTimeout(thanksTimer);
    line.classList.add("is-error");
    line.textContent = text;
  }

  function storeUnavailable() {
    storeDown = true;
    profileStatus.classList.add("is-error");
    profileStatus.textContent = STORE_DOWN;
    correctionStatus.classList.add("is-error");
    correctionStatus.textContent = "Corrections are off: the server can't store examples right now.";
    stopTeaching();
    render();
  }

  // ---- talking to the store ----------------------------------------------------------------

  /** The profile id as stored now, adopted when another tab changed it; null when there is
      none. Where the browser refuses storage, the id this page holds. */
  function currentId() {
    if (memoryOnly) return id;
    const stored = readStored();
    if (stored !== undefined) adopt(stored);
    return id;
  }

  /** Take `next` (from storage: another tab made a profile, or forgot it) as this page's id.
      The panel shows the new profile's counts, or none without one. */
  function adopt(next) {
    if (next === id) return;
    id = next;
    counts = id === null ? new Array(10).fill(0) : null;
    countsAsked = false;
    if (!forgetConfirm.hidden && !forgetYes.disabled) {
      // The question was about the profile held before: ask again if need be.
      const focused = forgetConfirm.contains(document.activeElement);
      closeConfirm();
      render();
      if (focused) (forgetButton.disabled ? teachButton : forgetButton).focus();
    }
    showCounts();
    refreshCounts();
  }

  /** Keep `next` in this page and this browser (null: forget it). */
  function keep(next) {
    id = next;
    const kept = keepId(next);
    if (next !== null && !kept) memoryOnly = true;
    else if (next === null && kept) memoryOnly = false;
  }

  function forgetLocally() {
    keep(null);
    counts = new Array(10).fill(0);
  }

  /** The server no longer has `profile` (404) or refuses it (422): drop it, unless the stored
      id is another one by now (a new profile made in another tab). */
  function drop(profile) {
    if (currentId() !== profile) return;
    forgetLocally();
    showCounts();
  }

  /** Counts per digit from the server; false when it could not tell. */
  async function loadCounts() {
    const asked = currentId();
    if (asked === null) return true;
    countsAsks += 1;
    const ask = countsAsks;
    const result = await call("GET", `${PROFILES_URL}/${encodeURIComponent(asked)}`);
    if (ask !== countsAsks || asked !== currentId()) return true; // a newer look-up, another id
    countsAsked = true;
    let known = true;
    if (result.ok && Array.isArray(result.body.per_digit) && result.body.per_digit.length === 10) {
      counts = result.body.per_digit.map(Number);
    } else if (result.status === 404 || result.status === 422) {
      // The server does not know it (404), or it cannot be an id there (422, the only input is
      // the id): drop it; a new one is made at the next example.
      forgetLocally();
    } else if (result.status === 503) {
      storeUnavailable(); // the counts stay unknown, and the panel says so
    } else {
      known = false;
    }
    showCounts();
    return known;
  }

  /** Look the counts up, and say so when the server could not tell. */
  function refreshCounts() {
    loadCounts().then((known) => {
      if (!known) sayProblem(profileStatus, "Couldn't read your examples' counts from the server.");
    });
  }

  /** This browser's profile id: the stored one, else made now; null when the store refused.
      Made under the lock, and checked again once made: when another tab stored one meanwhile,
      that one is used and the new one deleted before anything is stored in it. */
  async function ensureProfile(line) {
    const known = currentId();
    if (known !== null) return known;
    return withCreateLock(async () => {
      const meanwhile = currentId(); // made by the tab that held the lock before this one
      if (meanwhile !== null) return meanwhile;
      const result = await call("POST", PROFILES_URL);
      if (result.ok && isProfileId(result.body.profile)) {
        const made = result.body.profile;
        const other = currentId();
        if (other !== null) {
          // Another tab made one at the same moment (no lock between them): one per browser.
          await call("DELETE", `${PROFILES_URL}/${encodeURIComponent(made)}`);
          return other;
        }
        keep(made);
        return made;
      }
      if (result.status === 503) storeUnavailable();
      else sayProblem(line, `Couldn't start your profile. ${storeFailure(result.status, result.body.detail)}`);
      return null;
    });
  }

  /** Store what is on the pad as an example of `label`; true when stored. Messages go to
      `line`. */
  async function saveExample(label, line) {
    if (busy) return false; // a double click stores one example, not two
    const image = drawing.exportImage();
    const strokes = boundedStrokes(drawing.exportStrokes(), EXAMPLE_STROKE_LIMITS);
    busy = true;
    render();
    try {
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const profile = await ensureProfile(line);
        if (profile === null) return false;
        const result = await call("POST", EXAMPLES_URL, { image, label, profile, strokes });
        if (result.ok) {
          // Until the server's own count comes back.
          if (counts !== null && profile === id) counts[label] += 1;
          showCounts();
          channel?.postMessage({ stored: profile });
          await loadCounts();
          return true;
        }
        if (result.status === 404 && attempt === 0) {
          // Deleted elsewhere ("Forget me" in another tab): take the profile stored since, or
          // start a new one, and try once more.
          drop(profile);
          continue;
        }
        if (result.status === 503) storeUnavailable();
        else sayProblem(line, `Couldn't save it. ${storeFailure(result.status, result.body.detail)}`);
        return false;
      }
      return false;
    } finally {
      busy = false;
      render();
    }
  }

  // ---- corrections -------------------------------------------------------------------------

  correctButtons.forEach((button, label) => {
    button.addEventListener("click", async () => {
      if (button.disabled) return;
      if (await saveExample(label, correctionStatus)) {
        sayThanks(`Thanks: saved as ${withArticle(label)}.`);
        onSaved();
      }
    });
  });

  // ---- "Teach me": each digit in turn ------------------------------------------------------

  function showTeachStep() {
    teachPrompt.textContent = `Draw ${withArticle(teaching.digit)}`;
    teachProgress.textContent = `${teaching.digit + 1} of 10`;
    teachStatus.textContent = "";
    teachStatus.classList.remove("is-error");
    render();
  }

  function startTeaching() {
    if (storeDown) return;
    onTeach();
    teaching = { digit: 0, saved: 0 };
    drawing.clear();
    teachBar.hidden = false;
    profileStatus.textContent = "";
    showTeachStep();
    byId("pad").scrollIntoView({ block: "center" });
    teachPrompt.focus({ preventScroll: true });
  }

  function stopTeaching() {
    if (teaching === null) return;
    const saved = teaching.saved;
    teaching = null;
    teachBar.hidden = true;
    if (!storeDown) {
      profileStatus.classList.remove("is-error");
      profileStatus.textContent = saved > 0 ? `Thanks: ${plural(saved, "new example")}.` : "";
    }
    render();
  }

  function nextStep() {
    drawing.clear();
    if (teaching.digit === 9) {
      stopTeaching();
      teachButton.focus();
      return;
    }
    teaching.digit += 1;
    showTeachStep();
  }

  teachButton.addEventListener("click", startTeaching);
  teachSkip.addEventListener("click", () => teaching !== null && nextStep());
  teachStop.addEventListener("click", () => {
    stopTeaching();
    teachButton.focus();
  });
  teachNext.addEventListener("click", async () => {
    if (teaching === null || !drawing.hasInk()) return;
    const round = teaching;
    if ((await saveExample(round.digit, teachStatus)) && teaching === round) {
      round.saved += 1;
      nextStep();
    }
  });

  // ---- "Forget me", after an inline confirmation ---------------------------------------------

  forgetButton.addEventListener("click", () => {
    forgetQuestion.textContent =
      counts === null ? "Delete your examples?" : `Delete ${plural(total(), "example")}?`;
    forgetConfirm.hidden = false;
    forgetButton.hidden = true;
    forgetNo.focus();
  });

  function closeConfirm() {
    forgetConfirm.hidden = true;
    forgetButton.hidden = false;
  }

  function answerNo() {
    closeConfirm();
    forgetButton.focus();
  }

  forgetNo.addEventListener("click", answerNo);

  // Escape answers "No" while the question is open, and the pad must not take it as "clear the
  // drawing": this listener runs in the capture phase, before the pad's, and the pad leaves a
  // key already handled alone. Once "Yes" is on its way there is nothing left to cancel.
  document.addEventListener(
    "keydown",
    (event) => {
      if (event.key !== "Escape" || event.isComposing || forgetConfirm.hidden) return;
      event.preventDefault();
      if (!forgetYes.disabled) answerNo();
    },
    true,
  );

  forgetYes.addEventListener("click", async () => {
    const profile = currentId();
    if (profile === null) {
      closeConfirm();
      return;
    }
    forgetYes.disabled = true;
    const result = await call("DELETE", `${PROFILES_URL}/${encodeURIComponent(profile)}`);
    forgetYes.disabled = false;
    closeConfirm();
    if (result.ok || result.status === 404 || result.status === 422) {
      // 404: already gone from the server; 422: never could be there. Either way nothing of it
      // is left. Removing it from localStorage tells the other tabs (their storage event).
      drop(profile);
      stopTeaching();
      profileStatus.classList.remove("is-error");
      profileStatus.textContent =
        id === null
          ? "Forgotten: your examples are deleted from the server and the id from this browser."
          : "Those examples are deleted, but another tab has started a new profile since.";
      showCounts();
      teachButton.focus();
    } else if (result.status === 503) {
      storeUnavailable();
    } else {
      sayProblem(profileStatus, `Nothing was deleted. ${storeFailure(result.status, result.body.detail)}`);
      forgetButton.focus();
    }
  });

  // ---- what the rest of the page asks and tells ----------------------------------------------

  /** The id to send with a request to `url`, when there is one and the endpoint takes it. */
  async function profileFor(url) {
    if (storeDown || currentId() === null) return undefined;
    const accepted = await acceptsField(url, "profile");
    const profile = currentId(); // forgotten, or another tab's, meanwhile
    return accepted && profile !== null ? profile : undefined;
  }

  /** POST a reading request (/api/predict, /api/number) with this browser's profile when the
      endpoint takes one. A profile must never stop the reading: when the server no longer knows
      it (404, deleted in another tab), refuses it (422) or cannot reach its store (503), the
      same request goes again without it, and the profile is dropped (404, 422) or left aside
      for this visit (503). A 422 may also be the drawing's fault (no ink): only when the
      request without the profile is not refused as well was it the profile's. */
  async function postReading(url, payload, signal) {
    const profile = await profileFor(url);
    if (profile === undefined) return postJson(url, payload, signal);
    const response = await postJson(url, { ...payload, profile }, signal);
    if (![404, 422, 503].includes(response.status)) return response;
    const again = await postJson(url, payload, signal);
    if (profile === currentId()) {
      if (response.status === 503) storeUnavailable();
      else if (response.status === 404 || again.status !== 422) drop(profile);
    }
    return again;
  }

  function drawingChanged(ink) {
    hasInk = ink;
    render();
  }

  function modeChanged(mode, ink) {
    digitMode = mode === "digit";
    hasInk = ink;
    if (!digitMode) stopTeaching();
    render();
  }

  // ---- other tabs of this browser ------------------------------------------------------------

  // Another tab stored a new id or removed it ("Forget me"): take it at once, so the panel shows
  // that profile (or none) and the readings go with it (or without any). key null: cleared.
  window.addEventListener("storage", (event) => {
    if (event.key === null || event.key === STORAGE_KEY) currentId();
  });
  const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(CHANNEL_NAME) : null;
  channel?.addEventListener("message", (event) => {
    const profile = currentId();
    if (profile !== null && event.data?.stored === profile) refreshCounts();
  });
  // Back from the back-forward cache, the page missed the storage events of its time there.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) currentId();
  });

  showCounts();
  refreshCounts();
  return { postReading, drawingChanged, modeChanged };
}

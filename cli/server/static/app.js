// The page over /api: plain JS, no build step, no network beyond this server, nothing inline (a strict CSP holds).
// Every view lives in the URL (?view=…&painting=…&result=…&pair=…&artist=…&open=…): Back, Forward and a
// copied link show the same view. Uploads are never put in a URL: the server keeps their answer under a result id.
"use strict";

const $ = (sel) => document.querySelector(sel);
const TOKEN_KEY = "engine-serve-token";
const UNCERTAIN = [1 / 3, 2 / 3];  // a same-hand probability inside this band is shown as "uncertain" (no verdict)

function fixed(value, digits = 3) {  // a number the server sent, or a dash: fields are read by name and may come and go
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
}

const ROW_HEIGHT = 170;  // the justified grid's target row height, px
const PARAMS = ["view", "result", "painting", "pair", "artist", "open", "k", "by", "style", "date", "colour"];
let collectionSize = null;
let pendingToken = null;
let searches = 0;  // drawn searches, as #results[data-searches] (a finished search is observable)
let latestSearch = 0;  // the search started last: only its answer is drawn
let lastFile = null;  // the picture last searched for, to search again when the filters change
let exportable = { search: [], artist: [], map: [] };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "style") node.style.cssText = value;  // CSSOM: the CSP refuses style attributes, not this
    else if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

// ---- the server -------------------------------------------------------------------------------------

class PageError extends Error {
  constructor(message, detail) { super(message); this.detail = detail; }
}

// What went wrong, in words for someone using a browser (the server's own line speaks to its operator).
function friendly(status, serverMessage) {
  const m = (serverMessage || "").toLowerCase();
  if (status === 0) return "The server could not be reached. Check your connection and reload the page.";
  if (status === 413 || m.includes("too many pixels") || m.includes("too large")) return "This picture is too large for the server. Try a smaller copy of it.";
  if (status === 415 || m.includes("not an image")) return "This file is not a picture the server can read. Choose a JPEG, PNG, TIFF or WebP image.";
  if (m.includes("truncated") || m.includes("corrupt") || m.includes("is empty")) return "This picture file is damaged or incomplete. Try another copy of it.";
  if (m.includes("no longer kept")) return "This result is no longer kept by the server (it was restarted, or the result is old). Please search again.";
  if (m.includes("no artist called")) return "There is no artist of that name in this collection.";
  if (m.includes("no painting with id")) return "There is no painting with that catalogue number in this collection.";
  if (m.includes("gone from disk") || m.includes("cannot be read")) return "The file of this painting is missing on the server, so it cannot be shown.";
  if (m.includes("calibrat") || m.includes("threshold")) return "This server's model cannot judge pairs of paintings yet.";
  if (m.includes("umap") || m.includes("opentsne")) return "The map is not available on this server yet.";
  if (status === 503 || m.includes("nothing indexed")) return "The collection is empty: no paintings have been added yet.";
  if (status === 401) return "This collection needs an access code.";
  if (status === 404) return "That page or painting could not be found.";
  if (status === 422 || status === 400) return "Something in the search settings is not valid. Check the numbers and try again.";
  if (status >= 500) return "The server ran into a problem. Please try again in a moment.";
  return `The request failed (${status}).`;
}

function askToken(wrong) {  // one dialog, however many requests were refused at once
  pendingToken = pendingToken || new Promise((resolve) => {
    const dialog = $("#token-dialog");
    $("#token-error").hidden = !wrong;
    $("#token-input").value = "";
    dialog.addEventListener("close", () => {
      const token = $("#token-input").value.trim();
      pendingToken = null;
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      resolve(token);
    }, { once: true });
    dialog.showModal();
    $("#token-input").focus();
  });
  return pendingToken;
}

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// fetch with the access code: asked on a 401, and asked again (saying so) while the code given is refused.
async function api(path, options = {}) {
  for (;;) {
    const sent = sessionStorage.getItem(TOKEN_KEY);
    let response;
    try {
      response = await fetch(path, { ...options, headers: authHeaders() });
    } catch (error) {
      throw new PageError(friendly(0, ""), String(error));
    }
    if (response.status === 401) {
      // a code given while this request was on its way is tried before anyone is asked again: a request
      // refused for an older code must not reopen the dialog over the code just accepted
      if (sessionStorage.getItem(TOKEN_KEY) !== sent) continue;
      if (pendingToken) { await pendingToken; continue; }  // another request is already asking
      if (!(await askToken(Boolean(sent)))) throw new PageError(friendly(401, ""), "no access code given");
      continue;
    }
    if (!response.ok) {
      let detail = `${response.status} ${response.statusText}`;
      try { detail = (await response.json()).error || detail; } catch (_) { /* not JSON */ }
      throw new PageError(friendly(response.status, detail), detail);
    }
    return response;
  }
}

const getJson = async (path) => (await api(path)).json();

// Images: straight from the server (cached by the browser); with an access code, fetched with it as blobs.
const blobUrls = new Map();
function imageSrc(path) {
  if (!sessionStorage.getItem(TOKEN_KEY)) return Promise.resolve(path);
  if (!blobUrls.has(path)) blobUrls.set(path, api(path).then((r) => r.blob()).then((b) => URL.createObjectURL(b)));
  return blobUrls.get(path);
}

async function setImage(img, path) {
  try {
    img.src = await imageSrc(path);
    await img.decode();
    return true;
  } catch (_) {
    img.alt = "picture unavailable";
    return false;
  }
}

function showMessage(text, detail) {
  const box = $("#message");
  box.textContent = text || "";
  box.title = detail || "";
  box.hidden = !text;
}

function fail(error) { showMessage(error.message, error.detail); }

function busy(form, on) {
  for (const button of form.querySelectorAll("button")) button.disabled = on;
  form.setAttribute("aria-busy", on ? "true" : "false");
}

// ---- the URL ----------------------------------------------------------------------------------------

function readUrl() {
  const q = new URLSearchParams(location.search);
  const state = {};
  for (const key of PARAMS) if (q.get(key)) state[key] = q.get(key);
  state.view = state.view || (state.pair ? "verify" : state.artist ? "artists" : "search");
  return state;
}

function urlOf(state) {
  const q = new URLSearchParams();
  for (const key of PARAMS) if (state[key] !== undefined && state[key] !== null && state[key] !== "") q.set(key, state[key]);
  if (q.get("view") === "search") q.delete("view");
  const query = q.toString();
  return query ? `/?${query}` : "/";
}

// Go to a new view: one history entry (or replace the current one), then draw it.
function go(patch, { replace = false, keep = true } = {}) {
  const state = keep ? { ...readUrl(), ...patch } : { ...patch };
  for (const key of Object.keys(state)) if (state[key] === null) delete state[key];
  const url = urlOf(state);
  if (url !== location.pathname + location.search) history[replace ? "replaceState" : "pushState"](null, "", url);
  return render(readUrl());
}

let shown = {};  // what is drawn now, per part of the state (a popstate redraws only what changed)

async function render(state) {
  showMessage("");
  selectTab(state.view);
  const views = { search: renderSearch, verify: renderVerify, artists: renderArtists, map: renderMap };
  const work = [views[state.view] ? views[state.view](state) : renderSearch(state)];
  work.push(state.open ? openViewer(Number(state.open)) : closeViewer());
  await Promise.all(work);
}

function same(state, keys) {
  const key = keys.map((k) => state[k] || "").join("|");
  const was = shown[keys.join("|")];
  shown[keys.join("|")] = key;
  return was === key;
}

// ---- search -----------------------------------------------------------------------------------------

function filtersFromForm() {
  const k = parseInt($("#k").value, 10);
  return { k: k > 0 ? String(collectionSize ? Math.min(k, collectionSize) : k) : null, by: $("#artist-filter").value.trim() || null,
           style: $("#style-filter").value.trim() || null, date: $("#date-filter").value.trim() || null };
}

function filterQuery(state) {
  const q = new URLSearchParams();
  if (state.k) q.set("k", String(collectionSize ? Math.min(Number(state.k), collectionSize) : state.k));
  if (state.by) q.set("artist", state.by);
  if (state.style) q.set("style", state.style);
  if (state.date) q.set("date", state.date);
  return q.toString();
}

function fillFilters(state) {
  $("#k").value = state.k || $("#k").value;
  $("#artist-filter").value = state.by || "";
  $("#style-filter").value = state.style || "";
  $("#date-filter").value = state.date || "";
}

async function renderSearch(state) {
  if (same(state, ["view", "result", "painting", "k", "by", "style", "date"])) return;
  fillFilters(state);
  if (state.result) return runSearch(() => getJson(`/api/results/${encodeURIComponent(state.result)}`));
  if (state.painting) return runSearch(() => getJson(`/api/paintings/${Number(state.painting)}/similar?${filterQuery(state)}`), Number(state.painting));
  clearResults();
}

async function searchFile(file) {
  if (!file) return;
  lastFile = file;
  const form = new FormData();
  form.append("image", file, file.name);
  const filters = filtersFromForm();
  const answer = await runSearch(() => api(`/api/results?${filterQuery(filters)}`, { method: "POST", body: form }).then((r) => r.json()));
  if (answer && answer.result_id) {  // the URL names the kept answer, never the picture
    shown["view|result|painting|k|by|style|date"] = ["search", answer.result_id, "", filters.k || "", filters.by || "", filters.style || "", filters.date || ""].join("|");
    await go({ view: "search", result: answer.result_id, painting: null, open: null, ...filters }, { keep: false });
  }
}

async function runSearch(request, paintingId) {
  const ticket = ++latestSearch;
  const form = $("#query-form");
  busy(form, true);
  showMessage("");
  try {
    const answer = await request();
    if (ticket !== latestSearch) return null;  // a newer search was started meanwhile
    await drawResult(answer, paintingId);
    return answer;
  } catch (error) {
    if (ticket === latestSearch) { clearResults(); fail(error); }  // never an old answer under a new name
    return null;
  } finally {
    if (ticket === latestSearch) busy(form, false);
  }
}

function clearResults() {
  $("#results").hidden = true;
  $("#results-grid").replaceChildren();
  $("#artist-bars").replaceChildren();
  $("#query-image").removeAttribute("src");
  $("#query-name").textContent = "";
  exportable.search = [];
}

async function drawResult(answer, paintingId) {
  const item = answer.results[0];
  const queryImage = answer.images ? answer.images.query : paintingId !== undefined ? `/api/paintings/${paintingId}/thumbnail?size=512` : null;
  $("#query-name").textContent = answer.name || (paintingId !== undefined ? `catalogue number ${paintingId}` : item.query);
  const loads = [queryImage ? setImage($("#query-image"), queryImage) : Promise.resolve()];
  renderArtistBars($("#artist-bars"), $("#artists-title"), item);
  exportable.search = item.matches.map((m, i) => ({ rank: i + 1, id: m.id, artist: m.artist, similarity: m.similarity, path: m.path }));
  const cards = item.matches.map((match) => tile(match, { caption: [match.artist || "unknown artist", `similarity ${fixed(match.similarity)}`],
    label: `${match.artist || "unknown artist"}, similarity ${fixed(match.similarity)}: open it large` }));
  $("#results-grid").replaceChildren(...cards.map((c) => c.node));
  $("#results").hidden = false;
  await Promise.all([...loads, ...cards.map((c) => c.loaded)]);
  $("#results").dataset.searches = String(++searches);
}

// Likely artists as bars: the calibrated `probability` when the server gives it, else the vote `score`.
function renderArtistBars(list, title, item) {
  const rows = item.artists.slice(0, 5).map((a) => bar(a.artist, a.probability ?? a.score, ""));
  if (item.unknown !== undefined && item.unknown !== null) rows.push(bar("none of the indexed artists", item.unknown, "unknown"));
  if (!rows.length) rows.push(el("li", { text: "no artist among the matches" }));
  list.replaceChildren(...rows);
  const kind = item.artists.some((a) => a.probability !== undefined && a.probability !== null) ? "probability" : "share of the similarity vote";
  title.textContent = `Likely artists (${kind})`;
}

function bar(name, value, cls) {
  const percent = Math.round(100 * Math.max(0, Math.min(1, value)));
  const fill = el("div", { class: "fill" });
  fill.style.width = `${percent}%`;  // CSSOM, not a style attribute: allowed by the CSP
  const track = el("div", { class: "track", role: "img", "aria-label": `${name}: ${percent}%` }, fill);
  return el("li", { class: cls }, el("span", { class: "name", text: name }), track, el("span", { class: "value", text: `${percent}%` }));
}

// One painting of a justified grid: its width follows its aspect ratio, nothing is cropped.
function tile(match, { caption, label }) {
  const img = el("img", { alt: `Painting by ${match.artist || "unknown artist"}` });
  const button = el("button", { type: "button", class: "tile", "aria-label": label, "data-id": String(match.id) }, img,
    el("span", { class: "caption" }, ...caption.flatMap((line, i) => (i ? [el("br"), el("span", { class: "sim", text: line })] : [el("span", { text: line })]))));
  const li = el("li", {}, button);
  shape(li, img, match.width && match.height ? match.width / match.height : 1);
  const loaded = setImage(img, `${match.thumbnail}?size=256`).then((ok) => { if (ok) shape(li, img, img.naturalWidth / img.naturalHeight); });
  button.addEventListener("click", () => go({ open: String(match.id) }));
  return { node: li, loaded };
}

function shape(li, img, ratio) {
  li.style.flexGrow = String(ratio);
  li.style.flexBasis = `${Math.round(ratio * ROW_HEIGHT)}px`;
  img.style.aspectRatio = String(ratio);
}

// ---- the viewer -------------------------------------------------------------------------------------

const view = { id: null, scale: 1, x: 0, y: 0, pointers: new Map(), pinch: null };

async function openViewer(id) {
  const dialog = $("#viewer");
  if (!dialog.open) dialog.showModal();
  if (view.id === id) return;
  view.id = id;
  resetZoom();
  const img = $("#viewer-image");
  img.removeAttribute("src");
  $("#viewer-row").replaceChildren();
  $("#viewer-artists").replaceChildren();
  $("#viewer-stage").focus();
  try {
    const [row, similar] = await Promise.all([getJson(`/api/paintings/${id}`), getJson(`/api/paintings/${id}/similar?k=10`)]);
    if (view.id !== id) return;
    $("#viewer-title").textContent = row.title || (row.artist ? `A painting by ${row.artist}` : `Catalogue number ${row.id}`);
    img.alt = $("#viewer-title").textContent;
    const fields = [["artist", row.artist], ["title", row.title], ["date", row.date], ["style", row.style], ["genre", row.genre],
      ["size", row.width ? `${row.width} × ${row.height} px` : null], ["file", row.path], ["catalogue number", row.id]];
    $("#viewer-row").replaceChildren(...fields.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v ?? "–" })]));
    $("#viewer-artist").hidden = !row.artist;
    $("#viewer-artist").dataset.artist = row.artist || "";
    const others = { ...similar.results[0], matches: similar.results[0].matches.filter((m) => m.id !== id) };
    renderArtistBars($("#viewer-artists"), $("#viewer-artists-title"), others);
    await setImage(img, `/api/paintings/${id}/image?size=2048`);
    $("#viewer").dataset.loaded = String(id);
  } catch (error) {
    fail(error);
  }
}

function closeViewer() {
  const dialog = $("#viewer");
  view.id = null;
  if (dialog.open) dialog.close();
  delete dialog.dataset.loaded;
}

function resetZoom() { view.scale = 1; view.x = 0; view.y = 0; applyZoom(); }

function applyZoom() {
  view.scale = Math.max(1, Math.min(12, view.scale));
  const stage = $("#viewer-stage");
  const limitX = (stage.clientWidth * (view.scale - 1)) / 2, limitY = (stage.clientHeight * (view.scale - 1)) / 2;
  view.x = Math.max(-limitX, Math.min(limitX, view.x));
  view.y = Math.max(-limitY, Math.min(limitY, view.y));
  $("#viewer-image").style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.scale})`;
  stage.dataset.scale = view.scale.toFixed(3);
}

function zoomAt(factor, cx = 0, cy = 0) {  // (cx, cy): the point that stays put, from the stage's centre
  const next = Math.max(1, Math.min(12, view.scale * factor));
  const f = next / view.scale;
  view.x = cx - (cx - view.x) * f;
  view.y = cy - (cy - view.y) * f;
  view.scale = next;
  applyZoom();
}

function capture(node, event) {  // keep receiving this pointer's moves outside the element (where it is a real pointer)
  try { node.setPointerCapture(event.pointerId); } catch (_) { /* a synthetic or already released pointer */ }
}

function fromCentre(stage, event) {
  const r = stage.getBoundingClientRect();
  return [event.clientX - r.left - r.width / 2, event.clientY - r.top - r.height / 2];
}

function wireViewer() {
  const stage = $("#viewer-stage");
  stage.addEventListener("wheel", (e) => { e.preventDefault(); zoomAt(e.deltaY < 0 ? 1.25 : 0.8, ...fromCentre(stage, e)); }, { passive: false });
  stage.addEventListener("pointerdown", (e) => { capture(stage, e); view.pointers.set(e.pointerId, [e.clientX, e.clientY]); view.pinch = null; });
  stage.addEventListener("pointermove", (e) => {
    const last = view.pointers.get(e.pointerId);
    if (!last) return;
    view.pointers.set(e.pointerId, [e.clientX, e.clientY]);
    if (view.pointers.size === 2) {  // two fingers: pinch to zoom
      const [p, q] = [...view.pointers.values()];
      const distance = Math.hypot(p[0] - q[0], p[1] - q[1]);
      if (view.pinch) zoomAt(distance / view.pinch);
      view.pinch = distance;
    } else {
      view.x += e.clientX - last[0];
      view.y += e.clientY - last[1];
      applyZoom();
    }
  });
  const release = (e) => { view.pointers.delete(e.pointerId); view.pinch = null; };
  stage.addEventListener("pointerup", release);
  stage.addEventListener("pointercancel", release);
  stage.addEventListener("dblclick", (e) => zoomAt(2, ...fromCentre(stage, e)));
  $("#viewer").addEventListener("keydown", (e) => {
    const step = 60;
    const keys = { "+": () => zoomAt(1.25), "=": () => zoomAt(1.25), "-": () => zoomAt(0.8), "0": resetZoom,
      ArrowLeft: () => { view.x += step; applyZoom(); }, ArrowRight: () => { view.x -= step; applyZoom(); },
      ArrowUp: () => { view.y += step; applyZoom(); }, ArrowDown: () => { view.y -= step; applyZoom(); } };
    if (keys[e.key] && (e.target === stage || e.target === $("#viewer"))) { e.preventDefault(); keys[e.key](); }
  });
  $("#viewer").addEventListener("cancel", (e) => { e.preventDefault(); go({ open: null }); });  // Escape
  $("#viewer-close").addEventListener("click", () => go({ open: null }));
  $("#viewer-zoom-in").addEventListener("click", () => zoomAt(1.5));
  $("#viewer-zoom-out").addEventListener("click", () => zoomAt(1 / 1.5));
  $("#viewer-fit").addEventListener("click", resetZoom);
  $("#viewer-similar").addEventListener("click", () => go({ view: "search", painting: String(view.id), result: null, open: null }));
  $("#viewer-artist").addEventListener("click", (e) => go({ view: "artists", artist: e.target.dataset.artist, open: null }));
  $("#viewer-compare").addEventListener("click", () => {
    const pair = (readUrl().pair || "").split(",").filter(Boolean);
    const next = pair.length === 1 ? `${pair[0]},${view.id}` : String(view.id);
    go({ view: "verify", pair: next, result: null, open: null });
  });
  $("#viewer-original").addEventListener("click", async () => {
    const path = `/api/paintings/${view.id}/image?original=true`;
    window.open(await imageSrc(path), "_blank", "noopener");
  });
}

// ---- verify -----------------------------------------------------------------------------------------

async function renderVerify(state) {
  if (same(state, ["view", "result", "pair"])) return;
  const pair = (state.pair || "").split(",").filter(Boolean).map(Number);
  $("#pair-a").value = pair[0] ?? "";
  $("#pair-b").value = pair[1] ?? "";
  $("#verify-result").hidden = true;
  if (state.result) return drawVerify(() => getJson(`/api/results/${encodeURIComponent(state.result)}`));
  if (pair.length === 2) return drawVerify(() => getJson(`/api/pairs/${pair[0]}/${pair[1]}`));
  if (pair.length === 1) showMessage(`Catalogue number ${pair[0]} is chosen. Open another painting and press “Compare…”, or type its number.`);
}

async function verifyUploads(event) {
  event.preventDefault();
  const a = $("#verify-a").files[0], b = $("#verify-b").files[0];
  if (!a || !b) { showMessage("Choose two pictures to compare."); return; }
  const form = new FormData();
  form.append("a", a, a.name);
  form.append("b", b, b.name);
  busy(event.target, true);
  try {
    const answer = await drawVerify(() => api("/api/results/verify", { method: "POST", body: form }).then((r) => r.json()));
    if (answer) {
      shown["view|result|pair"] = ["verify", answer.result_id, ""].join("|");
      await go({ view: "verify", result: answer.result_id, pair: null, open: null }, { keep: false });
    }
  } finally {
    busy(event.target, false);
  }
}

// "same" / "different" / "uncertain": the server's `decision` when it gives one, else from the probability.
function decisionOf(r) {
  if (r.decision) return r.decision;
  if (r.probability >= UNCERTAIN[1]) return "same";
  if (r.probability <= UNCERTAIN[0]) return "different";
  return "uncertain";
}

const DECISIONS = { same: "Same hand", different: "Different hands", uncertain: "Uncertain: the model cannot tell" };

async function drawVerify(request) {
  showMessage("");
  let r;
  try {
    r = await request();
  } catch (error) {
    $("#verify-result").hidden = true;
    fail(error);
    return null;
  }
  const decision = decisionOf(r);
  const verdict = $("#verdict");
  verdict.textContent = DECISIONS[decision] || decision;
  verdict.className = `verdict ${decision}`;  // bold only for "same" and "different" (style.css)
  verdict.dataset.decision = decision;
  $("#verify-bars").replaceChildren(bar("probability of the same artist", r.probability, ""));
  const band = r.band || r.uncertain_band;
  $("#verify-note").textContent = `cosine similarity ${fixed(r.similarity)} (threshold ${fixed(r.threshold)})` +
    (band ? ` · uncertain between ${Math.round(100 * band[0])}% and ${Math.round(100 * band[1])}%` : ` · shown as uncertain between ${Math.round(100 * UNCERTAIN[0])}% and ${Math.round(100 * UNCERTAIN[1])}%`);
  const rows = r.paintings || [];
  const names = r.names || [];
  $("#verify-name-a").textContent = rows[0] ? `${rows[0].artist || "unknown artist"} · no. ${rows[0].id}` : names[0] || "first painting";
  $("#verify-name-b").textContent = rows[1] ? `${rows[1].artist || "unknown artist"} · no. ${rows[1].id}` : names[1] || "second painting";
  $("#verify-result").hidden = false;
  const images = r.images || {};
  const sized = (url) => (url && url.includes("/thumbnail") ? `${url}?size=512` : url);
  await Promise.all([setImage($("#verify-image-a"), sized(images.a)), setImage($("#verify-image-b"), sized(images.b))]);
  await drawExplain(r.explain || r.explanation || null);
  $("#verify-result").dataset.drawn = String(Number($("#verify-result").dataset.drawn || 0) + 1);
  return r;
}

// The [answers] explanation maps (when the server sends them): one image per painting, shown over it on demand.
async function drawExplain(explain) {
  const toggle = $("#overlay-toggle");
  const maps = explain ? [explain.a || (explain.maps || [])[0], explain.b || (explain.maps || [])[1]] : [];
  toggle.hidden = !(maps[0] && maps[1]);
  toggle.setAttribute("aria-pressed", "false");
  for (const [i, side] of ["a", "b"].entries()) {
    const overlay = $(`#explain-${side}`);
    overlay.hidden = true;
    if (maps[i]) await setImage(overlay, maps[i]);
  }
}

function toggleOverlay() {
  const toggle = $("#overlay-toggle");
  const on = toggle.getAttribute("aria-pressed") !== "true";
  toggle.setAttribute("aria-pressed", String(on));
  toggle.textContent = on ? "Hide what the model looked at" : "Show what the model looked at";
  for (const side of ["a", "b"]) $(`#explain-${side}`).hidden = !on;
}

// ---- artists ----------------------------------------------------------------------------------------

let artistRows = null;

async function renderArtists(state) {
  if (same(state, ["view", "artist"])) return;
  $("#artist-index").hidden = Boolean(state.artist);
  $("#artist-page").hidden = !state.artist;
  if (state.artist) return drawArtistPage(state.artist);
  try {
    artistRows = artistRows || (await getJson("/api/artist-list")).artists;
    drawArtistTable();
  } catch (error) {
    fail(error);
  }
}

function drawArtistTable() {
  const needle = $("#artist-search").value.trim().toLowerCase();
  const rows = (artistRows || []).filter((a) => !needle || a.artist.toLowerCase().includes(needle)).map((a) => {
    const link = el("a", { href: urlOf({ view: "artists", artist: a.artist }), text: a.artist });
    link.addEventListener("click", (e) => { e.preventDefault(); go({ view: "artists", artist: a.artist, open: null }, { keep: false }); });
    return el("tr", {}, el("td", {}, link), el("td", { text: String(a.paintings) }), el("td", { text: a.years || "" }),
      el("td", { class: "wide", text: a.nationality || "" }), el("td", { class: "wide", text: a.movement || "" }));
  });
  $("#artist-table tbody").replaceChildren(...rows);
}

async function drawArtistPage(name) {
  let page;
  try {
    page = await getJson(`/api/artist?name=${encodeURIComponent(name)}`);
  } catch (error) {
    $("#artist-page").hidden = true;
    fail(error);
    return;
  }
  const info = page.info || {};
  $("#artist-name").textContent = page.artist;
  $("#artist-meta").textContent = [info.years, info.nationality, info.movement, `${page.paintings} works in the collection`].filter(Boolean).join(" · ");
  $("#artist-bio").textContent = info.bio || "";
  const link = $("#artist-link");
  link.hidden = !info.link;
  if (info.link && /^https?:\/\//.test(info.link)) link.href = info.link;
  $("#artist-alike").replaceChildren(...page.similar.map((s) => {
    const b = el("button", { type: "button", class: "chip", text: s.artist, title: `centroid similarity ${fixed(s.similarity)}` });
    b.addEventListener("click", () => go({ view: "artists", artist: s.artist, open: null }, { keep: false }));
    return el("li", {}, b);
  }));
  exportable.artist = page.works.map((w) => ({ id: w.id, artist: page.artist, title: w.title, date: w.date, style: w.style, genre: w.genre }));
  const tiles = page.works.map((w) => tile({ ...w, artist: page.artist }, { caption: [w.title || "untitled", w.date || "date unknown"],
    label: `${w.title || "untitled"}, ${w.date || "date unknown"}: open it large` }));
  $("#artist-works").replaceChildren(...tiles.map((t) => t.node));
  await Promise.all(tiles.map((t) => t.loaded));
  $("#artist-page").dataset.drawn = page.artist;
}

// ---- the map ----------------------------------------------------------------------------------------

const map = { points: null, scale: 1, x: 0, y: 0, colour: "artist", thumbs: new Map(), hover: null, drag: null, pointers: new Map(), pinch: null, frame: 0 };
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
  "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363"];

async function renderMap(state) {
  map.colour = state.colour === "style" ? "style" : "artist";
  $("#map-colour").value = map.colour;
  if (map.points) { sizeCanvas(); drawMap(); return; }
  const started = performance.now();
  $("#map-status").textContent = "Laying out the map… (the first time can take a minute on a large collection)";
  try {
    const body = await getJson("/api/map");
    map.points = body.points;
    map.colours = colourTable(map.points);
    sizeCanvas();
    drawMap();
    const canvas = $("#map-canvas");
    canvas.dataset.points = String(map.points.length);
    canvas.dataset.firstPaintMs = (performance.now() - started).toFixed(1);
    $("#map-status").textContent = `${map.points.length} paintings, laid out by ${body.method === "tsne" ? "t-SNE" : body.method.toUpperCase()}.`;
  } catch (error) {
    $("#map-status").textContent = "";
    fail(error);
  }
}

function colourTable(points) {
  const table = {};
  for (const key of ["artist", "style"]) {
    const counts = new Map();
    for (const p of points) if (p[key]) counts.set(p[key], (counts.get(p[key]) || 0) + 1);
    const ranked = [...counts.keys()].sort((a, b) => counts.get(b) - counts.get(a) || a.localeCompare(b));
    table[key] = new Map(ranked.map((name, i) => [name, PALETTE[i % PALETTE.length]]));
  }
  return table;
}

function sizeCanvas() {
  const canvas = $("#map-canvas");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
}

function toScreen(p, canvas) {  // map units [0, 1] to CSS pixels
  const side = Math.min(canvas.clientWidth, canvas.clientHeight) * 0.92;
  const ox = (canvas.clientWidth - side) / 2, oy = (canvas.clientHeight - side) / 2;
  return [ox + (p.x * side) * map.scale + map.x, oy + (p.y * side) * map.scale + map.y];
}

function visiblePoints(canvas) {
  const w = canvas.clientWidth, h = canvas.clientHeight;
  return (map.points || []).filter((p) => { const [x, y] = toScreen(p, canvas); return x >= 0 && y >= 0 && x <= w && y <= h; });
}

function requestDraw() {
  if (!map.frame) map.frame = requestAnimationFrame(() => { map.frame = 0; drawMap(); });
}

function drawMap() {
  const canvas = $("#map-canvas");
  if (!map.points || !canvas.clientWidth) return;
  const ctx = canvas.getContext("2d");
  const ratio = canvas.width / canvas.clientWidth;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, canvas.clientWidth, canvas.clientHeight);
  const colours = map.colours[map.colour];
  const visible = visiblePoints(canvas);
  const thumbSize = Math.min(96, 6 * map.scale);
  const drawThumbs = thumbSize >= 20 && visible.length <= 400;  // zoomed in: the paintings themselves
  for (const p of visible) {
    const [x, y] = toScreen(p, canvas);
    const thumb = drawThumbs ? thumbnailFor(p) : null;
    if (thumb) {
      const r = thumb.naturalWidth / thumb.naturalHeight;
      const w = r >= 1 ? thumbSize : thumbSize * r, h = r >= 1 ? thumbSize / r : thumbSize;
      ctx.drawImage(thumb, x - w / 2, y - h / 2, w, h);
      ctx.strokeStyle = colours.get(p[map.colour]) || "#999";
      ctx.strokeRect(x - w / 2, y - h / 2, w, h);
    } else {
      ctx.fillStyle = colours.get(p[map.colour]) || "#999";
      ctx.beginPath();
      ctx.arc(x, y, p === map.hover ? 5 : 3, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  exportable.map = visible.map((p) => ({ id: p.id, artist: p.artist, style: p.style, x: p.x, y: p.y }));
  canvas.dataset.visible = String(visible.length);
  canvas.dataset.draws = String(Number(canvas.dataset.draws || 0) + 1);
}

function thumbnailFor(p) {
  const cached = map.thumbs.get(p.id);
  if (cached) return cached.complete && cached.naturalWidth ? cached : null;
  const img = new Image();
  map.thumbs.set(p.id, img);
  img.addEventListener("load", requestDraw, { once: true });
  imageSrc(`/api/paintings/${p.id}/thumbnail?size=128`).then((src) => { img.src = src; }).catch(() => undefined);
  return null;
}

function nearestPoint(canvas, sx, sy, within = 12) {
  let best = null, bestD = within * within;
  for (const p of map.points || []) {
    const [x, y] = toScreen(p, canvas);
    const d = (x - sx) ** 2 + (y - sy) ** 2;
    if (d < bestD) { best = p; bestD = d; }
  }
  return best;
}

function zoomMap(factor, sx, sy) {
  const canvas = $("#map-canvas");
  if (sx === undefined) { sx = canvas.clientWidth / 2; sy = canvas.clientHeight / 2; }
  const next = Math.max(1, Math.min(60, map.scale * factor));
  const f = next / map.scale;
  map.x = sx - (sx - map.x) * f;
  map.y = sy - (sy - map.y) * f;
  map.scale = next;
  canvas.dataset.scale = map.scale.toFixed(3);
  requestDraw();
}

function showTip(p, sx, sy) {
  const tip = $("#map-tip");
  map.hover = p;
  tip.hidden = !p;
  if (p) {
    tip.textContent = [p.artist || "unknown artist", p.style].filter(Boolean).join(" · ");
    tip.style.left = `${sx + 12}px`;
    tip.style.top = `${sy + 12}px`;
  }
  requestDraw();
}

function wireMap() {
  const canvas = $("#map-canvas");
  const local = (e) => { const r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
  canvas.addEventListener("wheel", (e) => { e.preventDefault(); zoomMap(e.deltaY < 0 ? 1.3 : 1 / 1.3, ...local(e)); }, { passive: false });
  canvas.addEventListener("pointerdown", (e) => {
    capture(canvas, e);
    map.pointers.set(e.pointerId, local(e));
    map.drag = { start: local(e), moved: false };
    map.pinch = null;
  });
  canvas.addEventListener("pointermove", (e) => {
    const at = local(e);
    const last = map.pointers.get(e.pointerId);
    if (!last) { showTip(nearestPoint(canvas, ...at), ...at); return; }
    map.pointers.set(e.pointerId, at);
    if (map.pointers.size === 2) {
      const [p, q] = [...map.pointers.values()];
      const distance = Math.hypot(p[0] - q[0], p[1] - q[1]);
      if (map.pinch) zoomMap(distance / map.pinch, (p[0] + q[0]) / 2, (p[1] + q[1]) / 2);
      map.pinch = distance;
      map.drag.moved = true;
      return;
    }
    map.x += at[0] - last[0];
    map.y += at[1] - last[1];
    if (Math.hypot(at[0] - map.drag.start[0], at[1] - map.drag.start[1]) > 4) map.drag.moved = true;
    requestDraw();
  });
  canvas.addEventListener("pointerup", (e) => {
    const at = local(e);
    map.pointers.delete(e.pointerId);
    map.pinch = null;
    if (map.drag && !map.drag.moved && map.pointers.size === 0) {
      const p = nearestPoint(canvas, ...at);
      if (p) go({ open: String(p.id) });
    }
    if (map.pointers.size === 0) map.drag = null;
  });
  canvas.addEventListener("pointercancel", (e) => { map.pointers.delete(e.pointerId); map.drag = null; });
  canvas.addEventListener("pointerleave", () => showTip(null));
  canvas.addEventListener("keydown", (e) => {
    const step = 50;
    const keys = { "+": () => zoomMap(1.3), "=": () => zoomMap(1.3), "-": () => zoomMap(1 / 1.3),
      ArrowLeft: () => { map.x += step; requestDraw(); }, ArrowRight: () => { map.x -= step; requestDraw(); },
      ArrowUp: () => { map.y += step; requestDraw(); }, ArrowDown: () => { map.y -= step; requestDraw(); },
      Enter: () => { const p = nearestPoint(canvas, canvas.clientWidth / 2, canvas.clientHeight / 2, 1e6); if (p) go({ open: String(p.id) }); } };
    if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
  });
  $("#map-colour").addEventListener("change", (e) => go({ colour: e.target.value === "style" ? "style" : null }, { replace: true }));
  $("#map-reset").addEventListener("click", () => { map.scale = 1; map.x = 0; map.y = 0; requestDraw(); });
  window.addEventListener("resize", () => { if (!$("#view-map").hidden) { sizeCanvas(); requestDraw(); } });
}

// ---- export -----------------------------------------------------------------------------------------

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function csvOf(rows) {
  if (!rows.length) return "";
  const columns = Object.keys(rows[0]);
  const cell = (v) => { const s = v === null || v === undefined ? "" : String(v); return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  return [columns.join(","), ...rows.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\r\n") + "\r\n";
}

function wireExports() {
  const sources = { "view-search": "search", "artist-page": "artist", "view-map": "map" };
  for (const button of document.querySelectorAll("[data-export]")) {
    button.addEventListener("click", () => {
      const source = sources[Object.keys(sources).find((id) => button.closest(`#${id}`))];
      const rows = exportable[source] || [];
      const state = readUrl();
      const name = `artwork-engine-${source === "artist" ? `artist-${state.artist}` : source === "map" ? "map-view" : "matches"}`.replace(/[^\w.-]+/g, "_");
      if (button.dataset.export === "csv") download(`${name}.csv`, csvOf(rows), "text/csv");
      else download(`${name}.json`, JSON.stringify(rows, null, 2), "application/json");
    });
  }
}

// ---- the frame: tabs, header, forms -----------------------------------------------------------------

function selectTab(name, focus = false) {
  for (const t of document.querySelectorAll("[role=tab]")) {
    const on = t.dataset.view === name;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    $(`#${t.getAttribute("aria-controls")}`).hidden = !on;
    if (on && focus) t.focus();
  }
}

function wireTabs() {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  const open = (tab) => {
    selectTab(tab.dataset.view, true);
    const current = readUrl();
    if (current.view !== tab.dataset.view) go({ view: tab.dataset.view }, { keep: false });
  };
  for (const tab of tabs) {
    tab.addEventListener("click", () => open(tab));
    tab.addEventListener("keydown", (e) => {  // arrow keys move between tabs (WAI-ARIA tabs pattern)
      const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (step) open(tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length]);
    });
  }
}

function wireDrop() {
  const zone = $("#drop-zone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    searchFile(e.dataTransfer.files[0]);
  });
}

async function loadCollection() {
  const c = await getJson("/api/collection");
  collectionSize = c.paintings;
  $("#k").max = String(Math.min(200, c.paintings));
  $("#health").textContent = `${c.paintings.toLocaleString("en")} paintings · ${c.artists} artists · model: ${c.model}`;
  $("#style-list").replaceChildren(...c.styles.map((s) => el("option", { value: s })));
}

async function loadArtistNames() {
  const { artists } = await getJson("/api/artists");
  $("#artist-list").replaceChildren(...artists.map((a) => el("option", { value: a.artist, label: `${a.artist} (${a.paintings})` })));
}

function searchAgain() {  // the filters changed: the same picture (or painting) searched again
  const state = readUrl();
  if ($("#query-file").files[0] || (lastFile && state.result)) return searchFile($("#query-file").files[0] || lastFile);
  if (state.painting) return go({ ...filtersFromForm(), result: null });
  showMessage("Choose a picture to search for first.");
}

function init() {
  wireTabs();
  wireDrop();
  wireViewer();
  wireMap();
  wireExports();
  $("#query-file").addEventListener("change", (e) => searchFile(e.target.files[0]));
  $("#query-form").addEventListener("submit", (e) => { e.preventDefault(); searchAgain(); });
  $("#id-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const id = parseInt($("#catalogue-id").value, 10);
    if (id >= 0) go({ view: "search", painting: String(id), result: null, open: null, ...filtersFromForm() }, { keep: false });
  });
  $("#verify-form").addEventListener("submit", verifyUploads);
  $("#pair-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const a = parseInt($("#pair-a").value, 10), b = parseInt($("#pair-b").value, 10);
    if (a >= 0 && b >= 0) go({ view: "verify", pair: `${a},${b}`, result: null, open: null }, { keep: false });
    else showMessage("Type two catalogue numbers to compare.");
  });
  $("#overlay-toggle").addEventListener("click", toggleOverlay);
  $("#artist-search").addEventListener("input", drawArtistTable);
  $("#artist-back").addEventListener("click", () => go({ view: "artists" }, { keep: false }));
  $("#home-link").addEventListener("click", (e) => { e.preventDefault(); go({}, { keep: false }); });
  window.addEventListener("popstate", () => render(readUrl()));
  // Each load on its own: one failing (or waiting for the access code) does not leave the others empty.
  loadCollection().catch(fail);
  loadArtistNames().catch(fail);
  render(readUrl());
}

document.addEventListener("DOMContentLoaded", init);

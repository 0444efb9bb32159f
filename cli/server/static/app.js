// The page over /api: plain JS, no build step, no network beyond this server.
"use strict";

const $ = (sel) => document.querySelector(sel);
const TOKEN_KEY = "engine-serve-token";
let objectUrls = [];  // the grid's thumbnails, released when the grid is redrawn
let queryUrl = null;
let pendingToken = null;
let searches = 0;  // shown searches, as #results[data-searches] (a finished search is observable)

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "style") node.style.cssText = value;  // CSSOM: the CSP refuses style attributes, not this
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function askToken() {  // one dialog, however many requests were refused at once
  pendingToken = pendingToken || new Promise((resolve) => {
    const dialog = $("#token-dialog");
    dialog.addEventListener("close", () => {
      const token = $("#token-input").value.trim();
      sessionStorage.setItem(TOKEN_KEY, token);
      pendingToken = null;
      resolve(token);
    }, { once: true });
    dialog.showModal();
    $("#token-input").focus();
  });
  return pendingToken;
}

// fetch with the bearer token (asked once, on the first 401); errors carry the server's one line.
async function api(path, options = {}, retried = false) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && !retried) {
    await askToken();
    return api(path, options, true);
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

function showMessage(text) {
  const box = $("#message");
  box.textContent = text || "";
  box.hidden = !text;
}

function busy(form, on) {
  for (const button of form.querySelectorAll("button")) button.disabled = on;
  form.setAttribute("aria-busy", on ? "true" : "false");
}

async function loadHealth() {
  const health = await (await api("/api/health")).json();
  $("#health").textContent = `${health.paintings} paintings indexed · ${health.index} index · model ${health.model}`;
}

async function loadArtists() {
  const { artists } = await (await api("/api/artists")).json();
  $("#artist-list").replaceChildren(...artists.map((a) => el("option", { value: a.artist, label: `${a.artist} (${a.paintings})` })));
}

function filters() {
  const params = new URLSearchParams();
  const k = parseInt($("#k").value, 10);
  if (k > 0) params.set("k", String(k));
  const artist = $("#artist-filter").value.trim();
  if (artist) params.set("artist", artist);
  return params;
}

async function searchFile(file) {
  if (!file) return;
  $("#detail").hidden = true;
  const form = new FormData();
  form.append("image", file, file.name);
  setQueryImage(file);
  $("#query-name").textContent = file.name;
  await runSearch(`/api/query?${filters()}`, { method: "POST", body: form });
}

async function searchPainting(match) {
  api(match.thumbnail).then((r) => r.blob()).then(setQueryImage).catch(() => undefined);
  $("#query-name").textContent = match.artist ? `indexed painting by ${match.artist}` : "indexed painting";
  await runSearch(`/api/paintings/${match.id}/similar?${filters()}`, {});
}

let latestSearch = 0;  // the search started last: only its answer is drawn

async function runSearch(url, options) {
  const ticket = ++latestSearch;
  const form = $("#query-form");
  busy(form, true);
  showMessage("");
  try {
    const result = await (await api(url, options)).json();
    if (ticket !== latestSearch) return;  // a newer search (another drop, a thumbnail) was started meanwhile
    await renderResult(result.results[0]);
  } catch (error) {
    if (ticket === latestSearch) showMessage(error.message);
  } finally {
    if (ticket === latestSearch) busy(form, false);
  }
}

function setQueryImage(blob) {
  if (queryUrl) URL.revokeObjectURL(queryUrl);
  queryUrl = URL.createObjectURL(blob);
  $("#query-image").src = queryUrl;
}

function remember(url) {
  objectUrls.push(url);
  return url;
}

function releaseImages() {
  for (const url of objectUrls) URL.revokeObjectURL(url);
  objectUrls = [];
}

// Likely artists as bars: the calibrated `probability` when the server gives it, else the vote `score`.
function renderArtists(item) {
  const rows = item.artists.slice(0, 5).map((a) => bar(a.artist, a.probability ?? a.score, ""));
  if (item.unknown !== undefined && item.unknown !== null) rows.push(bar("none of the indexed artists", item.unknown, "unknown"));
  if (!rows.length) rows.push(el("li", { text: "no artist among the matches" }));
  $("#artist-bars").replaceChildren(...rows);
  const kind = item.artists.some((a) => a.probability !== undefined) ? "probability" : "share of the similarity vote";
  $("#artists-title").textContent = `Likely artists (${kind})`;
}

function bar(name, value, cls) {
  const percent = Math.round(100 * Math.max(0, Math.min(1, value)));
  const fill = el("div", { class: "fill", style: `width: ${percent}%` });
  const track = el("div", { class: "track", role: "img", "aria-label": `${name}: ${percent}%` }, fill);
  return el("li", { class: cls }, el("span", { class: "name", text: name }), track, el("span", { class: "value", text: `${percent}%` }));
}

async function renderResult(item) {
  releaseImages();
  renderArtists(item);
  const cards = item.matches.map((match) => card(match));
  $("#results-grid").replaceChildren(...cards.map((c) => c.node));
  $("#results").hidden = false;
  await Promise.all(cards.map((c) => c.loaded));
  $("#results").dataset.searches = String(++searches);
}

function card(match) {
  const img = el("img", { alt: `Painting by ${match.artist || "unknown artist"}`, loading: "eager" });
  const caption = el("span", { class: "caption" }, el("span", { text: match.artist || "unknown artist" }), el("br"),
    el("span", { class: "sim", text: `similarity ${match.similarity.toFixed(3)}` }));
  const button = el("button", { type: "button", "aria-label": `${match.artist || "unknown artist"}, similarity ${match.similarity.toFixed(3)}: show its catalog row and search from it` }, img, caption);
  const loaded = api(match.thumbnail).then((r) => r.blob()).then((blob) => {
    img.src = remember(URL.createObjectURL(blob));
    return img.decode().catch(() => undefined);
  }).catch(() => { img.alt = "thumbnail unavailable"; });
  button.addEventListener("click", async () => {
    await showDetail(match.id);
    $("#detail").focus();  // the grid is about to be redrawn: keyboard focus goes to the row just shown
    await searchPainting(match);
  });
  return { node: el("li", {}, button), loaded };
}

async function showDetail(id) {
  try {
    const row = await (await api(`/api/paintings/${id}`)).json();
    const fields = [["artist", row.artist], ["title", row.title], ["style", row.style], ["genre", row.genre], ["date", row.date],
      ["size", row.width ? `${row.width} × ${row.height} px` : null], ["file", row.path], ["id", row.id]];
    $("#detail-row").replaceChildren(...fields.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v ?? "–" })]));
    $("#detail").hidden = false;
  } catch (error) {
    showMessage(error.message);
  }
}

async function verify(event) {
  event.preventDefault();
  const a = $("#verify-a").files[0], b = $("#verify-b").files[0];
  if (!a || !b) { showMessage("choose two paintings to compare"); return; }
  const form = new FormData();
  form.append("a", a, a.name);
  form.append("b", b, b.name);
  busy(event.target, true);
  showMessage("");
  try {
    const r = await (await api("/api/verify", { method: "POST", body: form })).json();
    const out = $("#verify-result");
    out.replaceChildren(
      el("p", { class: "verdict", id: "verdict", text: r.same_artist ? "Same hand" : "Different hands" }),
      el("ol", { class: "bars" }, bar("probability of the same artist", r.probability, "")),
      el("p", { class: "muted", text: `cosine similarity ${r.similarity.toFixed(3)} (threshold ${r.threshold.toFixed(3)}) · model ${r.model || ""}` }));
    out.hidden = false;
  } catch (error) {
    showMessage(error.message);
  } finally {
    busy(event.target, false);
  }
}

function selectTab(tab) {
  for (const t of document.querySelectorAll("[role=tab]")) {
    const on = t === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    $(`#${t.getAttribute("aria-controls")}`).hidden = !on;
  }
  tab.focus();
}

function wireTabs() {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => selectTab(tab));
    tab.addEventListener("keydown", (e) => {  // arrow keys move between tabs (WAI-ARIA tabs pattern)
      const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (step) selectTab(tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length]);
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

function init() {
  wireTabs();
  wireDrop();
  $("#query-file").addEventListener("change", (e) => searchFile(e.target.files[0]));
  $("#query-form").addEventListener("submit", (e) => { e.preventDefault(); searchFile($("#query-file").files[0]); });
  $("#verify-form").addEventListener("submit", verify);
  loadHealth().then(loadArtists).catch((error) => showMessage(error.message));
}

document.addEventListener("DOMContentLoaded", init);

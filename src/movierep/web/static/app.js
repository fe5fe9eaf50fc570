// movierep serve: pick a movie and an item, see its keyframes, search the nearest items of
// other movies. Plain JavaScript over the JSON API of movierep.web.app; no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { level: null, movie: null, item: null, items: [] };

async function api(path, params) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, value);
  }
  const response = await fetch(url);
  const body = await response.json().catch(() => ({ detail: response.statusText }));
  if (!response.ok) throw new Error(body.detail || response.statusText);
  return body;
}

function say(text, kind) {
  const box = $("message");
  box.textContent = text || "";
  box.className = kind || "";
  box.hidden = !text;
}

function clock(seconds) {
  const m = Math.floor(seconds / 60);
  const s = (seconds - 60 * m).toFixed(1).padStart(4, "0");
  return `${m}:${s}`;
}

function span(item) {
  return `${clock(item.start_time)}–${clock(item.end_time)}`;
}

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function frames(item, cls) {
  const box = el("div", { class: cls });
  const urls = item.keyframes.length ? item.keyframes : item.keyframe ? [item.keyframe] : [];
  if (!urls.length) box.append(el("span", { class: "muted" }, "no keyframe"));
  for (const url of urls) {
    box.append(el("img", { src: url, alt: `${item.movie_id} ${state.level} ${item.item_index}` }));
  }
  return box;
}

function clearBelow(what) {
  if (what === "movies") {
    $("movie").replaceChildren();
    $("items").replaceChildren();
  }
  $("query").hidden = true;
  $("results-section").hidden = true;
  $("results").replaceChildren();
  $("results").removeAttribute("data-query");
}

async function loadStatus() {
  const status = await api("/api/status", { level: state.level });
  state.level = status.level;
  $("store").textContent = status.store;
  const levels = Object.keys(status.levels).length ? Object.keys(status.levels) : [status.level];
  $("level").replaceChildren(...levels.map((name) => el("option", { value: name }, name)));
  $("level").value = status.level;
  if (status.moderation) {
    $("filter").hidden = false;
    const options = status.moderation.classes.map((c) => el("option", { value: c }, c));
    $("hide-class").replaceChildren(el("option", { value: "" }, "nothing"), ...options);
  }
  document.body.dataset.ready = status.ready ? "yes" : "no";
  $("picker").hidden = !status.ready;
  if (!status.ready) {
    say(status.message, "error");
    clearBelow("movies");
    return;
  }
  say(status.message, "note");
  await loadMovies();
}

async function loadMovies() {
  clearBelow("movies");
  const { movies } = await api("/api/movies", { level: state.level });
  $("movie").replaceChildren(
    ...movies.map((m) => el("option", { value: m.movie_id }, `${m.movie_id} (${m.items} ${state.level}s)`)),
  );
  if (movies.length) await loadItems(movies[0].movie_id);
}

async function loadItems(movie) {
  clearBelow("items");
  state.movie = movie;
  $("movie").value = movie;
  const { items } = await api("/api/items", { level: state.level, movie });
  state.items = items;
  const buttons = items.map((item) => {
    const button = el("button", { type: "button", class: "item", "data-item": item.item_index });
    const thumb = item.keyframe || item.keyframes[0];
    if (thumb) button.append(el("img", { src: thumb, alt: "" }));
    button.append(el("span", {}, `${state.level} ${item.item_index}`));
    button.append(el("span", { class: "muted" }, span(item)));
    button.addEventListener("click", () => selectItem(item.item_index));
    return button;
  });
  $("items").replaceChildren(...buttons);
  if (items.length) selectItem(items[0].item_index);
}

function selectItem(index) {
  const item = state.items.find((i) => i.item_index === index);
  if (!item) return;
  state.item = index;
  for (const button of $("items").children) {
    button.classList.toggle("selected", Number(button.dataset.item) === index);
  }
  $("query-title").textContent = `${item.movie_id} · ${state.level} ${index} · ${span(item)}`;
  $("query-frames").replaceChildren(...frames(item, "frames").children);
  $("search").textContent = `Find similar ${state.level}s in other movies`;
  $("query").hidden = false;
}

async function search() {
  if (state.movie === null || state.item === null) {
    say(`pick a movie and a ${state.level} first`, "error");
    return;
  }
  $("search").disabled = true;
  $("results").removeAttribute("data-query"); // set again once the new results are shown
  try {
    const found = await api("/api/neighbours", {
      level: state.level,
      movie: state.movie,
      item: state.item,
      k: $("k").value,
      hide: $("filter").hidden ? "" : $("hide-class").value,
      threshold: $("threshold").value,
    });
    showResults(found);
    say("", "");
  } catch (err) {
    say(err.message, "error");
  } finally {
    $("search").disabled = false;
  }
}

function showResults(found) {
  const cards = found.results.map((hit) => {
    const card = el("article", {
      class: "result",
      "data-movie": hit.movie_id,
      "data-item": hit.item_index,
      "data-rank": hit.rank,
      "data-score": hit.score.toFixed(6),
    });
    const head = el("header");
    head.append(el("span", { class: "rank" }, `#${hit.rank}`));
    head.append(el("span", { class: "score" }, `score ${hit.score.toFixed(4)}`));
    card.append(head);
    card.append(el("p", { class: "where" }, `${hit.movie_id} · ${state.level} ${hit.item_index} · ${span(hit)}`));
    card.append(frames(hit, "frames small"));
    if (hit.probabilities) {
      const probs = Object.entries(hit.probabilities).map(([c, p]) => `${c} ${p.toFixed(2)}`);
      card.append(el("p", { class: "muted probs" }, probs.join(" · ")));
    }
    return card;
  });
  $("results").replaceChildren(...cards);
  const q = found.query;
  $("results-title").textContent =
    `Nearest ${state.level}s of other movies to ${q.movie_id} · ${state.level} ${q.item_index}`;
  const index = found.index;
  const notes = [`${found.results.length} shown`, `${index.kind} index of ${index.n}`];
  if (index.built_now) notes.push("index built for this search");
  if (found.hidden) notes.push(`${found.hidden} hidden by the moderation filter`);
  if (!found.results.length) notes.push("no item of another movie in the index");
  $("results-note").textContent = notes.join(" · ");
  $("results-section").hidden = false;
  $("results").dataset.query = `${q.movie_id}:${q.item_index}`;
}

function failed(err) {
  say(err.message, "error");
}

$("level").addEventListener("change", () => {
  state.level = $("level").value;
  loadStatus().catch(failed);
});
$("movie").addEventListener("change", () => loadItems($("movie").value).catch(failed));
$("search").addEventListener("click", () => search());
loadStatus().catch(failed);

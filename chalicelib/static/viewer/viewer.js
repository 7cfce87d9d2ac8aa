// The viewer: sign in, lists, the two players, file activity, exports, storage, holds, purge (docs/viewer.md).
import {
  ApiError, call, cleanToken, clearToken, errorText, getJson, apiUrl, readToken, storeToken, whoAmI,
} from "./api.js";
import { el, clock, bytes, when, span } from "./dom.js";
import { videoPlayer } from "./video.js";
import { castPlayer, parseCast } from "./cast.js";

const VIDEO = new Set(["rdp", "vnc"]);
const SESSION_PROTOCOLS = ["ssh", "telnet", "rdp", "vnc"];
const FILE_PROTOCOLS = ["sftp", "ftp", "smb"];
const PAGE_SIZE = 25;

const $ = (id) => document.getElementById(id);
const state = {
  me: whoAmI(),
  canManage: false,     // learnt from GET /sessions/storage (200, or 403)
  canDelete: false,     // from the token's claims: display only
  lastList: "#/sessions",
  previousCursor: new Map(),  // cursor -> the cursor of the page before it ("" for the first page)
  pageOfCursor: new Map(),
  fileSessions: new Map(),    // id -> row, from the lists (no route reads one file session's row)
  player: null,               // the player shown (tests read it)
};

// ---- messages -------------------------------------------------------------------------------------------------
function showError(error) {
  const box = $("error");
  if (!error) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  const text = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  box.textContent = text;
  box.hidden = false;
  if (error instanceof ApiError && error.status === 401) showSignIn(text);
}

function notify(text) {
  const box = $("notice");
  box.textContent = text || "";
  box.hidden = !text;
}

function confirmDialog(title, text, action) {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

// ---- signing in and out ---------------------------------------------------------------------------------------
function showSignIn(message) {
  $("sign-in").hidden = false;
  $("view").replaceChildren();
  for (const id of ["nav", "sign-out", "storage", "purge"]) $(id).hidden = true;
  $("me").textContent = "";
  if (message) {
    $("error").textContent = message;
    $("error").hidden = false;
  }
  $("token").focus();
}

// Signed in is "the API accepts the cookie": true for a pasted token and for the gateway's own (HttpOnly) cookie.
async function checkSignedIn() {
  await getJson("sessions", { limit: 1 });
}

async function signIn(event) {
  event.preventDefault();
  showError(null);
  let token;
  try {
    token = cleanToken($("token").value);
  } catch (error) {
    showError(error);
    return;
  }
  storeToken(token);
  try {
    await checkSignedIn();
  } catch (error) {
    clearToken();
    showError(error);
    if (!(error instanceof ApiError && error.status === 401)) return;
    $("token").focus();
    return;
  }
  $("token").value = "";
  await entered();
}

async function signOut() {
  clearToken();
  notify("");
  try {
    await checkSignedIn();
    // still accepted: the gateway's HttpOnly cookie, which a page cannot remove
    showError("signed out of this viewer, but the gateway's own cookie still signs you in: sign out of the gateway");
  } catch {
    showError(null);
    showSignIn("");
  }
}

async function entered() {
  state.me = whoAmI();
  state.canDelete = state.me.permissions.has("sessions.delete");
  $("sign-in").hidden = true;
  $("nav").hidden = false;
  $("sign-out").hidden = false;
  $("purge").hidden = !state.canDelete;
  $("me").textContent = state.me.known
    ? `${state.me.name}${state.me.role ? ` (${state.me.role})` : ""}`
    : "signed in by the gateway";
  const storage = refreshStorage();
  if (!location.hash || location.hash === "#") location.hash = "#/sessions";  // its hashchange routes
  else await route();
  await storage;
}

// ---- storage and purge (settings.manage; sessions.delete) ------------------------------------------------------
async function refreshStorage() {
  const gauge = $("storage");
  try {
    const used = await getJson("sessions/storage");
    state.canManage = true;
    gauge.textContent = `Storage: ${bytes(used.bytes)}`;
    gauge.title = `${used.bytes} bytes of recordings`;
    gauge.hidden = false;
  } catch (error) {
    state.canManage = false;
    gauge.hidden = true;
    if (error.status === 401) showError(error);
  }
  document.querySelector('[data-view="access-log"]').hidden = !state.canManage;
}

async function purge() {
  const sure = await confirmDialog("Purge all sessions?",
    "This deletes every session, recording and file session, except those on hold. It cannot be undone.", "Purge");
  if (!sure) return;
  showError(null);
  try {
    const done = await (await call("DELETE", "sessions")).json();
    const kept = done.keptOnHold ? `; ${done.keptOnHold} kept on hold` : "";
    notify(`Purged ${done.deletedSessions} sessions, ${done.deletedRecordings} recordings and ` +
           `${done.deletedFileSessions} file sessions${kept}.`);
    await refreshStorage();
    await route();
  } catch (error) {
    showError(error);
  }
}

// ---- routing: #/sessions, #/session/<id>, #/files, #/file/<id>, #/access-log -----------------------------------
function parseHash() {
  const url = new URL(location.hash.slice(1) || "/sessions", "http://viewer.invalid");
  const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, query: Object.fromEntries(url.searchParams) };
}

async function route() {
  if (!$("sign-in").hidden) return;
  const { parts, query } = parseHash();
  const [view, id] = parts;
  for (const link of document.querySelectorAll("#nav a")) {
    const active = link.dataset.view === view || (link.dataset.view === "sessions" && view === "session") ||
      (link.dataset.view === "files" && view === "file");
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  showError(null);
  try {
    if (view === "session" && id) await sessionView(id);
    else if (view === "file" && id) await fileSessionView(id);
    else if (view === "files") await listView("files", query);
    else if (view === "access-log") await accessLogView(query);
    else await listView("sessions", query);
  } catch (error) {
    showError(error);
  }
}

function heading(text) {
  return el("h2", { tabindex: "-1" }, text);
}

function mount(...nodes) {
  $("view").replaceChildren(...nodes);
  // keyboard and screen-reader users land on the new view's heading
  const title = $("view").querySelector("h2");
  if (title && document.activeElement !== $("token")) title.focus({ preventScroll: true });
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// Rows open with a click, Enter or Space (each row is one tab stop).
function openableRow(hash, cells) {
  const row = el("tr", { tabindex: "0", class: "openable", "data-href": hash }, cells);
  row.addEventListener("click", () => go(hash));
  row.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      go(hash);
    }
  });
  return row;
}

function hashWith(base, query) {
  const kept = Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return kept.length ? `${base}?${new URLSearchParams(kept)}` : base;
}

// local calendar days -> the API's inclusive ISO bounds
const dayStart = (day) => (day ? new Date(`${day}T00:00:00`).toISOString() : undefined);
const dayEnd = (day) => (day ? new Date(`${day}T23:59:59.999`).toISOString() : undefined);

function filterForm(kind, query) {
  const protocols = kind === "files" ? FILE_PROTOCOLS : SESSION_PROTOCOLS;
  const field = (label, input) => el("label", {}, el("span", {}, label), input);
  const form = el("form", { class: "filters", role: "search", "aria-label": "Filter" },
    field("User id", el("input", { name: "userId", value: query.userId || "", autocomplete: "off",
                                  placeholder: state.me.permissions.has("sessions.view_any") ? "anyone" : "you" })),
    field("Protocol", el("select", { name: "protocol" }, el("option", { value: "" }, "any"),
      protocols.map((p) => el("option", { value: p, selected: query.protocol === p }, p)))),
    field("From", el("input", { type: "date", name: "from", value: query.from || "" })),
    field("To", el("input", { type: "date", name: "to", value: query.to || "" })),
    el("div", { class: "buttons" },
      el("button", { type: "submit" }, "Apply"),
      el("button", { type: "button", class: "quiet", onclick: () => go(kind === "files" ? "#/files" : "#/sessions") },
        "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = { ...Object.fromEntries(new FormData(form)), limit: query.limit };
    go(hashWith(kind === "files" ? "#/files" : "#/sessions", data));
  });
  return form;
}

function pager(base, query, nextCursor) {
  const cursor = query.cursor || "";
  const page = cursor ? state.pageOfCursor.get(cursor) : 1;  // unknown after a reload on a later page
  const previous = cursor ? state.previousCursor.get(cursor) ?? "" : null;
  return el("nav", { class: "pager", "aria-label": "Pages" },
    el("button", { type: "button", disabled: previous === null,
                   onclick: () => go(hashWith(base, { ...query, cursor: previous })) }, "Previous"),
    el("span", {}, page ? `Page ${page}` : "A later page"),
    el("button", { type: "button", disabled: !nextCursor, onclick: () => {
      state.previousCursor.set(nextCursor, cursor);
      if (page) state.pageOfCursor.set(nextCursor, page + 1);
      go(hashWith(base, { ...query, cursor: nextCursor }));
    } }, "Next"));
}

async function listView(kind, query) {
  const files = kind === "files";
  const base = files ? "#/files" : "#/sessions";
  state.lastList = hashWith(base, query);
  const found = await getJson(files ? "file-sessions" : "sessions", {
    limit: query.limit || PAGE_SIZE, cursor: query.cursor, userId: query.userId, protocol: query.protocol,
    from: dayStart(query.from), to: dayEnd(query.to),
  });
  const head = files
    ? ["Started", "User", "Protocol", "Connection", "Duration", "Events"]
    : ["Started", "User", "Protocol", "Connection", "Duration", "Recording"];
  const narrow = new Set(["Connection", "Duration"]);  // hidden on a phone
  const rows = found.sessions.map((s) => {
    if (files) state.fileSessions.set(s.id, s);
    const last = files ? String(s.eventCount) : recordingCell(s);
    const cells = [when(s.startedAt), s.username || s.userId, s.protocol, s.connectionName || s.connectionId || "",
                   span(s.startedAt, s.endedAt), last];
    return openableRow(`${files ? "#/file" : "#/session"}/${encodeURIComponent(s.id)}`,
      cells.map((cell, i) => el("td", { class: narrow.has(head[i]) ? "wide" : "" }, cell)));
  });
  const table = rows.length
    ? el("div", { class: "table-wrap" }, el("table", { class: "list", id: `${kind}-table` },
        el("caption", { class: "sr-only" }, "Choose a row (click, Enter or Space) to open it"),
        el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", class: narrow.has(h) ? "wide" : "" }, h)))),
        el("tbody", {}, rows)))
    : el("p", { class: "empty" }, files ? "No file sessions match." : "No sessions match.");
  mount(heading(files ? "File sessions" : "Sessions"), filterForm(kind, query), table,
        pager(base, query, found.nextCursor));
}

function recordingCell(s) {
  const parts = [];
  if (s.hasRecording) parts.push(bytes(s.fileSize));
  else parts.push(s.recordingState && s.recordingState !== "complete" ? s.recordingState : "none");
  const cell = el("span", {}, parts.join(" "));
  if (s.onHold) cell.append(" ", el("span", { class: "badge" }, "on hold"));
  return cell;
}

// ---- one session: the players ----------------------------------------------------------------------------------
function metaList(pairs) {
  return el("dl", { class: "meta" }, pairs.filter(([, v]) => v !== "" && v !== undefined && v !== null)
    .map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v))));
}

function backLink(hash, text) {
  return el("a", { href: hash, class: "back" }, `← ${text}`);
}

async function sessionView(id) {
  const path = `sessions/${encodeURIComponent(id)}`;
  const session = await getJson(path);
  const title = `${session.protocol.toUpperCase()} session on ${session.connectionName || session.connectionId || "?"}`;
  const actions = el("div", { class: "actions" });
  const stage = el("div", { class: "stage" });
  mount(backLink(state.lastList, "Sessions"), heading(title),
    metaList([["User", session.username || session.userId], ["Started", when(session.startedAt)],
              ["Ended", when(session.endedAt)], ["Duration", span(session.startedAt, session.endedAt)],
              ["Recording", session.hasRecording ? bytes(session.fileSize) : session.recordingState || "none"],
              ["SHA-256", session.sha256 ? el("code", {}, session.sha256) : ""]]),
    actions, stage);

  if (session.hasRecording) {
    actions.append(el("button", { type: "button", onclick: () => downloadRecording(session.id) }, "Download recording"));
  }
  if (state.canDelete) {
    actions.append(holdToggle(session), el("button", { type: "button", class: "danger", onclick: async () => {
      const sure = await confirmDialog("Delete this session?",
        "Its recording, commands and input events go too. It cannot be undone.", "Delete");
      if (!sure) return;
      try {
        await call("DELETE", path);
        notify("Session deleted.");
        await refreshStorage();
        go(state.lastList);
      } catch (error) {
        showError(error);
      }
    } }, "Delete session"));
  }

  if (VIDEO.has(session.protocol)) await showVideo(session, stage);
  else await showTerminal(session, stage);
}

async function showVideo(session, stage) {
  const path = `sessions/${encodeURIComponent(session.id)}`;
  const [events, where] = await Promise.allSettled([
    getJson(`${path}/recording/events`),
    session.hasRecording ? getJson(`${path}/recording`, { redirect: "false" }) : Promise.resolve(null),
  ]);
  if (events.status === "rejected") showError(events.reason);
  if (where.status === "rejected") showError(where.reason);
  const inputs = events.status === "fulfilled" ? events.value.events : [];
  if (where.status === "fulfilled" && where.value) {
    const player = videoPlayer(session, where.value.url, inputs, { onError: showError });
    stage.append(player);
    state.player = player;
  } else {
    stage.append(el("p", { class: "empty" }, session.hasRecording ? "The recording cannot be played." : "No recording."));
  }
}

async function showTerminal(session, stage) {
  const path = `sessions/${encodeURIComponent(session.id)}`;
  const [commands, cast] = await Promise.allSettled([
    getJson(`${path}/commands`),
    session.hasRecording ? call("GET", `${path}/recording`).then((r) => r.text()) : Promise.resolve(null),
  ]);
  if (commands.status === "rejected") showError(commands.reason);
  if (cast.status === "rejected") showError(cast.reason);
  const logged = commands.status === "fulfilled" ? commands.value.commands : [];
  if (cast.status === "fulfilled" && cast.value !== null) {
    try {
      state.player = castPlayer(stage, parseCast(cast.value), logged).player;
      return;
    } catch (error) {
      showError(error);
    }
  }
  stage.append(el("p", { class: "empty" }, "No recording to play."),
    el("ol", { class: "commands" }, logged.map((c) => el("li", {},
      el("span", { class: "at" }, clock(c.elapsed)), " ", el("code", {}, c.command ?? "")))));
}

async function downloadRecording(id) {
  try {
    const found = await getJson(`sessions/${encodeURIComponent(id)}/recording`, { download: "1", redirect: "false" });
    el("a", { href: found.url }).click();  // S3 answers with Content-Disposition: attachment
  } catch (error) {
    showError(error);
  }
}

function holdToggle(session) {
  const button = el("button", { type: "button", class: "toggle", "aria-pressed": String(Boolean(session.onHold)) },
    session.onHold ? "On hold" : "Place on hold");
  button.title = "A held session survives retention and purge";
  button.addEventListener("click", async () => {
    const holding = button.getAttribute("aria-pressed") !== "true";
    try {
      await call(holding ? "PUT" : "DELETE", `sessions/${encodeURIComponent(session.id)}/hold`);
      button.setAttribute("aria-pressed", String(holding));
      button.textContent = holding ? "On hold" : "Place on hold";
      notify(holding ? "The session is on hold." : "The hold is released.");
    } catch (error) {
      showError(error);
    }
  });
  return button;
}

// ---- one file session: its events and exports ------------------------------------------------------------------
async function fileSessionView(id) {
  const path = `file-sessions/${encodeURIComponent(id)}`;
  const { events } = await getJson(`${path}/events`);
  const known = state.fileSessions.get(id);
  const title = known ? `${known.protocol.toUpperCase()} session on ${known.connectionName || known.connectionId}`
    : `File session ${id}`;
  const actions = el("div", { class: "actions" },
    el("button", { type: "button", onclick: () => exportFile(id, "json") }, "Export JSON"),
    el("button", { type: "button", onclick: () => exportFile(id, "csv") }, "Export CSV"));
  if (state.canDelete) {
    actions.append(el("button", { type: "button", class: "danger", onclick: async () => {
      if (!await confirmDialog("Delete this file session?", "Its events go too. It cannot be undone.", "Delete")) return;
      try {
        await call("DELETE", path);
        notify("File session deleted.");
        go("#/files");
      } catch (error) {
        showError(error);
      }
    } }, "Delete file session"));
  }
  const table = events.length
    ? el("div", { class: "table-wrap" }, el("table", { class: "list", id: "file-events" },
        el("thead", {}, el("tr", {}, ["Time", "Action", "Path", "Detail"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, events.map((e) => el("tr", {},
          el("td", {}, when(e.timestamp)), el("td", {}, el("span", { class: `action ${e.action}` }, e.action)),
          el("td", { class: "path" }, e.path), el("td", {}, detailText(e.detail)))))))
    : el("p", { class: "empty" }, "No events.");
  mount(backLink(state.lastList.startsWith("#/files") ? state.lastList : "#/files", "File sessions"), heading(title),
    known ? metaList([["User", known.username || known.userId], ["Started", when(known.startedAt)],
                      ["Ended", when(known.endedAt)], ["Events", String(events.length)]]) : "",
    actions, table);
}

function detailText(detail) {
  if (detail === null || detail === undefined) return "";
  if (typeof detail === "string") return detail;
  if (typeof detail.size === "number" && Object.keys(detail).length === 1) return bytes(detail.size);
  return JSON.stringify(detail);
}

// fetch, then save the Blob under the name the API gives (Content-Disposition), so an error shows as text
async function exportFile(id, format) {
  try {
    const response = await call("GET", `file-sessions/${encodeURIComponent(id)}/export`, { query: { format } });
    const blob = await response.blob();
    const named = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
    const link = el("a", { href: URL.createObjectURL(blob), download: named ? named[1] : `file-session-${id}.${format}` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    notify(`Exported ${format.toUpperCase()}.`);
  } catch (error) {
    showError(error);
  }
}

// ---- the access log (settings.manage) --------------------------------------------------------------------------
async function accessLogView(query) {
  let found;
  try {
    found = await getJson("access-log", { limit: PAGE_SIZE, cursor: query.cursor });
  } catch (error) {
    mount(heading("Access log"), el("p", { class: "empty" }, "The access log cannot be shown."));
    throw error;
  }
  const rows = found.entries.map((e) => el("tr", {},
    [when(e.at), e.username || e.userId, e.action, e.target, e.ip].map((cell) => el("td", {}, cell ?? ""))));
  mount(heading("Access log"), rows.length
    ? el("div", { class: "table-wrap" }, el("table", { class: "list", id: "access-log-table" },
        el("thead", {}, el("tr", {}, ["At", "User", "Action", "Target", "IP"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows)))
    : el("p", { class: "empty" }, "Nothing logged yet."),
  pager("#/access-log", query, found.nextCursor));
}

// ---- start ----------------------------------------------------------------------------------------------------
async function start() {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("purge").addEventListener("click", purge);
  window.addEventListener("hashchange", route);
  try {
    await checkSignedIn();
  } catch (error) {
    if (error.status === 401) {
      // a token that is there but refused (expired, another key) says why; no token at all just asks for one
      showSignIn(readToken() ? error.message : "");
    } else {
      showError(error);
    }
    return;
  }
  await entered();
}

window.viewer = { state, apiUrl, errorText };  // for the browser tests and the curious
start();

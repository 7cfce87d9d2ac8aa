// Small DOM and formatting helpers. Text from the API only ever goes in as text (never as HTML).

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "style") node.setAttribute("style", value);
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// seconds -> "m:ss" (or "h:mm:ss"); tenths below ten seconds of a bucket width, so 0.5 s bars read right
export function clock(seconds) {
  const value = Math.max(0, Number(seconds) || 0);
  const whole = Math.floor(value);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const tenths = value % 1 ? `.${Math.floor((value % 1) * 10)}` : "";
  const ss = String(s).padStart(2, "0") + tenths;
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

export function bytes(n) {
  const value = Number(n) || 0;
  if (value < 1024) return `${value} B`;
  const units = ["KB", "MB", "GB", "TB", "PB"];
  let scaled = value;
  let unit = -1;
  do {
    scaled /= 1024;
    unit += 1;
  } while (scaled >= 1024 && unit < units.length - 1);
  return `${scaled.toFixed(scaled < 10 ? 1 : 0)} ${units[unit]}`;
}

// An answer's time: ISO 8601, or the gateway's form (TIMESTAMP_FORMAT=gateway: "YYYY-MM-DD HH:MM:SS", UTC), which
// new Date() alone would read as local time.
const GATEWAY_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;
export const moment = (text) => new Date(GATEWAY_TIME.test(text) ? `${text.replace(" ", "T")}Z` : text);

// an answer's time -> local "YYYY-MM-DD HH:MM:SS"; empty for none
export function when(iso) {
  if (!iso) return "";
  const date = moment(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const two = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

export function span(startIso, endIso) {
  if (!startIso || !endIso) return "";
  const seconds = (moment(endIso) - moment(startIso)) / 1000;
  return Number.isFinite(seconds) && seconds >= 0 ? clock(Math.round(seconds)) : "";
}

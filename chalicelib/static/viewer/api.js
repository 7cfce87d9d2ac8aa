// The viewer's side of the API: where it lives, the token cookie, calls, error text, what the caller may do.

// This module is served at <api>/viewer/api.js, so the API is one level up (works at / and under /api/v1/ alike).
export const API_BASE = new URL("..", import.meta.url);

export const COOKIE = "gatwy_token";

export function apiUrl(path, query = {}) {
  const url = new URL(path, API_BASE);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  return url.href;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

// The API and its gateway answer {"error": "..."}; an API Gateway without this stack's gateway responses answers
// {"message": ...}; a proxy may answer with no JSON at all. The text shown is the first of these that exists.
export async function errorText(response) {
  try {
    const body = await response.clone().json();
    if (body && typeof body.error === "string") return body.error;
    // not the service's answer but the gateway's in front of it (a route this deployment does not have)
    if (body && typeof body.message === "string") return `not available here (${response.status}: ${body.message})`;
  } catch {
    // not JSON: fall through to the status line
  }
  return `${response.status} ${response.statusText || "error"}`.trim();
}

export async function call(method, path, { query, body, redirect } = {}) {
  const init = { method, credentials: "include", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (redirect) init.redirect = redirect;
  let response;
  try {
    response = await fetch(apiUrl(path, query), init);
  } catch (error) {
    throw new ApiError(0, `network error: ${error.message}`);
  }
  if (!response.ok) throw new ApiError(response.status, await errorText(response));
  return response;
}

export const getJson = async (path, query) => (await call("GET", path, { query })).json();
export const sendJson = async (method, path, body) => (await call(method, path, { body })).json();

// ---- the token: pasted once, kept in the cookie the API reads (same origin, so every call carries it) -------
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function cleanToken(pasted) {
  const token = pasted.trim().replace(/^Bearer\s+/i, "");
  if (!TOKEN_SHAPE.test(token)) {
    throw new ApiError(0, "that is not a token: a JWT is three base64url parts separated by dots");
  }
  return token;
}

// The first gatwy_token cookie, read exactly as the API reads the Cookie header (chalicelib/api/auth.py,
// cookie_value), so that with two of them the page and the API pick the same one.
export function readToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.split("=");
    if (!rest.length || name.trim() !== COOKIE) continue;
    let value = rest.join("=").trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value || null;
  }
  return null;
}

export function storeToken(token) {
  const claimed = decodeClaims(token);
  const attributes = ["path=/", "SameSite=Strict"];
  if (location.protocol === "https:") attributes.push("Secure");
  // gone when the token is: a stale cookie would only earn 401s
  if (claimed && Number.isFinite(claimed.exp)) attributes.push(`expires=${new Date(claimed.exp * 1000).toUTCString()}`);
  document.cookie = `${COOKIE}=${token}; ${attributes.join("; ")}`;
}

export function clearToken() {
  document.cookie = `${COOKIE}=; path=/; SameSite=Strict; max-age=0`;
}

export function decodeClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "=")), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

// ---- what the caller may do, for display only: the API decides, and its 403 text is shown when it refuses ----
// The token's `permissions` claim when it has one; else its role through the service's default ROLE_PERMISSIONS
// (an operator who changed that mapping may see a button the API then refuses). `settings.manage` is not guessed:
// the caller has it when GET /sessions/storage answers 200 (see probeManage).
const DEFAULT_ROLE_PERMISSIONS = {
  admin: ["sessions.view_own", "sessions.view_any", "sessions.delete", "settings.manage", "sessions.ingest"],
  user: ["sessions.view_own"],
};

export function whoAmI() {
  const token = readToken();
  const claims = token ? decodeClaims(token) : null;
  if (!claims) return { known: false, name: "", role: "", permissions: new Set() };
  const permissions = Array.isArray(claims.permissions)
    ? claims.permissions
    : DEFAULT_ROLE_PERMISSIONS[claims.role] ?? [];
  return {
    known: true,
    name: String(claims.username || claims.userId || claims.sub || ""),
    userId: String(claims.userId ?? claims.sub ?? ""),
    role: String(claims.role || ""),
    exp: claims.exp,
    permissions: new Set(permissions),
  };
}

// The admin JSON API, called with the bearer token kept in sessionStorage
// (never a cookie: a request from another site carries nothing).

const KEY = 'flags.admin.token';

// The page is served at <admin root>/_ui/; the API is the admin root.
export const base = new URL('../', location.href).pathname;

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(value) {
  sessionStorage.setItem(KEY, value);
}

export function forgetToken() {
  sessionStorage.removeItem(KEY);
}

// A refused request: the status and the API's `{error, message, errors}`.
export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : 'HTTP ' + status);
    this.status = status;
    this.body = body || {};
  }

  // The field errors of a 400, as "field: message" lines.
  fieldErrors() {
    const errors = Array.isArray(this.body.errors) ? this.body.errors : [];
    if (errors.length === 0) return [this.message];
    return errors.map((e) => (e.field ? e.field + ': ' : '') + e.message);
  }
}

// Called when a request comes back 401: the token was revoked or mistyped.
let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

// `version`, when given, is sent as If-Match: the write applies only to
// the flags the user was looking at.
export async function call(method, path, { body, version, auth } = {}) {
  const headers = {
    Accept: 'application/json',
    Authorization: 'Bearer ' + (auth || token() || ''),
  };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (version !== undefined && version !== null) headers['If-Match'] = '"' + version + '"';
  const resp = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  });
  let data = null;
  try {
    data = await resp.json();
  } catch (_) {
    data = null;
  }
  if (!resp.ok) {
    if (resp.status === 401 && !auth) onUnauthorized();
    throw new ApiError(resp.status, data);
  }
  return data;
}

export const get = (path) => call('GET', path);

// A flag's path under the admin root (names may hold any character).
export function flagPath(name, rest) {
  return encodeURIComponent(name) + (rest || '');
}

// The guard's state, or null when no guard is attached (404 no_guard).
export async function guardState() {
  try {
    return await get('_guard');
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

// The API: the access token lives in this module only (never in storage or cookies); the
// refresh token is the server's HttpOnly cookie. Refreshes are serialized within the tab.

const BASE = '/api/v1';
const CSRF = { 'X-VibeBox-CSRF': '1' };
let token = null;
let me = null;
let timer = 0;
let pending = null;
const watchers = new Set();

export class ApiError extends Error {
  constructor(status, body) {
    let detail = body?.detail || body?.title || (status ? `The server answered ${status}` : 'Cannot reach the server');
    // A server error names the id its details were logged under: worth quoting to the operator.
    if (status >= 500 && body?.correlation_id) detail += ` (error id ${body.correlation_id})`;
    super(detail);
    this.status = status;
    this.detail = detail;
    this.code = body?.code;
    this.field = body?.field;
    this.correlationId = body?.correlation_id;
  }
}

export const user = () => me;
export const signedIn = () => !!token;
export const onAuth = (f) => watchers.add(f);
export function setUser(u) { me = u; watchers.forEach((f) => f(me)); }

async function problem(r) {
  let body = null;
  try { body = await r.json(); } catch { /* not JSON */ }
  return new ApiError(r.status, body);
}

function setSession(b) {
  token = b.access_token;
  const ttl = Number(b.expires_in) || 900;
  keepAlive(Math.max(5, ttl - Math.min(60, ttl / 5)));
  setUser(b.user);
}
// Refreshes shortly before the access token expires; retries while the server is unreachable.
function keepAlive(seconds) {
  clearTimeout(timer);
  timer = setTimeout(() => refresh().catch(() => keepAlive(10)), seconds * 1000);
}
function clearSession() {
  const was = token || me;
  token = null;
  clearTimeout(timer);
  if (was) setUser(null);
}

async function sessionCall(method, path, body) {
  let r;
  try {
    r = await fetch(BASE + path, {
      method, credentials: 'same-origin', cache: 'no-store',
      headers: body ? { ...CSRF, 'Content-Type': 'application/json' } : CSRF,
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch { throw new ApiError(0); }
  return r;
}

/** Trades the refresh cookie for an access token. true: signed in; false: signed out. */
export function refresh() {
  if (!pending) {
    pending = (async () => {
      try {
        const r = await sessionCall('POST', '/auth/session/refresh');
        if (r.ok) { setSession(await r.json()); return true; }
        if (r.status === 401 || r.status === 403 || r.status === 404) { clearSession(); return false; }
        throw await problem(r);
      } finally { pending = null; }
    })();
  }
  return pending;
}

export async function signIn(email, password) {
  const r = await sessionCall('POST', '/auth/session', { email, password });
  if (!r.ok) throw await problem(r);
  setSession(await r.json());
}

export async function register(email, password, display_name) {
  const r = await sessionCall('POST', '/auth/register', { email, password, display_name });
  if (!r.ok) throw await problem(r);
  await signIn(email, password);
}

export async function signOut() {
  try { await sessionCall('DELETE', '/auth/session'); } finally { clearSession(); }
}

/** A JSON call; on 401 it refreshes once and retries. */
export async function api(method, path, body) {
  for (let attempt = 0; ; attempt++) {
    const headers = {};
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let r;
    try {
      r = await fetch(BASE + path, { method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
    } catch { throw new ApiError(0); }
    if (r.status === 401 && attempt === 0 && await refresh()) continue;
    if (r.status === 401) clearSession();
    if (!r.ok) throw await problem(r);
    if (r.status === 204) return null;
    const t = await r.text();
    return t ? JSON.parse(t) : null;
  }
}
export const get = (p) => api('GET', p);
export const post = (p, b) => api('POST', p, b ?? {});
export const patch = (p, b) => api('PATCH', p, b);
export const del = (p) => api('DELETE', p);
export const items = (r) => (Array.isArray(r) ? r : r?.items || []);

/** Every page of a list (at most `max` items). */
export async function all(path, max = 2000) {
  const out = [];
  let cursor = '';
  const sep = path.includes('?') ? '&' : '?';
  do {
    const r = await get(`${path}${sep}limit=500${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
    out.push(...items(r));
    cursor = Array.isArray(r) ? null : r?.next_cursor;
  } while (cursor && out.length < max);
  return out;
}

/** The public OAuth providers; none on servers without the route. */
export async function providers() {
  try {
    const r = await fetch(BASE + '/auth/providers', { cache: 'no-store' });
    return r.ok ? items(await r.json()) : [];
  } catch { return []; }
}

/**
 * A WebSocket under /api/v1/ws that reconnects with backoff. Each (re)connect gets a
 * one-time ticket. onMessage(json, event): json is null for binary frames.
 * onState('connecting' | 'open' | 'reconnecting' | 'closed', tries).
 */
export function socket(path, { onMessage, onState = () => {}, params = {}, binary = false }) {
  let ws = null;
  let stopped = false;
  let tries = 0;
  let t = 0;
  const ctl = {
    get open() { return ws?.readyState === 1; },
    send(d) { if (ws?.readyState === 1) { ws.send(typeof d === 'object' && !(d instanceof Uint8Array) && !(d instanceof ArrayBuffer) ? JSON.stringify(d) : d); return true; } return false; },
    close() { stopped = true; clearTimeout(t); if (ws) { const w = ws; ws = null; w.close(1000); } },
    get tries() { return tries; },
  };
  function retry() {
    if (stopped) return;
    tries++;
    onState('reconnecting', tries);
    const d = Math.min(15000, 500 * 2 ** Math.min(tries - 1, 5)) * (0.75 + Math.random() / 2);
    t = setTimeout(connect, d);
  }
  async function connect() {
    if (stopped) return;
    if (!tries) onState('connecting', 0);
    let ticket;
    try { ticket = (await post('/ws-tickets')).ticket; } catch (e) {
      if (e.status === 401 || !token) { stopped = true; onState('closed', tries); return; }
      return retry();
    }
    if (stopped) return;
    const q = new URLSearchParams({ ...(typeof params === 'function' ? params() : params), ticket });
    const w = ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${BASE}/ws${path}?${q}`, ['vibebox.v1']);
    if (binary) w.binaryType = 'arraybuffer';
    w.onopen = () => { tries = 0; onState('open', 0); };
    w.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return onMessage(null, ev);
      let m;
      try { m = JSON.parse(ev.data); } catch { return; }
      onMessage(m, ev);
    };
    w.onclose = (ev) => {
      if (ws !== w || stopped) return;
      ws = null;
      // An auth close: only reconnect when the session still refreshes.
      if (ev.code === 1008 || (ev.code >= 4000 && ev.code < 5000)) {
        refresh().then((ok) => (ok ? retry() : (stopped = true, onState('closed', tries))), retry);
      } else retry();
    };
  }
  connect();
  return ctl;
}

// ---- what the signed-in user may do (the server enforces it anyway; this hides controls) ----
const roles = new Map();
export function myRole(team) {
  if (!roles.has(team)) {
    roles.set(team, all(`/teams/${team}/members`).then((ms) => ms.find((m) => m.user_id === me?.id)?.role || null,
      (e) => { roles.delete(team); throw e; }));
  }
  return roles.get(team);
}
export const forgetRoles = () => roles.clear();
onAuth(forgetRoles);

/** { role, create, admin, manages(env) } for a project. */
export async function access(project) {
  const o = project.owner;
  const uid = me?.id;
  if (o.type === 'user') {
    const own = o.id === uid;
    return { role: own ? 'owner' : null, create: own, admin: own, manages: () => own };
  }
  const role = await myRole(o.id).catch(() => null);
  const admin = role === 'admin';
  return {
    role, admin, create: admin || role === 'developer',
    manages: (env) => admin || (role === 'developer' && env.creator_id === uid),
  };
}

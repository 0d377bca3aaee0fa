// DOM helpers. User data only ever becomes text nodes or attribute values: there is no
// innerHTML anywhere in the console.

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'required', 'readOnly', 'multiple']);
const SVG = 'http://www.w3.org/2000/svg';

function add(el, kids) {
  for (const c of kids) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) add(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

function set(el, attrs) {
  for (const k in attrs) {
    const v = attrs[k];
    if (v == null || v === false) continue;
    if (k === 'style') throw new Error('no inline styles (CSP)');
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' && el.tagName === 'INPUT') el.setAttribute('value', v); // reset() restores it
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

/** h('a', {href, class}, 'text', child, [more]) → an element; strings become text nodes. */
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  if (attrs) set(el, attrs);
  add(el, kids);
  return el;
}

export function s(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const k in attrs) el.setAttribute(k, attrs[k]);
  return el;
}

// ---- page scopes: what to undo (sockets, timers) when the page is left ----
let cur = mkScope();
function mkScope() {
  return {
    dead: false, fns: [],
    add(f) { if (this.dead) f(); else this.fns.push(f); },
    get alive() { return !this.dead; },
  };
}
export const scope = () => cur;
export function leave() {
  cur.dead = true;
  for (const f of cur.fns) { try { f(); } catch (e) { console.warn(e); } }
  cur = mkScope();
  return cur;
}

let navImpl = (p) => { location.href = p; };
export const setNavigator = (f) => { navImpl = f; };
export const go = (path, replace) => navImpl(path, replace);

// ---- announcements ----
export function announce(msg) {
  const r = document.getElementById('announcer');
  if (r) { r.textContent = ''; setTimeout(() => { r.textContent = msg; }, 30); }
}
let noticeTimer = 0;
export function notify(msg, kind = 'ok') {
  const n = document.getElementById('notice');
  if (!n) return;
  n.className = 'notice ' + kind;
  n.textContent = msg;
  n.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { n.hidden = true; }, kind === 'error' ? 9000 : 4000);
}
export const fail = (e) => notify(e?.detail || e?.message || String(e), 'error');

// ---- formatting ----
export function bytes(n) {
  if (n == null || isNaN(n)) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i && n < 10 ? n.toFixed(1) : Math.round(n)) + ' ' + u[i];
}
export const mb = (n) => bytes(n * 1048576);
const rtf = typeof Intl !== 'undefined' ? new Intl.RelativeTimeFormat('en', { numeric: 'auto' }) : null;
export function ago(ts) {
  if (!ts) return '–';
  const d = (new Date(ts) - Date.now()) / 1000;
  if (isNaN(d)) return '–';
  const a = Math.abs(d);
  const [v, u] = a < 60 ? [d, 'second'] : a < 3600 ? [d / 60, 'minute'] : a < 86400 ? [d / 3600, 'hour'] : [d / 86400, 'day'];
  return rtf ? rtf.format(Math.round(v), u) : new Date(ts).toLocaleString();
}
export const time = (ts) => h('time', { datetime: ts || '', title: ts ? new Date(ts).toLocaleString() : '' }, ago(ts));
export const short = (id) => String(id || '').slice(-8);

export function slugify(name) {
  let v = String(name).normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50).replace(/-+$/, '');
  if (v.length < 3) v = (v ? v + '-' : '') + Math.random().toString(36).slice(2, 6);
  return v;
}

// ---- sparklines: an SVG polyline of the last 30 samples ----
export const SPARK_N = 30;
export function points(vals, max, w = 60, ht = 20) {
  const step = w / (SPARK_N - 1), off = SPARK_N - vals.length;
  return vals.map((v, i) => {
    const y = ht - 1 - Math.max(0, Math.min(1, (v || 0) / (max || 1))) * (ht - 2);
    return ((off + i) * step).toFixed(1) + ',' + y.toFixed(1);
  }).join(' ');
}
export function spark(test) {
  const el = s('svg', { viewBox: '0 0 60 20', preserveAspectRatio: 'none', class: 'spark', 'aria-hidden': 'true', 'data-test': test });
  const line = s('polyline', { points: '' });
  el.append(line);
  const vals = [];
  return {
    el,
    push(v, max = 100) { vals.push(v); if (vals.length > SPARK_N) vals.shift(); line.setAttribute('points', points(vals, max)); },
    clear() { vals.length = 0; line.setAttribute('points', ''); },
  };
}

// ---- status badges ----
const BUSY = new Set(['starting', 'stopping', 'resuming', 'installing', 'uninstalling', 'pending']);
export function badge(status, test) {
  const el = h('span', { class: 'badge', 'data-test': test });
  setBadge(el, status);
  return el;
}
export function setBadge(el, status) {
  el.dataset.status = status;
  el.className = 'badge s-' + status + (BUSY.has(status) ? ' busy' : '');
  el.textContent = BUSY.has(status) ? status + '…' : status;
}

// ---- forms: labels, described-by errors, problem+json field errors ----
let uid = 0;
export function field(label, input, hint) {
  if (!input.id) input.id = 'f' + ++uid;
  const id = input.id;
  input.setAttribute('aria-describedby', (hint ? id + '-hint ' : '') + id + '-err');
  const lab = input.type === 'checkbox'
    ? h('label', { for: id, class: 'check' }, input, ' ', label)
    : h('label', { for: id }, label);
  return h('div', { class: 'field' }, lab, input.type === 'checkbox' ? null : input,
    hint && h('p', { class: 'hint', id: id + '-hint' }, hint),
    h('p', { class: 'field-error', id: id + '-err', hidden: true }));
}
export const input = (name, attrs = {}) => h('input', { name, type: 'text', ...attrs });
export function select(name, options, attrs = {}) {
  return h('select', { name, ...attrs }, options.map((o) => {
    const [v, t] = Array.isArray(o) ? o : [o, o];
    return h('option', { value: v, selected: attrs.value === v }, t);
  }));
}

export function clearErrors(form) {
  for (const p of form.querySelectorAll('.field-error,.form-error')) { p.hidden = true; p.textContent = ''; }
  for (const i of form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
}
export function showError(form, e) {
  clearErrors(form);
  const msg = e?.detail || e?.message || 'Something went wrong';
  const inp = e?.field && form.querySelector(`[name="${CSS.escape(e.field)}"]`);
  const box = inp && document.getElementById(inp.id + '-err');
  if (box) {
    box.textContent = msg;
    box.hidden = false;
    inp.setAttribute('aria-invalid', 'true');
    inp.focus();
    return;
  }
  const fe = form.querySelector('.form-error');
  fe.textContent = msg;
  fe.hidden = false;
}

/** A form whose submit runs `action(form)`; errors land beside the named field. */
export function form(attrs, kids, action) {
  const submit = kids.find((k) => k instanceof Element && k.type === 'submit');
  const f = h('form', { novalidate: true, ...attrs }, kids, h('p', { class: 'form-error', role: 'alert', 'data-test': 'form-error', hidden: true }));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(f);
    if (!f.checkValidity()) {
      const bad = f.querySelector(':invalid');
      showError(f, { field: bad.name, detail: bad.validationMessage });
      return;
    }
    if (submit) { submit.disabled = true; f.setAttribute('aria-busy', 'true'); }
    try { await action(f); } catch (e) { showError(f, e); } finally {
      if (submit) submit.disabled = false;
      f.removeAttribute('aria-busy');
    }
  });
  return f;
}
export const values = (f) => Object.fromEntries(new FormData(f));

export const btn = (label, attrs = {}, onclick) => h('button', { type: 'button', class: 'btn', ...attrs, onclick }, label);

/** A destructive button: the first press arms it ("Confirm …"), the second runs it. */
export function danger(label, attrs, action) {
  let timer = 0;
  const b = btn(label, { class: 'btn small danger', ...attrs }, async () => {
    if (b.dataset.armed !== 'true') {
      b.dataset.armed = 'true';
      b.textContent = 'Confirm: ' + label.toLowerCase() + '?';
      timer = setTimeout(() => { b.dataset.armed = 'false'; b.textContent = label; }, 5000);
      return;
    }
    clearTimeout(timer);
    b.dataset.armed = 'false';
    b.textContent = label;
    b.disabled = true;
    try { await action(); } catch (e) { fail(e); } finally { b.disabled = false; }
  });
  return b;
}

/** A table that becomes stacked cards on phones (td data-label). */
export function table(cols, attrs = {}) {
  const tbody = h('tbody');
  const el = h('div', { class: 'tbl-wrap' }, h('table', { class: 'tbl', ...attrs },
    h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, c)))), tbody));
  return {
    el, tbody,
    row(cells, attrs) {
      const tr = h('tr', attrs, cells.map((c, i) => h('td', { 'data-label': cols[i] }, c)));
      tbody.append(tr);
      return tr;
    },
  };
}

export const skeleton = (n = 3) => h('div', { class: 'skel', 'aria-busy': 'true' },
  h('span', { class: 'sr-only' }, 'Loading…'), Array.from({ length: n }, () => h('div', { class: 'skel-line' })));

export const empty = (title, ...kids) => h('div', { class: 'empty', 'data-test': 'empty-state' }, h('h2', null, title), kids);

export const link = (href, text, attrs) => h('a', { href, ...attrs }, text);

/*
 * VibeBox console: entry, shell, history router. Test hooks (#id, [data-test=x] as x):
 * shell: #main #nav #nav-toggle #notice #announcer current-user signout page-error empty-state
 *   form-error (in each form). Destructive buttons take two presses (data-armed="true").
 * /login: #signin-form #email #password signin-submit oauth-<name>
 * /register: #register-form #display-name #email #password register-submit
 * /teams: #team-form #team-name #team-slug #team-description team-link
 * /teams/<id>: member-row[data-user-id] member-role member-remove team-delete
 *   #member-form #member-email #member-role; #project-form #project-name #project-slug
 * /projects: project-link #project-form (+ #project-owner)
 * /projects/<id>: env-new #env-form #env-{name,slug,base_image,cpu_limit,memory_limit,
 *   storage_limit} (field errors: #<input id>-err), env-table env-row[data-env-id] env-link
 *   env-status[data-status] env-start|env-stop|env-busy env-cpu env-mem env-health
 *   project-delete
 * /environments/<id>[/tab]: #env-status env-tabs tab-<name> env-error health-warnings
 *   cpu-value mem-value env-restart env-delete #env-edit-form #edit-<field>
 *   ports: #port-form #port-container #port-host #port-protocol port-row[data-port]
 *     port-share port-open port-remove
 *   variables: #var-form #var-key #var-value #var-secret var-row[data-key] var-value
 *     var-show var-replace var-delete
 *   sessions: #session-form #session-type #session-name session-row session-terminate
 *     session-terminal; extensions: #ext-form #ext-select ext-row ext-status ext-uninstall
 *   logs: #log-lines (.log-line[data-stream], .log-gap) #log-filter #log-pause #log-search
 *     log-state log-latest
 *   terminal: #terminal terminal-state[data-state] terminal-missing terminal-reconnect;
 *     ?probe=1: window.vibeboxTerminalProbe.echo(ch) → Promise<ms>, .clear(), .screen(), .connected
 * /settings/keys: #key-form #key-name input[name=scopes] #key-expiry #key-secret key-copy
 *   key-row key-revoke; /settings/devices: device-row device-revoke;
 *   /settings/audit[?team=<id>]: #audit-source audit-row audit-more
 */
import { h, leave, setNavigator, skeleton, announce, notify } from './dom.js';
import { refresh, signedIn, signOut, onAuth, user } from './api.js';
import * as P from './pages.js';
import * as E from './envs.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const account = document.getElementById('account');
const toggle = document.getElementById('nav-toggle');
let booted = false;

const routes = [
  [/^\/login$/, P.login, true],
  [/^\/register$/, P.register, true],
  [/^\/$/, P.home],
  [/^\/teams$/, P.teams],
  [/^\/teams\/([^/]+)$/, P.team],
  [/^\/projects$/, P.projects],
  [/^\/projects\/([^/]+)$/, E.project],
  [/^\/environments\/([^/]+)(?:\/([a-z]+))?$/, E.environment],
  [/^\/settings(?:\/([a-z]+))?$/, P.settings],
];

function route(path) {
  for (const [re, fn, pub] of routes) {
    const m = re.exec(path);
    if (m) return { fn, pub: !!pub, args: m.slice(1).map((x) => x && decodeURIComponent(x)) };
  }
  return { fn: P.notFound, pub: false, args: [] };
}

function navigate(path, replace) {
  history[replace ? 'replaceState' : 'pushState'](null, '', path);
  render(true);
}
setNavigator(navigate);

async function render(focus) {
  const sc = leave();
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const r = route(path);
  markNav(path);
  setMenu(false);
  if (!r.pub && !signedIn()) {
    if (booted) navigate('/login' + (path === '/' ? '' : '?next=' + encodeURIComponent(path + location.search)), true);
    return;
  }
  if (r.pub && signedIn()) return navigate(P.nextPath(), true);
  const root = h('div', { class: 'page' }, skeleton());
  main.replaceChildren(root);
  try {
    await r.fn(root, ...r.args);
  } catch (e) {
    if (!sc.alive) return;
    root.replaceChildren(h('section', { class: 'card error-panel', 'data-test': 'page-error', role: 'alert' },
      h('h1', { tabindex: '-1' }, e.status === 404 ? 'Not found' : 'Something went wrong'),
      h('p', null, e.detail || e.message || String(e)),
      h('p', null, h('a', { href: '/' }, 'Back to the dashboard'))));
  }
  if (focus && sc.alive) {
    const t = root.querySelector('h1');
    if (t) { t.tabIndex = -1; t.focus({ preventScroll: true }); announce(t.textContent); }
    window.scrollTo(0, 0);
  }
}

function markNav(path) {
  for (const a of nav.querySelectorAll('a')) {
    const p = a.getAttribute('href');
    const on = p === '/' ? path === '/' : path.startsWith(p.replace(/\/keys$/, ''));
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

function setMenu(open) {
  toggle.setAttribute('aria-expanded', String(open));
  document.body.classList.toggle('menu-open', open);
}
toggle.addEventListener('click', () => setMenu(toggle.getAttribute('aria-expanded') !== 'true'));

function shell() {
  const u = user();
  toggle.hidden = !u;
  nav.replaceChildren(...(u ? [['/', 'Dashboard'], ['/teams', 'Teams'], ['/projects', 'Projects'], ['/settings/keys', 'Settings']]
    .map(([href, t]) => h('a', { href }, t)) : []));
  account.replaceChildren(...(u ? [
    h('span', { class: 'who', 'data-test': 'current-user', title: u.email }, u.display_name || u.email),
    h('button', { type: 'button', class: 'btn small ghost', 'data-test': 'signout', onclick: async () => {
      try { await signOut(); } catch { /* signed out locally anyway */ }
      notify('Signed out');
    } }, 'Sign out'),
  ] : [h('a', { href: '/login', class: 'btn small ghost' }, 'Sign in')]));
  markNav(location.pathname);
}

onAuth((u) => {
  shell();
  if (!u && booted && !here().pub) navigate('/login', true);
});

document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a[href]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target || a.hasAttribute('download')) return;
  const u = new URL(a.href, location.href);
  if (u.origin !== location.origin || u.pathname.startsWith('/api/') || u.pathname.startsWith('/assets/')) return;
  if (u.hash && u.pathname === location.pathname && u.search === location.search) return;
  e.preventDefault();
  navigate(u.pathname + u.search);
});
window.addEventListener('popstate', () => render(true));

// First paint is the static shell of index.html; public pages render at once, the rest after
// the session is restored from the refresh cookie.
const here = () => route(location.pathname.replace(/\/+$/, '') || '/');
shell();
if (here().pub) render(false);
refresh().catch((e) => { notify(e.detail || 'Cannot reach the server', 'error'); }).finally(() => {
  booted = true;
  if (!here().pub || signedIn()) render(false);
});

// Sign-in, registration, dashboard, teams, projects and settings.
import { h, form, field, input, select, values, btn, danger, table, empty, go, notify, fail, time, short, slugify, skeleton } from './dom.js';
import { get, post, patch, del, all, items, user, signIn, register as signUp, providers, myRole, forgetRoles } from './api.js';

export const title = (t) => { document.title = t ? t + ' · VibeBox' : 'VibeBox'; };
export function nextPath() {
  const n = new URLSearchParams(location.search).get('next');
  return n && /^\/(?!\/|login|register)/.test(n) ? n : '/';
}
export const head = (text, ...kids) => h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, text), kids);
export const card = (label, ...kids) => h('section', { class: 'card', 'aria-label': label }, h('h2', null, label), kids);
export const submit = (t, test) => h('button', { type: 'submit', class: 'btn primary', 'data-test': test }, t);
const ownerName = (p, teams) => p.owner.type === 'team' ? teams.get(p.owner.id)?.name || 'Team ' + short(p.owner.id) : 'Personal';
/** A member's name for labels: display name, else email, else the short id. */
function memberName(m) {
  const me = user();
  const name = m.display_name || m.email || (m.user_id === me?.id && me.display_name) || 'User ' + short(m.user_id);
  return m.user_id === me?.id ? `${name} (you)` : name;
}
/** A member's table cell: the name with the email as secondary text (text nodes only). */
const memberCell = (m) => h('div', null, memberName(m),
  m.display_name && m.email && h('div', { class: 'muted' }, m.email));

/** Fills a slug from a name until the user types their own. */
export function autoSlug(name, slug) {
  let own = false;
  slug.addEventListener('input', () => { own = !!slug.value; });
  name.addEventListener('input', () => { if (!own || !slug.value) slug.value = name.value.trim() ? slugify(name.value) : ''; });
}
const slugField = (id) => field('Slug', input('slug', { id, required: true, maxlength: 50, autocomplete: 'off' }), 'a-z, 0-9 and single hyphens, 3–50 characters.');

// ---------------------------------------------------------------- auth
const authPage = (root, heading, ...kids) => root.replaceChildren(h('section', { class: 'auth card' }, h('h1', { tabindex: '-1' }, heading), kids));
const creds = (pw) => [
  field('Email', input('email', { id: 'email', type: 'email', autocomplete: 'username', required: true })),
  field('Password', input('password', { id: 'password', type: 'password', required: true, ...pw }), pw.minlength && 'At least 8 characters.'),
];

export async function login(root) {
  title('Sign in');
  const next = nextPath();
  const oauth = h('div', { class: 'oauth' });
  authPage(root, 'Sign in to VibeBox',
    form({ id: 'signin-form', 'aria-label': 'Sign in' }, [...creds({ autocomplete: 'current-password' }), submit('Sign in', 'signin-submit')], async (f) => {
      const v = values(f);
      await signIn(v.email.trim(), v.password);
      go(next, true);
    }),
    oauth, h('p', null, 'New here? ', h('a', { href: '/register' + location.search }, 'Create an account')));
  for (const p of await providers()) {
    oauth.append(h('a', { class: 'btn', 'data-test': 'oauth-' + p.name, href: `/api/v1/auth/oauth/${encodeURIComponent(p.name)}?return_to=${encodeURIComponent(next)}` },
      'Sign in with ' + (p.display_name || p.name)));
  }
}

export async function register(root) {
  title('Create an account');
  authPage(root, 'Create your VibeBox account',
    form({ id: 'register-form', 'aria-label': 'Create an account' }, [
      field('Your name', input('display_name', { id: 'display-name', autocomplete: 'name', required: true, maxlength: 100 })),
      ...creds({ autocomplete: 'new-password', minlength: 8 }), submit('Create account', 'register-submit'),
    ], async (f) => {
      const v = values(f);
      await signUp(v.email.trim(), v.password, v.display_name.trim());
      go(nextPath(), true);
    }),
    h('p', null, 'Already have an account? ', h('a', { href: '/login' + location.search }, 'Sign in')));
}

// ---------------------------------------------------------------- dashboard
export async function home(root) {
  title('Dashboard');
  const [teams, projects] = await Promise.all([all('/teams'), all('/projects')]);
  if (!teams.length && !projects.length) {
    return root.replaceChildren(head('Welcome, ' + (user()?.display_name || 'there')), empty('Get started in three steps',
      h('ol', { class: 'steps' },
        h('li', null, h('strong', null, 'Create a team'), ': colleagues join it as admins, developers or viewers.'),
        h('li', null, h('strong', null, 'Create a project'), ' in the team to group environments.'),
        h('li', null, h('strong', null, 'Create an environment'), ' (a container with your image and limits) and start it.')),
      teamForm(), h('p', null, 'Working alone? ', h('a', { href: '/projects' }, 'Create a personal project'), ' instead.')));
  }
  root.replaceChildren(head('Dashboard'), h('div', { class: 'grid2' },
    card('Projects', projectList(projects, new Map(teams.map((t) => [t.id, t]))), h('a', { class: 'btn', href: '/projects' }, 'New project')),
    card('Teams', teamList(teams), h('a', { class: 'btn', href: '/teams' }, 'New team'))));
}

const list = (xs, f, none) => xs.length ? h('ul', { class: 'list' }, xs.map((x) => h('li', null, f(x)))) : h('p', { class: 'muted' }, none);
const teamList = (ts) => list(ts, (t) => [h('a', { href: '/teams/' + t.id, 'data-test': 'team-link' }, t.name), ' ', h('span', { class: 'muted' }, t.slug)], 'You are in no team yet.');
const projectList = (ps, teams) => list(ps, (p) => [h('a', { href: '/projects/' + p.id, 'data-test': 'project-link' }, p.name),
  teams && [' ', h('span', { class: 'muted' }, ownerName(p, teams))], p.is_archived && h('span', { class: 'badge' }, 'archived')], 'No projects yet.');

// ---------------------------------------------------------------- teams
function teamForm() {
  const name = input('name', { id: 'team-name', required: true, maxlength: 100, autocomplete: 'off' });
  const slug = slugField('team-slug');
  autoSlug(name, slug.querySelector('input'));
  return form({ id: 'team-form', class: 'sub', 'aria-label': 'Create a team' }, [field('Team name', name), slug,
    field('Description (optional)', input('description', { id: 'team-description', autocomplete: 'off' })), submit('Create team')], async (f) => {
    const v = values(f);
    const t = await post('/teams', { name: v.name.trim(), slug: v.slug.trim(), description: v.description.trim() || undefined });
    forgetRoles();
    notify(`Team ${t.name} created`);
    go('/teams/' + t.id);
  });
}

export async function teams(root) {
  title('Teams');
  root.replaceChildren(head('Teams'), card('Your teams', teamList(await all('/teams'))), card('Create a team', teamForm()));
}

export async function team(root, id) {
  const [t, members, projects] = await Promise.all([get('/teams/' + id), all(`/teams/${id}/members`), all('/projects')]);
  const me = user()?.id;
  const role = members.find((m) => m.user_id === me)?.role;
  const admin = role === 'admin';
  title(t.name);
  const tbl = table(['Member', 'Role', 'Joined', 'Actions'], { 'aria-label': 'Members' });
  const addRow = (m) => {
    const self = m.user_id === me;
    const who = memberName(m);
    let roleCell = m.role;
    if (admin) {
      roleCell = select('role', ['admin', 'developer', 'viewer'], { value: m.role, 'data-test': 'member-role', 'aria-label': 'Role of ' + who });
      roleCell.addEventListener('change', async () => {
        try {
          await patch(`/teams/${id}/members/${m.user_id}`, { role: roleCell.value });
          m.role = roleCell.value;
          forgetRoles();
          notify(`${who} is now ${m.role}`);
          if (self) go(location.pathname, true);
        } catch (e) { roleCell.value = m.role; fail(e); }
      });
    }
    const label = self ? 'Leave team' : 'Remove';
    const tr = tbl.row([memberCell(m), roleCell, time(m.joined_at), (admin || self) && danger(label, { 'data-test': 'member-remove', 'aria-label': self ? label : 'Remove ' + who }, async () => {
      await del(`/teams/${id}/members/${m.user_id}`);
      forgetRoles();
      if (self) return go('/teams');
      tr.remove();
      notify(`${who} removed`);
    })], { 'data-test': 'member-row', 'data-user-id': m.user_id });
  };
  members.forEach(addRow);
  const mine = projects.filter((p) => p.owner.type === 'team' && p.owner.id === id);
  root.replaceChildren(
    head(t.name, h('p', { class: 'muted' }, t.slug, t.description ? ' · ' + t.description : '', role ? ` · your role: ${role}` : '')),
    card('Projects', projectList(mine), role && role !== 'viewer' && projectForm([], id)),
    card('Members', tbl.el, admin ? form({ id: 'member-form', class: 'sub', 'aria-label': 'Add a member' }, [
      h('div', { class: 'row2' }, field('Email', input('email', { id: 'member-email', type: 'email', required: true, autocomplete: 'off' })),
        field('Role', select('role', ['developer', 'viewer', 'admin'], { id: 'member-role' }))),
      submit('Add member'),
    ], async (f) => {
      const v = values(f);
      const m = await post(`/teams/${id}/members`, { email: v.email.trim(), role: v.role });
      addRow({ email: v.email.trim(), ...m });
      f.reset();
      notify(`${v.email} added as ${v.role}`);
    }) : h('p', { class: 'muted' }, 'Team admins add members and change roles.')),
    admin && card('Administration', h('div', { class: 'row' }, h('a', { class: 'btn', href: '/settings/audit?team=' + id }, 'Audit log'),
      danger('Delete team', { class: 'btn danger', 'data-test': 'team-delete' }, async () => {
        await del('/teams/' + id);
        forgetRoles();
        notify(`Team ${t.name} deleted`);
        go('/teams');
      }))));
}

// ---------------------------------------------------------------- projects
function projectForm(owners, team) {
  const name = input('name', { id: 'project-name', required: true, maxlength: 100, autocomplete: 'off' });
  const slug = slugField('project-slug');
  autoSlug(name, slug.querySelector('input'));
  return form({ id: 'project-form', class: 'sub', 'aria-label': 'Create a project' }, [field('Project name', name), slug,
    !team && field('Owner', select('team_id', [['', 'Personal (only you)'], ...owners], { id: 'project-owner' })), submit('Create project')], async (f) => {
    const v = values(f);
    const p = await post('/projects', { name: v.name.trim(), slug: v.slug.trim(), team_id: team || v.team_id || undefined });
    notify(`Project ${p.name} created`);
    go('/projects/' + p.id);
  });
}

export async function projects(root) {
  title('Projects');
  const [ps, ts] = await Promise.all([all('/projects'), all('/teams')]);
  const byId = new Map(ts.map((t) => [t.id, t]));
  const tbl = table(['Project', 'Owner', 'Created'], { 'aria-label': 'Projects' });
  for (const p of ps) tbl.row([h('a', { href: '/projects/' + p.id, 'data-test': 'project-link' }, p.name), ownerName(p, byId), time(p.created_at)]);
  const slot = h('div', null, skeleton(2));
  root.replaceChildren(head('Projects'), card('All projects', ps.length ? tbl.el : h('p', { class: 'muted' }, 'No projects yet.')), card('Create a project', slot));
  const roles = await Promise.all(ts.map((t) => myRole(t.id).catch(() => null)));
  slot.replaceChildren(projectForm(ts.filter((_, i) => roles[i] && roles[i] !== 'viewer').map((t) => [t.id, t.name])));
}

// ---------------------------------------------------------------- settings
const SETTINGS = [['keys', 'API keys'], ['devices', 'Signed-in devices'], ['audit', 'Audit log']];
export async function settings(root, tab = 'keys') {
  const page = { keys, devices, audit }[tab];
  if (!page) return notFound(root);
  title(SETTINGS.find(([k]) => k === tab)[1]);
  const body = h('div', null, skeleton());
  root.replaceChildren(head('Settings'), h('nav', { class: 'tabs', 'aria-label': 'Settings' },
    SETTINGS.map(([k, t]) => h('a', { href: '/settings/' + k, 'aria-current': k === tab ? 'page' : null }, t))), body);
  await page(body);
}

const SCOPES = ['read', 'projects:write', 'environments:write', 'environments:lifecycle', 'environments:exec', 'teams:write', 'account:write'];
async function keys(body) {
  const tbl = table(['Name', 'Key', 'Scopes', 'Expires', 'Last used', 'Actions'], { 'aria-label': 'API keys' });
  const reveal = h('div');
  const load = async () => {
    const ks = await all('/users/me/api-keys');
    tbl.tbody.replaceChildren();
    for (const k of ks) {
      const tr = tbl.row([k.name, h('code', null, `${k.prefix}_…`), k.scopes.join(', '), time(k.expires_at), k.last_used_at ? time(k.last_used_at) : 'never',
        danger('Revoke', { 'data-test': 'key-revoke', 'aria-label': 'Revoke ' + k.name }, async () => {
          await del('/users/me/api-keys/' + k.id);
          tr.remove();
          notify(`Key ${k.name} revoked`);
        })], { 'data-test': 'key-row' });
    }
    if (!ks.length) tbl.row(['No API keys yet.']);
  };
  const scopes = h('fieldset', { class: 'scopes' }, h('legend', null, 'Scopes'), [...SCOPES, ...(user()?.is_platform_admin ? ['admin'] : [])].map((s) =>
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'scopes', value: s, checked: s === 'read' }), ' ', s)));
  const f = form({ id: 'key-form', 'aria-label': 'Create an API key' }, [
    field('Name', input('name', { id: 'key-name', required: true, maxlength: 100, autocomplete: 'off' })), scopes,
    field('Expires', select('expiry', [['30', 'in 30 days'], ['90', 'in 90 days'], ['365', 'in a year'], ['', 'server default']], { id: 'key-expiry', value: '90' })),
    submit('Create key'),
  ], async (f) => {
    const v = values(f);
    const k = await post('/users/me/api-keys', {
      name: v.name.trim(), scopes: [...f.querySelectorAll('[name=scopes]:checked')].map((i) => i.value),
      expires_at: v.expiry ? new Date(Date.now() + v.expiry * 864e5).toISOString() : undefined,
    });
    const secret = h('input', { id: 'key-secret', class: 'mono', readonly: true, value: k.token, 'aria-label': 'The new API key' });
    reveal.replaceChildren(h('div', { class: 'card secret', role: 'alert' }, h('h2', null, `Key “${k.name}” created`),
      h('p', { class: 'warn-text' }, 'Copy it now: it is shown only this once. VibeBox keeps only its hash.'),
      h('div', { class: 'row' }, secret, btn('Copy', { 'data-test': 'key-copy' }, async () => {
        secret.select();
        try { await navigator.clipboard.writeText(k.token); } catch { document.execCommand('copy'); }
        notify('Copied');
      }), btn('Done', { class: 'btn ghost' }, () => reveal.replaceChildren()))));
    secret.select();
    f.reset();
    await load();
  });
  body.replaceChildren(reveal, card('API keys', h('p', { class: 'muted' }, 'Keys let scripts and the CLI act as you, within their scopes.'), tbl.el), card('Create a key', f));
  await load();
}

async function devices(body) {
  const tbl = table(['Device', 'IP', 'Signed in', 'Last used', 'Expires', 'Actions'], { 'aria-label': 'Signed-in devices' });
  for (const d of await all('/users/me/sessions')) {
    const tr = tbl.row([d.user_agent || 'Unknown device', d.ip || '–', time(d.created_at), time(d.used_at || d.updated_at), time(d.expires_at),
      d.revoked_at ? 'revoked' : danger('Revoke', { 'data-test': 'device-revoke', 'aria-label': 'Revoke ' + (d.user_agent || 'device') }, async () => {
        await del('/users/me/sessions/' + d.id);
        tr.remove();
        notify('Device signed out');
      })], { 'data-test': 'device-row' });
  }
  body.replaceChildren(card('Signed-in devices', h('p', { class: 'muted' }, 'Browsers and CLIs signed in as you. A revoked one is signed out at its next refresh.'), tbl.el));
}

async function audit(body) {
  const me = user();
  const ts = await all('/teams');
  const roles = await Promise.all(ts.map((t) => myRole(t.id).catch(() => null)));
  const srcs = ts.filter((_, i) => roles[i] === 'admin').map((t) => [`/teams/${t.id}/audit`, 'Team ' + t.name]);
  if (me?.is_platform_admin) srcs.push(['/audit', 'Whole server (platform admin)']);
  if (!srcs.length) return body.replaceChildren(card('Audit log', h('p', null, 'Audit logs are for team admins and platform admins.')));
  const want = new URLSearchParams(location.search).get('team');
  const sel = select('source', srcs, { id: 'audit-source', value: want && `/teams/${want}/audit` });
  const tbl = table(['When', 'Actor', 'Action', 'Resource', 'IP'], { 'aria-label': 'Audit events' });
  const more = btn('Load older events', { 'data-test': 'audit-more', hidden: true });
  let cursor = null;
  const actor = (a) => a.user_id ? (a.user_id === me?.id ? 'you' : 'user ' + short(a.user_id)) + (a.type === 'api_key' ? ' (API key)' : '') : a.type;
  const load = async (reset) => {
    if (reset) { cursor = null; tbl.tbody.replaceChildren(); }
    more.disabled = true;
    try {
      const r = await get(sel.value + '?limit=50' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
      for (const e of items(r)) tbl.row([time(e.at), actor(e.actor), h('code', null, e.action), `${e.resource_type} ${short(e.resource_id)}`, e.ip || '–'], { 'data-test': 'audit-row', title: JSON.stringify(e.details) });
      if (reset && !items(r).length) tbl.row(['No events.']);
      cursor = r.next_cursor;
      more.hidden = !cursor;
    } catch (e) { fail(e); } finally { more.disabled = false; }
  };
  sel.addEventListener('change', () => load(true));
  more.addEventListener('click', () => load(false));
  body.replaceChildren(card('Audit log', field('Log', sel), tbl.el, more));
  await load(true);
}

export function notFound(root) {
  title('Not found');
  root.replaceChildren(h('section', { class: 'card', 'data-test': 'page-error' }, h('h1', { tabindex: '-1' }, 'Page not found'), h('a', { href: '/' }, 'Back to the dashboard')));
}

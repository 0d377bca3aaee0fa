// A project's environments (live status and metrics) and an environment's tabs.
import { h, form, field, input, select, values, btn, danger, table, go, notify, fail, announce, time, bytes, mb, spark, badge, setBadge, scope, skeleton } from './dom.js';
import { get, post, patch, del, all, socket, access, user } from './api.js';
import { title, autoSlug, notFound, card, submit } from './pages.js';

const MiB = 1048576;
const num = (v) => (v === '' || v == null ? undefined : Number(v));
const healthOf = (m) => ({ oom_kills: m.oom_kills, last_oom_kill_at: m.last_oom_kill_at, warnings: m.warnings || [] });
const crumbs = (...kids) => h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, kids.map((k, i) => [i ? ' / ' : null, k]));
const muted = (t) => h('p', { class: 'muted' }, t);

function envFields(p, e = {}) {
  const name = input('name', { id: p + 'name', required: true, maxlength: 100, value: e.name, autocomplete: 'off' });
  const slug = input('slug', { id: p + 'slug', required: true, maxlength: 50, value: e.slug, autocomplete: 'off' });
  if (!e.slug) autoSlug(name, slug);
  const n = (k, label, ph, min) => field(label, input(k, { id: p + k, type: 'number', min, step: 'any', value: e[k], placeholder: ph }));
  return [
    h('div', { class: 'row2' }, field('Name', name), field('Slug', slug, 'Unique in the project: a-z, 0-9, hyphens.')),
    field('Image', input('base_image', { id: p + 'base_image', required: true, value: e.base_image || 'vibebox/base:bookworm', autocomplete: 'off', spellcheck: 'false' })),
    h('div', { class: 'row3' }, n('cpu_limit', 'CPU (cores)', '2', '0.01'), n('memory_limit', 'Memory (MB)', '4096', '64'), n('storage_limit', 'Storage (MB)', '20480', '1')),
  ];
}

/** Start/Stop/Resume with progress; the status itself comes from the status streams. */
function lifeButton(env, apply) {
  let busy = null;
  const b = h('button', { type: 'button' });
  b.sync = () => {
    const { status: st, name } = env();
    if ((busy === 'start' || busy === 'resume') && st === 'running') busy = null;
    if (busy === 'stop' && st === 'stopped') busy = null;
    const moving = busy || { starting: 'start', stopping: 'stop', resuming: 'resume' }[st];
    const [text, test] = moving ? [{ start: 'Starting…', stop: 'Stopping…', resume: 'Resuming…' }[moving], 'env-busy']
      : st === 'running' ? ['Stop', 'env-stop'] : st === 'suspended' ? ['Resume', 'env-resume'] : ['Start', 'env-start'];
    b.textContent = text;
    b.dataset.test = test;
    b.disabled = !!moving;
    b.className = 'btn small' + (test === 'env-start' || test === 'env-resume' ? ' primary' : '');
    b.setAttribute('aria-label', text.replace('…', '') + ' ' + name);
    if (moving) b.setAttribute('aria-busy', 'true'); else b.removeAttribute('aria-busy');
  };
  b.addEventListener('click', async () => {
    const e = env();
    busy = e.status === 'running' ? 'stop' : e.status === 'suspended' ? 'resume' : 'start';
    b.sync();
    try { apply(await post(`/environments/${e.id}/${busy}`)); } catch (err) {
      fail(err);
      get('/environments/' + e.id).then(apply, () => {});
    } finally { busy = null; b.sync(); }
  });
  b.sync();
  return b;
}

function envRow(tbl, env, acc) {
  const r = { env };
  const st = badge(env.status, 'env-status');
  const note = h('span', { class: 'env-note', 'data-test': 'env-health' });
  const [cpu, mem] = [spark('env-cpu'), spark('env-mem')];
  const [cpuT, memT] = [h('span', { class: 'num' }), h('span', { class: 'num' })];
  const life = acc.manages(env) && lifeButton(() => r.env, (e) => r.set(e));
  const name = h('a', { href: '/environments/' + env.id, 'data-test': 'env-link' });
  r.tr = tbl.row([name, h('span', { class: 'stack' }, st, note), h('code', { class: 'img' }, env.base_image),
    h('span', { class: 'metric' }, cpu.el, cpuT), h('span', { class: 'metric' }, mem.el, memT),
    h('span', { class: 'actions' }, life, h('a', { href: `/environments/${env.id}/terminal`, class: 'btn small ghost', 'aria-label': 'Terminal of ' + env.name }, 'Terminal'))],
  { 'data-test': 'env-row', 'data-env-id': env.id });
  r.set = (e) => {
    const was = r.env.status;
    const x = r.env = { ...r.env, ...e };
    name.textContent = x.name;
    setBadge(st, x.status);
    if (x.status !== was) announce(`${x.name}: ${x.status}`);
    if (x.status !== 'running') { cpu.clear(); mem.clear(); cpuT.textContent = memT.textContent = '–'; }
    note.textContent = x.status === 'error' && x.error_message ? x.error_message : (x.health?.warnings || []).map((w) => '⚠ ' + w.message).join(' ');
    if (life) life.sync();
  };
  r.metrics = (m) => {
    cpu.push(m.cpu_percent, (r.env.cpu_limit || 1) * 100);
    cpuT.textContent = Math.round(m.cpu_percent) + '%';
    mem.push(m.memory_bytes, m.memory_limit_bytes || r.env.memory_limit * MiB);
    memT.textContent = bytes(m.memory_bytes);
  };
  r.set({});
  return r;
}

// ---------------------------------------------------------------- project page
export async function project(root, id) {
  const sc = scope();
  const listPath = '/environments?project_id=' + encodeURIComponent(id);
  const [p, list] = await Promise.all([get('/projects/' + id), all(listPath, 1000)]);
  const acc = await access(p);
  title(p.name);
  const rows = new Map();
  const tbl = table(['Environment', 'Status', 'Image', 'CPU', 'Memory', 'Actions'], { 'data-test': 'env-table', 'aria-label': 'Environments' });
  const none = muted(acc.create ? 'No environments yet: create one to get a container with a terminal.' : 'No environments yet.');
  const add = (env) => {
    if (rows.has(env.id)) return rows.get(env.id).set(env);
    rows.set(env.id, envRow(tbl, env, acc));
    none.hidden = true;
  };
  const remove = (eid) => {
    rows.get(eid)?.tr.remove();
    rows.delete(eid);
    none.hidden = rows.size > 0;
  };
  list.forEach(add);
  none.hidden = rows.size > 0;

  const box = h('section', { id: 'env-new-box', class: 'card', 'aria-label': 'New environment', hidden: !acc.create || rows.size > 0 });
  const show = (on) => {
    box.hidden = !on;
    toggle.setAttribute('aria-expanded', on);
    if (on) box.querySelector('input').focus();
  };
  const toggle = acc.create && btn('New environment', { class: 'btn primary', 'data-test': 'env-new', 'aria-controls': 'env-new-box', 'aria-expanded': !box.hidden + '' }, () => show(box.hidden));
  if (acc.create) {
    box.append(h('h2', null, 'New environment'), form({ id: 'env-form', 'aria-label': 'Create an environment' }, [...envFields('env-'),
      h('div', { class: 'row' }, submit('Create environment'), btn('Cancel', { class: 'btn ghost' }, () => show(false)))], async (f) => {
      const v = values(f);
      const env = await post('/environments', {
        project_id: id, name: v.name.trim(), slug: v.slug.trim(), base_image: v.base_image.trim(),
        cpu_limit: num(v.cpu_limit), memory_limit: num(v.memory_limit), storage_limit: num(v.storage_limit),
      });
      add(env);
      f.reset();
      show(false);
      notify(`Environment ${env.name} created`);
      rows.get(env.id)?.tr.querySelector('a').focus();
    }));
  }
  const teamCrumb = h('span', null, 'Team');
  if (p.owner.type === 'team') get('/teams/' + p.owner.id).then((t) => teamCrumb.replaceChildren(h('a', { href: '/teams/' + t.id }, t.name)), () => {});
  root.replaceChildren(crumbs(h('a', { href: '/projects' }, 'Projects'), p.owner.type === 'team' ? teamCrumb : 'Personal', p.name),
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, p.name), p.is_archived && h('span', { class: 'badge' }, 'archived'),
      h('div', { class: 'row end' }, toggle, acc.admin && danger('Delete project', { class: 'btn danger', 'data-test': 'project-delete' }, async () => {
        await del('/projects/' + id);
        notify(`Project ${p.name} deleted`);
        go('/projects');
      }))),
    box, card('Environments', tbl.el, none));

  // Live: the project's status stream, or polling while it cannot connect.
  let timer = 0;
  let busy = false;
  const poll = async () => {
    if (busy || !sc.alive) return;
    busy = true;
    try {
      const l = await all(listPath, 1000);
      const ids = new Set(l.map((e) => e.id));
      l.forEach(add);
      for (const k of [...rows.keys()]) if (!ids.has(k)) remove(k);
    } catch { /* next time */ } finally { busy = false; }
  };
  const ws = socket(`/projects/${id}/status`, {
    onState(s, tries) {
      if (s === 'open') timer = clearInterval(timer);
      else if (tries >= 2 && !timer) timer = setInterval(poll, 5000);
    },
    onMessage(m) {
      const r = rows.get(m.environment_id);
      const t = m.type;
      if (t === 'snapshot') {
        for (const e of m.environments || []) {
          const x = rows.get(e.environment_id);
          if (!x) poll(); else x.set({ status: e.status, error_message: e.error_message, version: e.version, ...(e.health && { health: e.health }) });
        }
      } else if (t === 'status') r ? r.set({ status: m.status, error_message: m.error_message, version: m.version }) : poll();
      else if (t === 'health') r?.set({ health: healthOf(m) });
      else if (t === 'metrics') r?.metrics(m);
      else if (t === 'created' && m.environment) {
        // The frame carries the status fields only: the row wants the whole environment.
        const eid = m.environment.environment_id;
        if (!rows.has(eid)) get('/environments/' + eid).then((e) => sc.alive && add(e), () => {});
      }
      else if (t === 'deleted') remove(m.environment_id);
      else if (t === 'dropped') poll();
    },
  });
  sc.add(() => { ws.close(); clearInterval(timer); });
}

// ---------------------------------------------------------------- environment page
const TABS = [['overview', 'Overview'], ['ports', 'Ports'], ['variables', 'Variables'], ['sessions', 'Sessions'], ['extensions', 'Extensions'], ['logs', 'Logs'], ['terminal', 'Terminal']];

export async function environment(root, id, tab = 'overview') {
  const sc = scope();
  const label = TABS.find(([k]) => k === tab)?.[1];
  if (!label) return notFound(root);
  let env = await get('/environments/' + id);
  const p = await get('/projects/' + env.project_id);
  const acc = await access(p);
  title(`${env.name} · ${label}`);
  const st = badge(env.status, 'env-status');
  st.id = 'env-status';
  st.setAttribute('role', 'status');
  const errP = h('p', { class: 'env-error', role: 'alert', 'data-test': 'env-error' });
  const name = h('h1', { tabindex: '-1' });
  const subs = new Set();
  const ctx = {
    id, project: p, can: acc.manages(env), scope: sc,
    get env() { return env; },
    set(e) {
      env = { ...env, ...e };
      name.textContent = env.name;
      setBadge(st, env.status);
      errP.textContent = env.status === 'error' ? env.error_message || 'The environment failed.' : '';
      errP.hidden = !errP.textContent;
      if (life) life.sync();
      subs.forEach((f) => f({ type: 'env' }));
    },
    on: (f) => subs.add(f),
  };
  const life = ctx.can && lifeButton(() => env, ctx.set);
  const body = h('div', { role: 'region', 'aria-label': label }, skeleton());
  root.replaceChildren(crumbs(h('a', { href: '/projects' }, 'Projects'), h('a', { href: '/projects/' + p.id }, p.name), env.name),
    h('div', { class: 'page-head' }, name, st, h('div', { class: 'row end' }, life)), errP,
    h('nav', { class: 'tabs', 'aria-label': 'Environment sections', 'data-test': 'env-tabs' }, TABS.map(([k, t]) =>
      h('a', { href: `/environments/${id}${k === 'overview' ? '' : '/' + k}`, 'data-test': 'tab-' + k, 'aria-current': k === tab ? 'page' : null }, t))),
    body);
  ctx.set({});
  root.querySelector('.tabs [aria-current]').scrollIntoView({ block: 'nearest', inline: 'nearest' });
  const ws = socket(`/environments/${id}/status`, {
    onMessage(m) {
      if (m.type === 'status') ctx.set({ status: m.status, error_message: m.error_message, version: m.version });
      else if (m.type === 'health') ctx.set({ health: healthOf(m) });
      else subs.forEach((f) => f(m));
    },
  });
  sc.add(() => ws.close());
  const tabFn = { overview, ports, variables, sessions, extensions }[tab] || (await import('./live.js'))[tab];
  return tabFn(body, ctx);
}

function overview(body, ctx) {
  const facts = h('dl', { class: 'facts' });
  const health = h('div', { 'data-test': 'health-warnings', 'aria-live': 'polite' });
  const [cpu, mem] = [spark('env-cpu'), spark('env-mem')];
  const cpuT = h('span', { 'data-test': 'cpu-value' });
  const memT = h('span', { 'data-test': 'mem-value' });
  const paint = () => {
    const e = ctx.env;
    facts.replaceChildren(...[
      ['Image', h('code', null, e.base_image)], ['CPU limit', e.cpu_limit + ' cores'], ['Memory limit', mb(e.memory_limit)], ['Storage limit', mb(e.storage_limit)],
      ['Slug', e.slug], ['Container', e.container_id ? h('code', null, e.container_id.slice(0, 12)) : 'none'], ['Created', time(e.created_at)],
      ['Status since', time(e.status_changed_at)], ['Created by', e.creator_id === user()?.id ? 'you' : 'another member'],
    ].flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
    const { warnings: w = [], oom_kills: oom, last_oom_kill_at: last } = e.health || {};
    health.replaceChildren(w.length || oom ? h('ul', { class: 'warnings' },
      w.map((x) => h('li', { 'data-code': x.code }, h('strong', null, x.code.replace(/_/g, ' ')), ': ', x.message, ' (since ', time(x.since), ')')),
      oom ? h('li', null, `${oom} OOM kill${oom > 1 ? 's' : ''}: processes exceeded the memory limit (last `, time(last), ').') : null)
      : h('p', { class: 'ok-text' }, 'No health warnings.'));
    if (e.status !== 'running') { cpu.clear(); mem.clear(); cpuT.textContent = memT.textContent = 'not running'; }
  };
  ctx.on((m) => {
    if (m.type === 'env') return paint();
    if (m.type !== 'metrics') return;
    const e = ctx.env;
    const lim = m.memory_limit_bytes || e.memory_limit * MiB;
    cpu.push(m.cpu_percent, e.cpu_limit * 100);
    cpuT.textContent = `${m.cpu_percent.toFixed(1)}% of ${e.cpu_limit} cores`;
    mem.push(m.memory_bytes, lim);
    memT.textContent = `${bytes(m.memory_bytes)} of ${bytes(lim)}`;
  });
  const metric = (l, s, t) => h('div', { class: 'metric big' }, h('span', { class: 'lbl' }, l), s.el, t);
  body.replaceChildren(card('Status and health', health, h('div', { class: 'usage' }, metric('CPU', cpu, cpuT), metric('Memory', mem, memT))), card('Details', facts),
    ctx.can && card('Actions', h('div', { class: 'row' },
      btn('Restart', { 'data-test': 'env-restart' }, async (ev) => {
        const b = ev.currentTarget;
        b.disabled = true;
        try { ctx.set(await post(`/environments/${ctx.id}/restart`)); notify('Restarted'); } catch (e) { fail(e); } finally { b.disabled = false; }
      }),
      danger('Delete environment', { class: 'btn danger', 'data-test': 'env-delete' }, async () => {
        await del('/environments/' + ctx.id);
        notify(`Environment ${ctx.env.name} deleted`);
        go('/projects/' + ctx.project.id);
      }))),
    ctx.can && card('Edit', form({ id: 'env-edit-form', 'aria-label': 'Edit environment' }, [...envFields('edit-', ctx.env),
      muted('A new image or new limits apply at the next start.'), submit('Save changes')], async (f) => {
      const v = values(f);
      const e = ctx.env;
      const b = { expected_version: e.version };
      for (const k of ['name', 'slug', 'base_image']) if (v[k].trim() !== e[k]) b[k] = v[k].trim();
      for (const k of ['cpu_limit', 'memory_limit', 'storage_limit']) if (v[k] !== '' && +v[k] !== e[k]) b[k] = +v[k];
      if (Object.keys(b).length < 2) return notify('Nothing to save');
      ctx.set(await patch('/environments/' + e.id, b));
      notify('Saved');
    })));
  paint();
}

/** A tab that lists rows, with an optional add form. */
async function listTab(body, heading, intro, cols, path, row, addForm) {
  const tbl = table(cols, { 'aria-label': heading });
  const none = muted('None yet.');
  const api = {
    add(x) { const el = row(x, () => { el.remove(); none.hidden = tbl.tbody.children.length > 0; }); tbl.tbody.append(el); none.hidden = true; },
    async load() { tbl.tbody.replaceChildren(); (await all(path)).forEach(api.add); none.hidden = tbl.tbody.children.length > 0; },
  };
  await api.load();
  body.replaceChildren(card(heading, intro && muted(intro), tbl.el, none, addForm && addForm(api)));
  return api;
}
const tr = (cols, cells, attrs) => h('tr', attrs, cells.map((c, i) => h('td', { 'data-label': cols[i] }, c)));

const PORT_COLS = ['Port', 'Host port', 'Sharing', 'Actions'];
function ports(body, ctx) {
  const id = ctx.id;
  return listTab(body, 'Ports', 'Open gives a one-time preview link to a TCP port; sharing says who else may open it.', PORT_COLS, `/environments/${id}/ports`, (pt, gone) => {
    const share = select('share_level', ['private', 'team', 'authenticated', 'public'], { value: pt.share_level, 'data-test': 'port-share', 'aria-label': `Who may open port ${pt.container_port}`, disabled: !ctx.can });
    share.addEventListener('change', async () => {
      try { Object.assign(pt, await patch(`/environments/${id}/ports/${pt.id}`, { share_level: share.value })); notify(`Port ${pt.container_port}: ${pt.share_level}`); } catch (e) { share.value = pt.share_level; fail(e); }
    });
    return tr(PORT_COLS, [`${pt.container_port}/${pt.protocol}`, pt.bound_host_port || pt.host_port || 'chosen at start', share,
      h('span', { class: 'actions' }, pt.protocol === 'tcp' && btn('Open', { 'data-test': 'port-open', 'aria-label': `Open port ${pt.container_port} in a new tab` }, () => openPreview(id, pt.container_port)),
        ctx.can && danger('Remove', { 'data-test': 'port-remove', 'aria-label': `Remove port ${pt.container_port}` }, async () => { await del(`/environments/${id}/ports/${pt.id}`); gone(); }))],
    { 'data-test': 'port-row', 'data-port': pt.container_port });
  }, ctx.can && ((api) => form({ id: 'port-form', class: 'sub', 'aria-label': 'Add a port' }, [h('div', { class: 'row3' },
    field('Container port', input('container_port', { id: 'port-container', type: 'number', min: 1, max: 65535, required: true })),
    field('Host port (optional)', input('host_port', { id: 'port-host', type: 'number', min: 1024, max: 65535 })),
    field('Protocol', select('protocol', ['tcp', 'udp'], { id: 'port-protocol' }))), submit('Add port')], async (f) => {
    const v = values(f);
    api.add(await post(`/environments/${id}/ports`, { container_port: +v.container_port, host_port: num(v.host_port), protocol: v.protocol }));
    f.reset();
    notify('Port added; it is published at the next start');
  })));
}

async function openPreview(id, port) {
  const w = window.open('', '_blank'); // opened within the click, so pop-up blockers allow it
  if (w) w.opener = null;
  try {
    const u = new URL((await post(`/environments/${id}/ports/${port}/open`)).url);
    if (!/^https?:$/.test(u.protocol)) throw new Error('unexpected preview URL');
    if (w) w.location.href = u.href; else notify('Allow pop-ups to open previews', 'error');
  } catch (e) { w?.close(); fail(e); }
}

const VAR_COLS = ['Key', 'Value', 'Actions'];
function variables(body, ctx) {
  const id = ctx.id;
  const key = input('key', { id: 'var-key', required: true, pattern: '[A-Z_][A-Z0-9_]*', autocomplete: 'off', spellcheck: 'false', class: 'mono' });
  const val = input('value', { id: 'var-value', type: 'password', autocomplete: 'new-password', class: 'mono' });
  const enc = h('input', { type: 'checkbox', name: 'is_encrypted', id: 'var-secret' });
  // Mirrors core's rule (validate::SECRET_KEY_MARKERS), which the server enforces anyway.
  key.addEventListener('input', () => {
    key.value = key.value.toUpperCase();
    enc.disabled = /API_KEY|SECRET|PASSWORD|TOKEN|PRIVATE_KEY/.test(key.value);
    if (enc.disabled) enc.checked = true;
  });
  const MASK = '••••••••';
  const row = (v, gone) => {
    const shown = h('span', { class: 'mono', 'data-test': 'var-value' }, v.is_encrypted ? MASK + ' (secret)' : MASK);
    const reveal = !v.is_encrypted && btn('Show', { class: 'btn small ghost', 'data-test': 'var-show', 'aria-pressed': 'false', 'aria-label': 'Show the value of ' + v.key }, () => {
      const open = reveal.getAttribute('aria-pressed') !== 'true';
      shown.textContent = open ? v.value : MASK;
      reveal.textContent = open ? 'Hide' : 'Show';
      reveal.setAttribute('aria-pressed', open);
    });
    return tr(VAR_COLS, [h('code', null, v.key), h('span', { class: 'stack' }, shown, reveal), ctx.can && h('span', { class: 'actions' },
      btn('Replace', { class: 'btn small', 'data-test': 'var-replace', 'aria-label': 'Replace the value of ' + v.key }, () => {
        key.value = v.key;
        key.dispatchEvent(new Event('input'));
        if (v.is_encrypted) enc.checked = true;
        val.focus();
      }),
      danger('Delete', { 'data-test': 'var-delete', 'aria-label': 'Delete ' + v.key }, async () => { await del(`/environments/${id}/variables/${encodeURIComponent(v.key)}`); gone(); }))],
    { 'data-test': 'var-row', 'data-key': v.key });
  };
  return listTab(body, 'Variables', 'Values are masked; secret values are stored encrypted and can only be replaced.', VAR_COLS, `/environments/${id}/variables`, row,
    ctx.can && ((api) => form({ id: 'var-form', class: 'sub', 'aria-label': 'Set a variable' }, [
      h('div', { class: 'row2' }, field('Key', key, 'Keys with API_KEY, SECRET, PASSWORD, TOKEN or PRIVATE_KEY are always secret.'), field('Value', val)),
      field('Secret (write-only: never shown again)', enc), submit('Save variable'),
    ], async (f) => {
      const v = await post(`/environments/${id}/variables`, { key: key.value, value: val.value, is_encrypted: enc.checked });
      body.querySelector(`tr[data-key="${CSS.escape(v.key)}"]`)?.remove();
      api.add(v);
      f.reset();
      enc.disabled = false;
      notify(`${v.key} saved; it applies at the next start`);
    })));
}

const SESSION_COLS = ['Type', 'Name', 'Status', 'Last activity', 'Actions'];
function sessions(body, ctx) {
  const id = ctx.id;
  let api;
  const row = (s) => tr(SESSION_COLS, [s.session_type.replace('_', ' '), h('code', null, s.session_name), badge(s.status), time(s.last_activity_at), h('span', { class: 'actions' },
    s.session_type === 'tmux' && h('a', { class: 'btn small ghost', 'data-test': 'session-terminal', href: `/environments/${id}/terminal?session=${encodeURIComponent(s.session_name)}` }, 'Open terminal'),
    ctx.can && s.status !== 'terminated' && btn('Terminate', { class: 'btn small danger', 'data-test': 'session-terminate', 'aria-label': 'Terminate ' + s.session_name }, async (ev) => {
      const b = ev.currentTarget;
      b.disabled = true;
      try { await del('/sessions/' + s.id); notify(`Session ${s.session_name} terminated`); await api.load(); } catch (e) { fail(e); b.disabled = false; }
    }))], { 'data-test': 'session-row', 'data-session': s.session_name });
  return listTab(body, 'Sessions', ctx.env.status !== 'running' && 'Sessions run while the environment runs.', SESSION_COLS, `/environments/${id}/sessions`, row,
    ctx.can && (() => form({ id: 'session-form', class: 'sub', 'aria-label': 'Start a session' }, [h('div', { class: 'row2' },
      field('Type', select('session_type', [['tmux', 'tmux'], ['shell', 'shell'], ['vscode_server', 'VS Code server']], { id: 'session-type' })),
      field('Name', input('session_name', { id: 'session-name', required: true, pattern: '[A-Za-z0-9_\\-]{1,64}', autocomplete: 'off' }), 'Letters, digits, _ and -.')),
    submit('Start session')], async (f) => {
      const v = values(f);
      api.add(await post(`/environments/${id}/sessions`, { session_type: v.session_type, session_name: v.session_name.trim() }));
      f.reset();
      notify(`Session ${v.session_name} started`);
    }))).then((a) => { api = a; });
}

const EXT_COLS = ['Extension', 'Version', 'Status', 'Actions'];
async function extensions(body, ctx) {
  const id = ctx.id;
  const path = `/environments/${id}/extensions`;
  const catalog = await all('/extensions');
  const byId = new Map(catalog.map((x) => [x.id, x]));
  const pick = select('extension_id', [], { id: 'ext-select', required: true });
  const have = new Set();
  let timer = 0;
  let api;
  const sync = () => {
    pick.replaceChildren(...catalog.filter((c) => !have.has(c.id)).map((c) => h('option', { value: c.extension_id }, `${c.name} (${c.extension_id} ${c.version})`)));
    clearTimeout(timer);
    if (ctx.scope.alive && body.querySelector('.badge.busy')) timer = setTimeout(() => api.load().then(sync, fail), 3000);
  };
  ctx.scope.add(() => clearTimeout(timer));
  const row = (x) => {
    const c = byId.get(x.extension_id) || { name: 'Unknown', extension_id: x.extension_id };
    have.add(x.extension_id);
    return tr(EXT_COLS, [h('span', null, c.name, ' ', h('code', null, c.extension_id)), c.version, h('span', { class: 'stack' }, badge(x.status, 'ext-status'), h('span', { class: 'env-note' }, x.error_message || '')),
      ctx.can && !['uninstalling', 'removed'].includes(x.status) && danger('Uninstall', { 'data-test': 'ext-uninstall', 'aria-label': 'Uninstall ' + c.name }, async () => {
        await del(`${path}/${x.extension_id}`);
        have.delete(x.extension_id);
        notify(`${c.name} is being removed`);
        await api.load();
        sync();
      })], { 'data-test': 'ext-row', 'data-extension': c.extension_id });
  };
  api = await listTab(body, 'VS Code extensions', catalog.length ? '' : 'The extension catalog is empty: platform admins add extensions.', EXT_COLS, path, row,
    ctx.can && catalog.length && (() => form({ id: 'ext-form', class: 'sub', 'aria-label': 'Install an extension' }, [field('Extension', pick), submit('Install')], async () => {
      await post(path, { extension_id: pick.value });
      notify('Installation requested');
      await api.load();
      sync();
    })));
  sync();
}

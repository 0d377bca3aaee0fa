// The live tabs of an environment, loaded on demand: the log viewer and the terminal.
import { h, btn, select, field } from './dom.js';
import { socket } from './api.js';

const MAX_LINES = 5000;

/** [[text, isMatch], …]: `text` cut around case-insensitive occurrences of `q`. */
export function splitMatches(text, q) {
  if (!q) return [[text, false]];
  const out = [];
  const lt = text.toLowerCase();
  const lq = q.toLowerCase();
  let i = 0;
  let j;
  while ((j = lt.indexOf(lq, i)) !== -1) {
    if (j > i) out.push([text.slice(i, j), false]);
    out.push([text.slice(j, j + lq.length), true]);
    i = j + lq.length;
  }
  if (i < text.length) out.push([text.slice(i), false]);
  return out;
}

// ---------------------------------------------------------------- logs
export function logs(body, ctx) {
  const box = h('div', { id: 'log-lines', class: 'log-lines', role: 'log', 'aria-label': 'Log lines', tabindex: '0', 'data-filter': 'all' });
  const filter = select('stream', [['all', 'All'], ['stdout', 'stdout'], ['stderr', 'stderr']], { id: 'log-filter' });
  const pause = btn('Pause', { id: 'log-pause', 'aria-pressed': 'false' });
  const search = h('input', { id: 'log-search', type: 'search', autocomplete: 'off', spellcheck: 'false', placeholder: 'Filter lines…' });
  const state = h('span', { class: 'muted', 'data-test': 'log-state', 'aria-live': 'polite' }, 'Connecting…');
  const found = h('span', { class: 'muted', 'aria-live': 'polite' });
  const latest = btn('Jump to latest', { class: 'btn small', 'data-test': 'log-latest', hidden: true }, () => {
    stick = true;
    box.scrollTop = box.scrollHeight;
    latest.hidden = true;
  });
  let stick = true;
  let paused = false;
  let q = '';
  let queue = [];
  let raf = 0;
  let ws = null;
  const keys = new Set();

  box.addEventListener('scroll', () => {
    stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
    if (stick) latest.hidden = true;
  });
  const paint = (el) => {
    el.lastChild.replaceChildren(...splitMatches(el._msg, q).map(([t, hit]) => (hit ? h('mark', null, t) : t)));
    el.classList.toggle('nomatch', !!q && !el._msg.toLowerCase().includes(q.toLowerCase()));
  };
  const line = (m, key) => {
    const el = h('div', { class: 'log-line', 'data-stream': m.stream, 'data-msg': '' },
      h('time', { datetime: m.timestamp, title: m.timestamp }, String(m.timestamp).slice(11, 23)), ' ',
      h('span', { class: 'stream' }, m.stream), ' ', h('span', { class: 'msg' }));
    el._msg = String(m.message);
    el._key = key;
    paint(el);
    return el;
  };
  const mark = (text) => h('div', { class: 'log-line log-gap', 'data-stream': 'all' }, '⋯ ', text);
  const flush = () => {
    raf = 0;
    box.append(...queue);
    queue = [];
    while (box.childElementCount > MAX_LINES) {
      keys.delete(box.firstElementChild._key);
      box.firstElementChild.remove();
    }
    if (stick) box.scrollTop = box.scrollHeight; else latest.hidden = false;
    if (q) count();
  };
  const push = (el) => {
    queue.push(el);
    if (queue.length > MAX_LINES) keys.delete(queue.shift()._key);
    if (!raf) raf = requestAnimationFrame(flush);
  };
  const count = () => {
    const n = q ? box.querySelectorAll('.log-line[data-msg]:not(.nomatch)').length : 0;
    found.textContent = q ? `${n} matching line${n === 1 ? '' : 's'}` : '';
  };
  let t = 0;
  search.addEventListener('input', () => {
    clearTimeout(t);
    t = setTimeout(() => {
      q = search.value;
      for (const el of box.querySelectorAll('.log-line[data-msg]')) paint(el);
      count();
    }, 120);
  });
  filter.addEventListener('change', () => {
    box.dataset.filter = filter.value;
    ws?.send({ type: 'filter', stream: filter.value });
  });
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(paused));
    ws?.send({ type: paused ? 'pause' : 'resume' });
    state.textContent = paused ? 'Paused: new lines are counted, not shown' : 'Live';
  });
  const STATES = { connecting: 'Connecting…', open: 'Live', reconnecting: 'Reconnecting…', closed: 'Disconnected' };
  ws = socket(`/environments/${ctx.id}/logs`, {
    onState(s) {
      state.dataset.state = s;
      state.textContent = s === 'open' && paused ? 'Paused' : STATES[s];
      if (s === 'open') {
        if (filter.value !== 'all') ws.send({ type: 'filter', stream: filter.value });
        if (paused) ws.send({ type: 'pause' });
      }
    },
    onMessage(m) {
      if (!m) return;
      if (m.type === 'log') {
        const key = `${m.timestamp}|${m.stream}|${m.message}`;
        if (keys.has(key)) return; // the history sent again after a reconnect
        keys.add(key);
        push(line(m, key));
      } else if (m.type === 'gap') push(mark(`${m.lines ?? 'Some'} lines lost: ${m.message}`));
      else if (m.type === 'dropped') push(mark(`${m.count} line${m.count === 1 ? '' : 's'} not shown (paused or arriving too fast)`));
      else if (m.type === 'error') state.textContent = m.message;
    },
  });
  ctx.scope.add(() => { ws.close(); cancelAnimationFrame(raf); clearTimeout(t); });
  body.replaceChildren(h('section', { class: 'card' },
    h('div', { class: 'toolbar' }, field('Stream', filter), field('Search', search), pause, state, found, latest), box));
}

// ---------------------------------------------------------------- terminal
const vendor = new URL('../vendor/', import.meta.url);
let loading = null;
function load(file) {
  return new Promise((ok, ko) => {
    const href = new URL(file, vendor).href;
    const el = file.endsWith('.css') ? h('link', { rel: 'stylesheet', href }) : h('script', { src: href });
    el.addEventListener('load', ok);
    el.addEventListener('error', () => ko(new Error('Could not load ' + file)));
    document.head.append(el);
  });
}
const xterm = () => (loading ||= Promise.all(['xterm.css', 'xterm.js', 'addon-fit.js', 'addon-canvas.js'].map(load)).catch((e) => { loading = null; throw e; }));

export async function terminal(body, ctx) {
  const sc = ctx.scope;
  const params = new URLSearchParams(location.search);
  const session = params.get('session') || 'main';
  if (document.querySelector('meta[name="vibebox-terminal"][content="missing"]')) {
    body.replaceChildren(h('p', { class: 'card', role: 'alert', 'data-test': 'terminal-missing' },
      'Terminal assets are not installed on this server (run scripts/console-assets)'));
    return;
  }
  const state = h('span', { class: 'term-state', 'data-test': 'terminal-state', 'data-state': 'connecting', role: 'status' }, 'Loading the terminal…');
  const again = btn('Reconnect', { class: 'btn small', 'data-test': 'terminal-reconnect', hidden: true });
  const box = h('div', { id: 'terminal', class: 'term' });
  const wrap = h('div', { class: 'term-wrap' }, box);
  body.replaceChildren(h('div', { class: 'term-bar' }, h('span', null, 'tmux session ', h('code', null, session)), state, again), wrap,
    h('p', { class: 'hint' }, 'Select text to copy it. Paste with Ctrl+V (⌘V) or the right-click menu. The tmux session survives reconnects.'));
  try { await xterm(); } catch (e) { state.textContent = e.message; return; }
  if (!sc.alive) return;

  const term = new window.Terminal({
    cursorBlink: true, fontSize: 14, scrollback: 5000, allowProposedApi: false,
    fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
    theme: { background: '#0d1117', foreground: '#e6edf3' },
  });
  // The canvas renderer before open(): xterm then never builds its DOM renderer, whose <style>
  // elements the CSP refuses.
  term.loadAddon(new window.CanvasAddon.CanvasAddon());
  const fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(box);
  fit.fit();

  const enc = new TextEncoder();
  let ws = null;
  let exited = false;
  let seen = null;
  const setState = (s, text) => {
    state.dataset.state = s;
    state.textContent = text;
    wrap.classList.toggle('dim', s !== 'open');
    again.hidden = s !== 'exited';
  };
  const connect = () => {
    exited = false;
    ws = socket(`/environments/${ctx.id}/terminal`, {
      binary: true,
      params: () => ({ session, cols: term.cols, rows: term.rows }),
      onState(s) {
        if (exited) return;
        if (s === 'open') { setState('open', 'Connected'); term.focus(); } else if (s === 'closed') setState('closed', 'Disconnected');
        else setState(s, s === 'reconnecting' ? 'Reconnecting…' : 'Connecting…');
      },
      onMessage(m, ev) {
        if (!m) {
          const u8 = new Uint8Array(ev.data);
          if (seen) seen(u8);
          term.write(u8);
        } else if (m.type === 'exit') {
          exited = true;
          ws.close();
          setState('exited', 'Session ended' + (m.code != null ? ` (exit code ${m.code})` : ''));
        } else if (m.type === 'error') {
          term.write('\r\n\x1b[31m' + String(m.message).replace(/[\x00-\x1f\x7f]/g, ' ') + '\x1b[0m\r\n');
        }
      },
    });
  };
  const disconnect = () => { ws?.close(); ws = null; };
  const follow = () => {
    const st = ctx.env.status;
    // Connecting resumes a suspended environment.
    if (st === 'running' || st === 'suspended') { if (!ws && !exited) connect(); } else if (st !== 'resuming') {
      disconnect();
      setState('waiting', `The environment is ${st}: the terminal connects when it runs.`);
    }
  };
  again.addEventListener('click', () => { disconnect(); connect(); });
  ctx.on((m) => { if (m.type === 'env') follow(); });

  term.onData((d) => ws?.send(enc.encode(d)));
  term.onBinary((d) => ws?.send(Uint8Array.from(d, (c) => c.charCodeAt(0) & 255)));
  term.onResize(({ cols, rows }) => ws?.send({ type: 'resize', cols, rows }));
  // Leave copy and paste shortcuts to the browser: its paste event reaches xterm's listener.
  term.attachCustomKeyEventHandler((e) => {
    if (e.type !== 'keydown') return true;
    const k = e.key.toLowerCase();
    const mod = e.ctrlKey || e.metaKey;
    if (mod && k === 'v') return false;
    if (mod && k === 'c' && (e.shiftKey || e.metaKey || term.hasSelection())) return false;
    return true;
  });
  term.onSelectionChange(() => {
    const t = term.getSelection();
    if (t && navigator.clipboard) navigator.clipboard.writeText(t).catch(() => {});
  });
  let raf = 0;
  const ro = new ResizeObserver(() => {
    if (!raf) raf = requestAnimationFrame(() => { raf = 0; try { fit.fit(); } catch { /* hidden */ } });
  });
  ro.observe(wrap);

  if (params.get('probe') === '1') {
    // Keystroke-to-echo latency, measured in the page: send a key, wait for it in the output.
    window.vibeboxTerminalProbe = {
      get connected() { return !!ws?.open; },
      echo(ch = 'x') {
        return new Promise((ok, ko) => {
          const code = ch.charCodeAt(0);
          const timer = setTimeout(() => { seen = null; ko(new Error('no echo within 5 s')); }, 5000);
          const t0 = performance.now();
          seen = (u8) => {
            if (!u8.includes(code)) return;
            seen = null;
            clearTimeout(timer);
            ok(performance.now() - t0);
          };
          if (!ws?.send(enc.encode(ch))) { seen = null; clearTimeout(timer); ko(new Error('not connected')); }
        });
      },
      clear() { ws?.send(enc.encode('\x15')); },
      // The rows on screen as text: what the canvas shows, read from xterm's buffer.
      screen() {
        const b = term.buffer.active;
        const rows = [];
        for (let i = 0; i < term.rows; i++) rows.push(b.getLine(b.viewportY + i)?.translateToString(true) ?? '');
        return rows.join('\n');
      },
    };
    sc.add(() => { delete window.vibeboxTerminalProbe; });
  }
  sc.add(() => {
    disconnect();
    ro.disconnect();
    cancelAnimationFrame(raf);
    // Detached first: xterm 5.3's canvas addon rebuilds a DOM renderer (with <style>) on dispose.
    wrap.remove();
    try { term.dispose(); } catch { /* that rebuild fails once disposed; harmless */ }
  });
  follow();
}

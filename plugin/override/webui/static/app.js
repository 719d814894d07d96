// steerdns console. Plain JavaScript, no framework: the page reads the override JSON API and
// the health view, renders them, and redraws when the server's event streams say something
// changed. Every string from the server goes through textContent, never innerHTML.
'use strict';

(() => {
  const TOKEN_KEY = 'steerdns.token'; // sessionStorage: the token lives in this tab only
  const WHO_KEY = 'steerdns.who';     // localStorage: a name is no secret, keep it across visits
  const HEALTH_EVERY = 5000;          // latency and last-check change without an event
  const RECENT_EVERY = 10000;         // answers per override: one bucket is 10 s

  const state = {
    revision: -1, overrides: [], audit: [], auditStale: '', health: null, drains: null, healthPending: false, healthShape: '',
    seen: '',         // the overrides as last drawn, to skip redraws that change nothing
    offset: 0,        // server clock minus browser clock, in ms
    editing: null,    // id of the override in the editor, null when creating
    started: false,
    live: {},         // event stream path -> connected
  };

  const $ = (sel) => document.querySelector(sel);

  // el builds an element: el('div', {class: 'x', dataset: {id: 1}}, 'text', child, ...).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  // ---- HTTP ----------------------------------------------------------------------------

  class APIError extends Error {
    constructor(status, body) {
      super((body && body.error) || `HTTP ${status}`);
      this.status = status;
      this.field = (body && body.field) || '';
    }
  }

  function headers() {
    const h = {};
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) h.Authorization = 'Bearer ' + token;
    // Header values must be printable ASCII; the server shortens and checks the rest.
    const who = (localStorage.getItem(WHO_KEY) || '').replace(/[^\x20-\x7e]/g, '').trim();
    if (who) h['X-User'] = who;
    return h;
  }

  async function api(method, path, body) {
    const init = { method, headers: headers(), cache: 'no-store' };
    // Every state-changing call says it is JSON, body or not: the server refuses (415) any
    // that does not, which is what keeps a cross-site form post out.
    if (method !== 'GET') init.headers['Content-Type'] = 'application/json';
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(path, init);
    if (res.status === 401) {
      askToken(sessionStorage.getItem(TOKEN_KEY) ? 'The token was refused. Enter the current one.' : '');
      throw new APIError(401, { error: 'this console needs its token' });
    }
    if (res.status === 204) return null;
    let data = null;
    try { data = await res.json(); } catch (_) { /* not JSON: the status says enough */ }
    if (!res.ok) throw new APIError(res.status, data);
    return data;
  }

  const enc = encodeURIComponent;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // ---- Token ---------------------------------------------------------------------------

  let tokenWaiters = [];
  const tokenReady = () => new Promise((r) => tokenWaiters.push(r));

  function askToken(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    $('#app').hidden = true;
    $('#login').hidden = false;
    $('#login-error').textContent = message || '';
    $('#token').focus();
  }

  async function login(ev) {
    ev.preventDefault();
    const token = $('#token').value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    try {
      await api('GET', 'api/overrides');
    } catch (e) {
      if (e.status === 401) $('#token').value = '';
      else $('#login-error').textContent = e.message;
      return;
    }
    $('#token').value = '';
    $('#login').hidden = true;
    const waiters = tokenWaiters;
    tokenWaiters = [];
    waiters.forEach((r) => r());
    start();
  }

  // ---- Event streams -------------------------------------------------------------------

  // follow reads a Server-Sent Events stream with fetch, because EventSource cannot send the
  // Authorization header, and calls onEvent for each event. It reconnects for as long as the
  // page is open.
  async function follow(path, onEvent) {
    for (;;) {
      try {
        const res = await fetch(path, { headers: headers(), cache: 'no-store' });
        if (res.status === 401) {
          askToken('The token was refused. Enter the current one.');
          await tokenReady();
          continue;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        setLive(path, true);
        // A restarted server may count revisions from the start again.
        if (path === 'api/events') state.revision = -1;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value.replace(/\r/g, '');
          let end;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + 2);
            let name = 'message';
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) name = line.slice(6).trim();
              else if (line.startsWith('data:')) data += line.slice(5).trim();
            }
            if (data) onEvent(name, data);
          }
        }
      } catch (_) { /* the server went away or restarted: retry below */ }
      setLive(path, false);
      await sleep(1000);
    }
  }

  function setLive(path, up) {
    state.live[path] = up;
    const all = Object.values(state.live).every(Boolean);
    $('#live').dataset.live = String(all);
    $('#live').textContent = all ? 'live' : 'reconnecting…';
  }

  // debounce folds a burst of events into one reload.
  function debounce(fn, ms) {
    let timer = null;
    return () => {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  // ---- Loading -------------------------------------------------------------------------

  async function loadOverrides() {
    const data = await api('GET', 'api/overrides');
    // Two loads may cross: never go back to an older revision.
    if (data.revision < state.revision) return;
    state.revision = data.revision;
    // Redraw only what changed, so that a control under the pointer stays put.
    const seen = JSON.stringify(data.overrides || []);
    if (seen === state.seen) return;
    state.seen = seen;
    state.overrides = data.overrides || [];
    renderOverrides();
  }

  async function loadAudit() {
    const data = await api('GET', 'api/audit?limit=30');
    state.audit = (data.entries || []).slice().reverse();
    // During a store outage the server answers with what this replica saw last, marked stale:
    // show it, and say that it may be out of date, rather than going blank.
    state.auditStale = data.stale ? (data.reason || 'the store is unreachable') : '';
    renderAudit();
  }

  async function loadHealth() {
    const [data, drains] = await Promise.all([api('GET', 'api/health'), api('GET', 'api/drains?limit=20')]);
    state.health = data;
    state.drains = drains;
    state.offset = Date.parse(data.now) - Date.now();
    renderHealth();
  }

  // quietly runs a background load; failures show in the notice, a 401 in the token form.
  function quietly(load) {
    return () => load().then(() => clearNotice('load'), (e) => {
      if (e.status !== 401) showNotice('load', `Could not refresh: ${e.message}`);
    });
  }

  const refreshOverrides = debounce(quietly(async () => { await loadOverrides(); await loadAudit(); }), 50);
  const refreshHealth = debounce(quietly(loadHealth), 50);

  async function start() {
    try {
      await loadOverrides();
    } catch (e) {
      if (e.status !== 401) showNotice('load', `Could not load the overrides: ${e.message}`);
      if (e.status === 401) return;
    }
    $('#app').hidden = false;
    quietly(loadAudit)();
    quietly(loadHealth)();
    if (state.started) return;
    state.started = true;
    state.live = { 'api/events': false, 'api/health/events': false };
    follow('api/events', refreshOverrides);
    follow('api/health/events', refreshHealth);
    quietly(loadRecent)();
    setInterval(() => { if (!document.hidden) quietly(loadRecent)(); }, RECENT_EVERY);
    setInterval(tick, 1000);
    setInterval(() => { if (!document.hidden) refreshHealth(); }, HEALTH_EVERY);
  }

  // ---- Notices -------------------------------------------------------------------------

  const notices = new Map();
  function showNotice(key, msg) {
    notices.set(key, msg);
    drawNotices();
  }
  function clearNotice(key) {
    if (notices.delete(key)) drawNotices();
  }
  function drawNotices() {
    const n = $('#notice');
    n.textContent = [...notices.values()].join(' ');
    n.hidden = notices.size === 0;
  }

  // ---- Time ----------------------------------------------------------------------------

  const serverNow = () => Date.now() + state.offset;

  function span(ms) {
    let s = Math.max(0, Math.round(ms / 1000));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    s %= 60;
    if (h) return `${h}h ${String(m).padStart(2, '0')}m`;
    if (m) return `${m}m ${String(s).padStart(2, '0')}s`;
    return `${s}s`;
  }

  function clock(iso) {
    const d = new Date(iso);
    const today = new Date().toDateString() === d.toDateString();
    const t = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
    return today ? t : `${d.toLocaleDateString()} ${t}`;
  }

  // tick updates the clocks on the page without redrawing it, so that a select or a button
  // the operator is about to use stays where it is.
  function tick() {
    const now = serverNow();
    for (const e of document.querySelectorAll('[data-until]')) {
      const left = Date.parse(e.dataset.until) - now;
      e.textContent = left > 0 ? `${span(left)} left` : 'expiring…';
    }
    for (const e of document.querySelectorAll('[data-since]')) {
      e.textContent = `${span(now - Date.parse(e.dataset.since))} ago`;
    }
  }

  // ---- Overrides -----------------------------------------------------------------------

  // matches is true when the query occurs in the override's id, name, group, note, CNAME
  // target, one of its addresses or one of its client prefixes.
  function matches(o, q) {
    if (!q) return true;
    const fields = [o.id, o.name, o.group, o.note, o.cname, ...(o.addresses || []), ...(o.clients || [])];
    return fields.some((f) => f && f.toLowerCase().includes(q));
  }

  function renderOverrides() {
    const q = $('#search').value.trim().toLowerCase();
    const groups = new Map();
    for (const o of state.overrides) {
      if (!groups.has(o.group)) groups.set(o.group, []);
      groups.get(o.group).push(o);
    }
    const cards = [];
    for (const [name, members] of [...groups].sort((a, b) => a[0].localeCompare(b[0]))) {
      const shown = members.filter((o) => matches(o, q));
      if (shown.length) cards.push(groupCard(name, members, shown));
    }
    $('#groups').replaceChildren(...cards);
    drawRecent();
    const empty = $('#empty');
    empty.hidden = cards.length > 0;
    empty.textContent = state.overrides.length
      ? 'No override matches the search.'
      : 'No overrides yet. "New override" makes one; so does a declare line in the Corefile.';
    tick();
  }

  function groupCard(name, members, shown) {
    const on = members.find((o) => o.enabled);
    const names = [...new Set(members.map((o) => o.name))].join(', ');
    const head = el('div', { class: 'group-head' },
      el('h3', { text: name }),
      names !== name ? el('span', { class: 'group-state mono', text: names }) : null,
      on
        ? el('span', { class: 'group-state pinned', text: `pinned to ${on.id}` })
        : el('span', { class: 'group-state', text: 'normal answer' }),
      on ? el('button', { type: 'button', class: 'group-off', dataset: { group: name }, text: 'Back to normal' }) : null);
    return el('section', { class: 'group', dataset: { group: name } }, head, shown.map(overrideRow));
  }

  function overrideRow(o) {
    const target = o.cname ? `CNAME → ${o.cname}` : `→ ${(o.addresses || []).join(', ')}`;
    const meta = [];
    if (o.clients && o.clients.length) meta.push(`only for ${o.clients.join(', ')}`);
    if (o.changed_by) meta.push(`changed by ${o.changed_by}`);
    if (o.changed_at && !o.changed_at.startsWith('0001')) {
      meta.push(el('span', { title: new Date(o.changed_at).toLocaleString(), dataset: { since: o.changed_at } }));
    }
    const until = o.enabled && o.expires
      ? el('span', { class: 'until', dataset: { until: o.expires }, title: `until ${new Date(o.expires).toLocaleString()}` })
      : null;
    const label = `${o.enabled ? 'Disable' : 'Enable'} ${o.id}`;
    return el('div', { class: o.enabled ? 'override on' : 'override', dataset: { override: o.id } },
      el('button', { type: 'button', class: 'switch', role: 'switch', 'aria-checked': String(o.enabled), 'aria-label': label, title: label }),
      el('div', { class: 'body' },
        el('div', { class: 'title' }, el('strong', { text: o.id }), el('span', { class: 'name', text: o.name }), until),
        el('div', { class: 'targets', text: target }),
        o.note ? el('div', { class: 'note', text: o.note }) : null,
        svgEl('svg', { class: 'spark', 'data-recent': o.id, role: 'img', 'aria-label': `answers by ${o.id} over the last minutes` }),
        meta.length ? el('div', { class: 'meta' }, meta.flatMap((m, i) => (i ? [' · ', m] : [m]))) : null),
      el('div', { class: 'actions' },
        el('select', { class: 'enable-for', 'aria-label': `Enable ${o.id} for a while` },
          el('option', { value: '', text: o.enabled ? 'Switch on for…' : 'Enable for…' }),
          el('option', { value: '15m', text: '15 min' }),
          el('option', { value: '1h', text: '1 hour' }),
          el('option', { value: '8h', text: '8 hours' })),
        el('button', { type: 'button', class: 'edit', text: 'Edit' }),
        el('button', { type: 'button', class: 'delete danger', text: 'Delete' })));
  }

  // act runs one change, shows its error, and reloads at once rather than waiting for the
  // event (which follows anyway).
  async function act(control, fn) {
    control.disabled = true;
    try {
      await fn();
      clearNotice('act');
    } catch (e) {
      if (e.status !== 401) showNotice('act', e.message);
    } finally {
      control.disabled = false;
      refreshOverrides();
    }
  }

  function byID(id) {
    return state.overrides.find((o) => o.id === id);
  }

  function onGroupsClick(ev) {
    const btn = ev.target.closest('button');
    if (!btn) return;
    if (btn.classList.contains('group-off')) {
      act(btn, () => api('POST', `api/groups/${enc(btn.dataset.group)}/disable`));
      return;
    }
    const row = btn.closest('[data-override]');
    if (!row) return;
    const id = row.dataset.override;
    if (btn.classList.contains('switch')) {
      const on = btn.getAttribute('aria-checked') === 'true';
      act(btn, () => api('POST', `api/overrides/${enc(id)}/${on ? 'disable' : 'enable'}`));
    } else if (btn.classList.contains('edit')) {
      const o = byID(id);
      if (o) openEditor(o);
    } else if (btn.classList.contains('delete')) {
      // Two clicks, no modal dialog: the first arms the button for a few seconds.
      if (btn.dataset.armed !== 'true') {
        btn.dataset.armed = 'true';
        btn.textContent = 'Really delete?';
        setTimeout(() => { btn.dataset.armed = 'false'; btn.textContent = 'Delete'; }, 4000);
        return;
      }
      act(btn, () => api('DELETE', `api/overrides/${enc(id)}`));
    }
  }

  function onGroupsChange(ev) {
    const sel = ev.target.closest('select.enable-for');
    if (!sel || !sel.value) return;
    const id = sel.closest('[data-override]').dataset.override;
    const dur = sel.value;
    act(sel, () => api('POST', `api/overrides/${enc(id)}/enable`, { for: dur }));
  }

  // ---- Plots ---------------------------------------------------------------------------

  const SVG = 'http://www.w3.org/2000/svg';
  function svgEl(tag, attrs, ...children) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    for (const c of children) e.append(c);
    return e;
  }

  // bars draws counts as an SVG bar chart in svg (100 x 20 user units, stretched to fit).
  function bars(svg, counts, title) {
    const max = Math.max(1, ...counts);
    const w = 100 / counts.length;
    svg.setAttribute('viewBox', '0 0 100 20');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.replaceChildren(svgEl('title', {}, title), ...counts.map((n, i) => {
      const h = n ? Math.max(1.5, (n / max) * 20) : 1;
      return svgEl('rect', { x: i * w + w * 0.1, y: 20 - h, width: w * 0.8, height: h, class: n ? '' : 'zero' });
    }));
  }

  // drawRecent draws each override's answers per bucket over the last minutes.
  function drawRecent() {
    const r = state.recent;
    for (const svg of document.querySelectorAll('svg[data-recent]')) {
      const counts = (r && r.counts[svg.dataset.recent]) || new Array(30).fill(0);
      const total = counts.reduce((a, b) => a + b, 0);
      const mins = r ? Math.round((counts.length * r.bucket_seconds) / 60) : 5;
      svg.dataset.total = String(total);
      bars(svg, counts, `${total} answers in the last ${mins} min`);
    }
  }

  async function loadRecent() {
    state.recent = await api('GET', 'api/overrides/recent');
    drawRecent();
  }

  // ---- Explain -------------------------------------------------------------------------

  async function explain(ev) {
    ev.preventDefault();
    const q = new URLSearchParams({ name: $('#x-name').value.trim(), type: $('#x-type').value });
    const client = $('#x-client').value.trim();
    if (client) q.set('client', client);
    const out = $('#explain');
    $('#x-go').disabled = true;
    try {
      renderExplain(await api('GET', `api/explain?${q}`));
    } catch (e) {
      if (e.status !== 401) out.replaceChildren(el('p', { class: 'error', role: 'alert', text: e.message }));
    } finally {
      $('#x-go').disabled = false;
    }
  }

  function renderExplain(x) {
    const answer = x.answer.length ? x.answer.join('\n') : `${x.rcode}, no records`;
    const steps = x.steps.map((s) => {
      const f = s.facts || {};
      const addrs = (f.addresses || []).map((a) => el('span', {
        class: 'x-addr', dataset: { kept: String(a.kept), state: a.state },
        title: `${a.tier}, ${a.state}${a.last_error ? ': ' + a.last_error : ''}`, text: `${a.address} ${a.state}`,
      }));
      return el('li', { dataset: { plugin: s.plugin, acted: String(s.did !== 'passed') } },
        el('strong', { text: s.plugin }), ' ', s.did,
        s.why ? el('div', { class: 'why', text: s.why }) : null,
        addrs.length ? el('div', {}, addrs) : null);
    });
    const verdicts = x.overrides.map((v) => el('li', { dataset: { verdict: v.verdict } },
      el('strong', { text: v.id }), ` ${v.verdict}: `, el('span', { class: 'muted', text: v.why })));
    $('#explain').replaceChildren(
      el('div', { class: 'muted small', text: `${x.query.name} ${x.query.type} asked by ${x.query.client}` }),
      el('div', { class: 'x-answer', id: 'x-answer', text: answer }),
      el('ol', { class: 'x-steps', id: 'x-steps' }, steps),
      verdicts.length ? el('div', {}, el('div', { class: 'small', text: 'Overrides of this name:' }), el('ul', { class: 'x-verdicts' }, verdicts)) : null);
  }

  // ---- Editor --------------------------------------------------------------------------

  const list = (s) => s.split(/[\s,]+/).filter(Boolean);
  const fields = ['id', 'name', 'group', 'addresses', 'cname', 'clients', 'note'];

  function openEditor(o) {
    state.editing = o ? o.id : null;
    $('#editor-title').textContent = o ? `Edit ${o.id}` : 'New override';
    const f = $('#editor-form');
    f.reset();
    clearErrors();
    if (o) {
      f.elements.id.value = o.id;
      f.elements.name.value = o.name;
      f.elements.group.value = o.group === o.name ? '' : o.group;
      f.elements.addresses.value = (o.addresses || []).join(' ');
      f.elements.cname.value = o.cname || '';
      f.elements.clients.value = (o.clients || []).join(' ');
      f.elements.note.value = o.note || '';
    }
    f.elements.id.readOnly = Boolean(o);
    $('#editor').hidden = false;
    $('#editor').scrollIntoView({ block: 'nearest' });
    (o ? f.elements.name : f.elements.id).focus();
  }

  function closeEditor() {
    $('#editor').hidden = true;
    state.editing = null;
  }

  function clearErrors() {
    for (const e of document.querySelectorAll('#editor-form [data-error-for]')) e.textContent = '';
    for (const e of document.querySelectorAll('#editor-form .field')) e.classList.remove('invalid');
  }

  // showError puts the API's message next to the field it names, without the "field: "
  // prefix that the field's label already says.
  function showError(field, msg) {
    const known = fields.includes(field);
    const slot = document.querySelector(`#editor-form [data-error-for="${known ? field : ''}"]`);
    slot.textContent = known && msg.startsWith(field + ': ') ? msg.slice(field.length + 2) : msg;
    if (known) {
      slot.closest('.field').classList.add('invalid');
      $('#editor-form').elements[field].focus();
    }
  }

  async function saveEditor(ev) {
    ev.preventDefault();
    const f = $('#editor-form').elements;
    const body = {
      name: f.name.value.trim(),
      group: f.group.value.trim(),
      addresses: list(f.addresses.value),
      cname: f.cname.value.trim(),
      clients: list(f.clients.value),
      note: f.note.value.trim(),
    };
    clearErrors();
    const save = $('#editor-save');
    save.disabled = true;
    try {
      if (state.editing) {
        await api('PUT', `api/overrides/${enc(state.editing)}`, body);
      } else {
        if (f.id.value.trim()) body.id = f.id.value.trim();
        await api('POST', 'api/overrides', body);
      }
      closeEditor();
      refreshOverrides();
    } catch (e) {
      if (e.status !== 401) showError(e.field, e.message);
    } finally {
      save.disabled = false;
    }
  }

  // ---- Health --------------------------------------------------------------------------

  // renderHealth draws the targets: the effective state (what the answers follow), this
  // replica's own verdict when the replicas' quorum says otherwise, every replica's shared
  // verdict, the drains, and the drain and undrain controls. It waits while the operator is
  // in one of the panel's controls, so that a redraw does not close a menu under the pointer.
  function renderHealth() {
    const root = $('#health');
    if (root.contains(document.activeElement) && document.activeElement.matches('select, input')) {
      state.healthPending = true;
      return;
    }
    state.healthPending = false;
    const targets = (state.health && state.health.targets) || [];
    // Every probe moves last_check and latency_ms: those are patched into the rows in place.
    // The rows are rebuilt only when something else changed, so that a button under the
    // pointer is not replaced between the press and the click.
    const shape = JSON.stringify([targets.map((t) => ({ ...t, last_check: !!t.last_check, latency_ms: 0, probes: 0 })),
      (state.drains && state.drains.audit) || []]);
    if (shape === state.healthShape && patchHealth(targets)) return;
    state.healthShape = shape;
    if (!targets.length) {
      root.replaceChildren(el('p', { class: 'muted', text: 'No health checks report to this server. Add the healthcheck plugin to a server block to see its targets here.' }));
      return;
    }
    const shared = targets.some((t) => t.shared);
    const rows = targets.flatMap((t) => {
      const recent = (t.transitions || []).slice(-3).reverse();
      const eff = t.effective || t.state;
      const everywhere = (t.drains || []).find((d) => !d.name);
      const row = el('tr', { dataset: { target: t.address, check: t.check, effective: eff }, title: t.endpoint || '' },
        el('td', {},
          el('div', { class: 'mono nowrap', text: t.address }),
          el('div', { class: 'sub', text: `${t.check} (${t.kind})${t.discovered ? ', discovered' : ''}` }),
          t.names && t.names.length ? el('div', { class: 'sub', text: t.names.join(' ') }) : null),
        el('td', {},
          el('span', { class: `state ${eff}`, text: eff }),
          eff !== t.state ? el('div', { class: 'sub own', text: `own verdict: ${t.state}` }) : null,
          t.fallback ? el('div', { class: 'sub fallback', text: 'store unreachable: own verdict' }) : null,
          (t.drains || []).map(drainNote),
          el('div', { class: 'drain-actions' }, everywhere
            ? el('button', { type: 'button', class: 'undrain', text: 'Undrain' })
            : [el('button', { type: 'button', class: 'drain danger', text: 'Drain' }),
              el('select', { class: 'drain-for', 'aria-label': `Drain ${t.address} for a while` },
                el('option', { value: '', text: 'for…' }),
                el('option', { value: '15m', text: '15 min' }),
                el('option', { value: '1h', text: '1 hour' }),
                el('option', { value: '8h', text: '8 hours' }))])),
        shared ? el('td', {}, el('ul', { class: 'replicas' }, (t.replicas || []).map(replicaItem))) : null,
        el('td', { class: 'nowrap checked' }, t.last_check ? el('span', { dataset: { since: t.last_check }, title: new Date(t.last_check).toLocaleString() }) : '—',
          t.last_check ? el('div', { class: 'sub latency', text: `${t.latency_ms.toFixed(1)} ms` }) : null,
          svgEl('svg', { class: 'spark latency-plot', role: 'img' }),
          svgEl('svg', { class: 'timeline', role: 'img' })),
        el('td', {}, el('ul', { class: 'transitions' },
          recent.map((tr) => el('li', { class: 'nowrap', text: `${tr.to} at ${clock(tr.at)}`, title: `${tr.from} → ${tr.to}` })))));
      if (!t.last_error) return [row];
      row.classList.add('has-error');
      return [row, el('tr', { class: 'probe-error' }, el('td', { colspan: shared ? 5 : 4, class: 'sub', text: t.last_error }))];
    });
    const titles = ['Target', 'State', ...(shared ? ['Replicas'] : []), 'Checked', 'Recent'];
    const head = el('tr', {}, titles.map((h) => el('th', { text: h })));
    root.replaceChildren(el('div', { class: 'table-wrap' }, el('table', {}, el('thead', {}, head), el('tbody', {}, rows))),
      ...drainLog());
    drawProbes(targets);
    tick();
  }

  // drawProbes plots each target's last probe results in its row: probe latency as a line
  // (failed probes as red dots) and the verdict after each probe as a strip of colours.
  function drawProbes(targets) {
    for (const t of targets) {
      const row = [...document.querySelectorAll('#health tr[data-target]')]
        .find((r) => r.dataset.target === t.address && r.dataset.check === t.check);
      if (!row) continue;
      const probes = t.probes || [];
      const line = row.querySelector('svg.latency-plot');
      const strip = row.querySelector('svg.timeline');
      if (!line || !strip) continue;
      const secs = probes.length ? Math.round((probes[probes.length - 1][0] - probes[0][0]) / 1000) : 0;
      line.dataset.points = String(probes.length);
      strip.dataset.points = String(probes.length);
      line.setAttribute('aria-label', `probe latency over the last ${secs} s`);
      strip.setAttribute('aria-label', `state over the last ${secs} s`);
      latencyLine(line, probes);
      stateStrip(strip, probes);
    }
  }

  function latencyLine(svg, probes) {
    svg.setAttribute('viewBox', '0 0 100 20');
    svg.setAttribute('preserveAspectRatio', 'none');
    if (!probes.length) { svg.replaceChildren(); return; }
    const max = Math.max(0.001, ...probes.map((p) => p[1]));
    const x = (i) => (probes.length === 1 ? 50 : (i / (probes.length - 1)) * 100);
    const y = (ms) => 19 - (ms / max) * 18;
    const points = probes.map((p, i) => `${x(i).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    const fails = probes.flatMap((p, i) => (p[2] ? [] : [svgEl('circle', { cx: x(i).toFixed(1), cy: y(p[1]).toFixed(1), r: 1.6, class: 'fail' })]));
    svg.replaceChildren(svgEl('title', {}, `latency, highest ${max.toFixed(1)} ms`),
      svgEl('polyline', { points, class: 'lat' }), ...fails);
  }

  function stateStrip(svg, probes) {
    svg.setAttribute('viewBox', '0 0 100 4');
    svg.setAttribute('preserveAspectRatio', 'none');
    const w = 100 / Math.max(1, probes.length);
    svg.replaceChildren(svgEl('title', {}, 'state after each probe, oldest first'),
      ...probes.map((p, i) => svgEl('rect', { x: (i * w).toFixed(2), y: 0, width: (w + 0.05).toFixed(2), height: 4, class: `st ${p[3]}` })));
  }

  // patchHealth updates the last check and latency of the rows drawn, and reports whether
  // every target had its row.
  function patchHealth(targets) {
    for (const t of targets) {
      const row = [...document.querySelectorAll('#health tr[data-target]')]
        .find((r) => r.dataset.target === t.address && r.dataset.check === t.check);
      const since = row && row.querySelector('td.checked [data-since]');
      if (!row || (t.last_check && !since)) return false;
      if (!t.last_check) continue;
      since.dataset.since = t.last_check;
      since.title = new Date(t.last_check).toLocaleString();
      row.querySelector('td.checked .latency').textContent = `${t.latency_ms.toFixed(1)} ms`;
    }
    drawProbes(targets);
    tick();
    return true;
  }

  // drainNote says who drained the address, for which name, until when, and why.
  function drainNote(d) {
    return el('div', { class: 'sub drained' },
      `drained${d.name ? ' for ' + d.name : ''} by ${d.by}`,
      d.until ? [' · ', el('span', { dataset: { until: d.until } })] : ' · until undrained',
      d.note ? ` · ${d.note}` : '');
  }

  // replicaItem is one replica's shared verdict and how long it has held.
  function replicaItem(r) {
    return el('li', { class: 'nowrap', dataset: { replica: r.replica }, title: r.reason || '' },
      el('span', { class: `verdict ${r.state}`, text: r.state }), ' ',
      el('span', { class: 'mono', text: r.replica + (r.self ? ' (this one)' : '') }),
      r.since ? [' ', el('span', { class: 'sub', dataset: { since: r.since } })] : null);
  }

  // drainLog lists the recent drains, undrains and expiries: who did what, when (nothing
  // when there are none).
  function drainLog() {
    const events = (state.drains && state.drains.audit) || [];
    if (!events.length) return [];
    return [el('details', { class: 'drain-log' }, el('summary', { text: `Drain log (${events.length})` }),
      el('ul', { class: 'audit' }, events.slice().reverse().map((e) => el('li', {},
        el('time', { datetime: e.at, text: clock(e.at) }),
        el('span', { class: 'actor', text: e.by }), ' ',
        el('span', { class: 'action', text: e.action }), ' ',
        el('span', { class: 'mono', text: e.address + (e.name ? ' for ' + e.name : '') }),
        e.note ? ` · ${e.note}` : ''))))];
  }

  // drainAct runs one drain or undrain, shows its error, and reloads the panel at once.
  async function drainAct(control, fn) {
    control.disabled = true;
    try {
      await fn();
      clearNotice('drain');
    } catch (e) {
      if (e.status !== 401) showNotice('drain', e.message);
    } finally {
      control.disabled = false;
      control.blur();
      refreshHealth();
    }
  }

  function onHealthClick(ev) {
    const btn = ev.target.closest('button');
    const row = btn && btn.closest('tr[data-target]');
    if (!row) return;
    const address = row.dataset.target;
    if (btn.classList.contains('drain')) {
      drainAct(btn, () => api('POST', 'api/drains', { address }));
    } else if (btn.classList.contains('undrain')) {
      drainAct(btn, () => api('DELETE', `api/drains/${enc(address)}`));
    }
  }

  function onHealthChange(ev) {
    const sel = ev.target.closest('select.drain-for');
    if (!sel || !sel.value) return;
    const address = sel.closest('tr[data-target]').dataset.target;
    drainAct(sel, () => api('POST', 'api/drains', { address, for: sel.value }));
  }

  // ---- Audit ---------------------------------------------------------------------------

  function renderAudit() {
    const items = state.audit.map((e) => {
      const what = [e.id || e.group || ''];
      if (e.disabled && e.disabled.length) what.push(`(switched off ${e.disabled.join(', ')})`);
      return el('li', { title: e.from ? `from ${e.from}, revision ${e.revision}` : '' },
        el('time', { datetime: e.time, text: clock(e.time) }),
        el('span', { class: 'actor', text: e.who }), ' ',
        el('span', { class: 'action', text: e.action }), ' ',
        el('span', { class: 'mono', text: what.join(' ') }));
    });
    if (!items.length) items.push(el('li', { class: 'muted', text: 'No changes yet.' }));
    if (state.auditStale) {
      items.unshift(el('li', { class: 'stale', role: 'status', text: `Possibly stale: ${state.auditStale}. This list is what this server saw last.` }));
    }
    $('#audit').replaceChildren(...items);
    $('#audit').classList.toggle('is-stale', !!state.auditStale);
  }

  // ---- Wiring --------------------------------------------------------------------------

  document.addEventListener('DOMContentLoaded', () => {
    const who = $('#who');
    who.value = localStorage.getItem(WHO_KEY) || '';
    who.addEventListener('input', () => localStorage.setItem(WHO_KEY, who.value.trim()));
    $('#search').addEventListener('input', renderOverrides);
    $('#groups').addEventListener('click', onGroupsClick);
    $('#groups').addEventListener('change', onGroupsChange);
    $('#health').addEventListener('click', onHealthClick);
    $('#health').addEventListener('change', onHealthChange);
    $('#health').addEventListener('focusout', () => { if (state.healthPending) setTimeout(renderHealth, 0); });
    $('#new').addEventListener('click', () => openEditor(null));
    $('#editor-form').addEventListener('submit', saveEditor);
    $('#editor-cancel').addEventListener('click', closeEditor);
    $('#editor').addEventListener('keydown', (ev) => { if (ev.key === 'Escape') closeEditor(); });
    $('#login-form').addEventListener('submit', login);
    $('#explain-form').addEventListener('submit', explain);
    start();
  });
})();

// ui/www/app.js - the web UI's core: settings (credential and tenant in
// localStorage), the API client that sends them on every call, the hash router,
// formatting helpers and a virtualized list for long results and traces.
'use strict';
const Ottr = (window.Ottr = { pages: {} });

// ---- settings ----
const SETTINGS_KEY = 'ottr.settings';
Ottr.settings = function () {
  try { return JSON.parse(localStorage.getItem(SETTINGS_KEY)) || { auth: 'none' }; }
  catch (e) { return { auth: 'none' }; }
};
Ottr.headers = function () {
  const s = Ottr.settings(), h = {};
  if (s.auth === 'bearer' && s.token) h.Authorization = 'Bearer ' + s.token;
  if (s.auth === 'basic' && s.user)
    h.Authorization = 'Basic ' + btoa(unescape(encodeURIComponent(s.user + ':' + (s.password || ''))));
  if (s.tenant) h['X-Scope-OrgID'] = s.tenant;
  return h;
};

// ---- API client: same origin only ----
Ottr.api = async function (path, params, opts) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {}))
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const url = path + (q.toString() ? '?' + q : '');
  let r;
  try {
    r = await fetch(url, { headers: Ottr.headers(), credentials: 'omit', signal: opts && opts.signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new Error('cannot reach ottrd: ' + e.message);
  }
  if (opts && opts.allow404 && r.status === 404) return null;
  const text = await r.text();
  if (!r.ok) {
    let msg = text.trim();
    try { const j = JSON.parse(text); msg = j.error || msg; } catch (e) { /* plain text */ }
    if (r.status === 401) msg += ' (set the credential under Settings)';
    const err = new Error(r.status + ': ' + (msg || r.statusText));
    err.status = r.status;
    throw err;
  }
  return opts && opts.text ? text : JSON.parse(text);
};

Ottr.banner = function (msg) {
  const b = document.getElementById('banner');
  b.textContent = msg || '';
  b.hidden = !msg;
};
Ottr.fail = function (e) {
  if (e && e.name === 'AbortError') return;
  Ottr.banner(e && e.message ? e.message : String(e));
};

// ---- DOM and format helpers ----
Ottr.el = function (tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids.flat()) if (c !== null && c !== undefined && c !== false)
    e.append(c instanceof Node ? c : String(c));
  return e;
};
Ottr.fmtMs = function (ms) {
  if (ms === null || ms === undefined || isNaN(ms)) return '–';
  if (ms === 0) return '0';
  if (ms < 1) return (ms * 1000).toFixed(ms < 0.01 ? 2 : 0) + 'µs';
  if (ms < 1000) return (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)) + 'ms';
  if (ms < 60000) return (ms / 1000).toFixed(2) + 's';
  return (ms / 60000).toFixed(1) + 'min';
};
Ottr.fmtNum = function (v, digits) {
  if (v === null || v === undefined || isNaN(v)) return '–';
  if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(1) + 'k';
  return digits === undefined ? String(Math.round(v * 100) / 100) : v.toFixed(digits);
};
// A rate per second, in the unit that keeps it readable.
Ottr.fmtRate = function (perSec) {
  if (perSec === null || perSec === undefined || isNaN(perSec)) return '–';
  if (perSec === 0) return '0/s';
  if (perSec >= 0.1) return Ottr.fmtNum(perSec, perSec >= 100 ? 0 : perSec >= 10 ? 1 : 2) + '/s';
  if (perSec * 60 >= 0.1) return (perSec * 60).toFixed(2) + '/min';
  return (perSec * 3600).toFixed(2) + '/h';
};
Ottr.fmtPct = (v) => (v === null || isNaN(v) ? '–' : (v * 100).toFixed(v < 0.1 ? 1 : 0) + '%');
Ottr.fmtTime = function (ms) {
  const d = new Date(ms);
  const p = (n, w) => String(n).padStart(w || 2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
};
// Nanoseconds as a decimal string (OTLP JSON) to milliseconds as a number.
Ottr.nsToMs = function (s) {
  if (s === undefined || s === null) return 0;
  s = String(s);
  if (s.length > 6) return Number(s.slice(0, -6)) + Number(s.slice(-6)) / 1e6;
  return Number(s) / 1e6;
};
// An OTLP AnyValue as display text.
Ottr.anyValue = function (v) {
  if (!v) return '';
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return String(v.intValue);
  if ('doubleValue' in v) return String(v.doubleValue);
  if ('boolValue' in v) return String(v.boolValue);
  if ('bytesValue' in v) return v.bytesValue;
  if ('arrayValue' in v) return '[' + (v.arrayValue.values || []).map(Ottr.anyValue).join(', ') + ']';
  if ('kvlistValue' in v)
    return '{' + (v.kvlistValue.values || []).map((kv) => kv.key + ': ' + Ottr.anyValue(kv.value)).join(', ') + '}';
  return '';
};
Ottr.attrs = (list) => (list || []).map((kv) => [kv.key, Ottr.anyValue(kv.value)]);
// A stable color per service name.
Ottr.color = function (name) {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `hsl(${h % 360}, 60%, 34%)`; // at least 4.5:1 on white
};
// Time ranges offered by every page: seconds back from now (0: everything).
Ottr.ranges = [['15m', 900], ['1h', 3600], ['6h', 21600], ['24h', 86400], ['7d', 604800], ['all', 0]];
Ottr.rangeSelect = function (name, value) {
  return Ottr.el('select', { name, 'aria-label': 'Time range' },
    Ottr.ranges.map(([label, s]) => Ottr.el('option', { value: label, selected: label === value }, 'last ' + label)));
};
Ottr.rangeSeconds = function (label) {
  const r = Ottr.ranges.find((x) => x[0] === label);
  const now = Math.floor(Date.now() / 1000);
  return r && r[1] ? { start: now - r[1], end: now } : { start: undefined, end: undefined };
};
// Prometheus' histogram_quantile over Ottr's latency buckets (bounds in ms; the
// last bucket has no bound).
Ottr.quantile = function (counts, bounds, q) {
  let total = 0;
  for (const c of counts) total += c;
  if (!total) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    if (below + counts[i] >= rank && counts[i] > 0) {
      if (bounds[i] === null) return bounds[i - 1];
      const lo = i ? bounds[i - 1] : 0;
      return lo + ((bounds[i] - lo) * (rank - below)) / counts[i];
    }
    below += counts[i];
  }
  return bounds[bounds.length - 2];
};

// ---- virtualized list: renders only the rows in view ----
// opts: {count, rowHeight, render(i) -> element, className}
Ottr.vlist = function (container, opts) {
  const rh = opts.rowHeight || 26;
  const spacer = Ottr.el('div', { class: 'spacer' });
  container.classList.add('vlist');
  container.append(spacer);
  const list = { count: opts.count, rendered: new Map() };
  function draw() {
    spacer.style.height = list.count * rh + 'px';
    const top = container.scrollTop - (opts.headerHeight || 0), h = container.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / rh) - 10);
    const last = Math.min(list.count, Math.ceil((top + h) / rh) + 10);
    for (const [i, e] of list.rendered)
      if (i < first || i >= last) { e.remove(); list.rendered.delete(i); }
    for (let i = first; i < last; i++) {
      if (list.rendered.has(i)) continue;
      const e = opts.render(i);
      e.classList.add('vrow');
      e.style.top = i * rh + 'px';
      e.dataset.index = i;
      spacer.append(e);
      list.rendered.set(i, e);
    }
  }
  list.refresh = function (count) {
    if (count !== undefined) list.count = count;
    for (const e of list.rendered.values()) e.remove();
    list.rendered.clear();
    draw();
  };
  list.scrollTo = function (i) {
    const y = i * rh;
    if (y < container.scrollTop || y + rh > container.scrollTop + container.clientHeight)
      container.scrollTop = Math.max(0, y - container.clientHeight / 2);
    draw();
  };
  list.focus = function (i) {
    list.scrollTo(i);
    const e = list.rendered.get(i);
    if (e) e.focus();
  };
  container.addEventListener('scroll', draw, { passive: true });
  // Up/Down move between rows, Home/End to the ends.
  container.addEventListener('keydown', (ev) => {
    const cur = document.activeElement && document.activeElement.closest('.vrow');
    if (!cur || !container.contains(cur)) return;
    let i = Number(cur.dataset.index);
    if (ev.key === 'ArrowDown') i++;
    else if (ev.key === 'ArrowUp') i--;
    else if (ev.key === 'Home') i = 0;
    else if (ev.key === 'End') i = list.count - 1;
    else if (ev.key === 'PageDown') i += 20;
    else if (ev.key === 'PageUp') i -= 20;
    else return;
    ev.preventDefault();
    list.focus(Math.max(0, Math.min(list.count - 1, i)));
  });
  draw();
  return list;
};

// ---- router: #/page/arg?params ----
Ottr.route = function () {
  const h = location.hash.replace(/^#\/?/, '') || 'search';
  const [pathPart, query] = h.split('?');
  const parts = pathPart.split('/').map(decodeURIComponent);
  return { page: parts[0], arg: parts[1], params: new URLSearchParams(query || '') };
};
Ottr.go = function (page, arg, params) {
  let h = '#/' + page + (arg ? '/' + encodeURIComponent(arg) : '');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== '' && v !== null) q.set(k, v);
  if (q.toString()) h += '?' + q;
  if (location.hash === h) render();
  else location.hash = h;
};
let current = null;
function render() {
  const r = Ottr.route();
  if (current && current.leave) current.leave();
  Ottr.banner('');
  const page = Ottr.pages[r.page] || Ottr.pages.search;
  for (const a of document.querySelectorAll('.top nav a'))
    a.toggleAttribute('aria-current', false);
  const nav = document.querySelector(`.top nav a[data-page="${r.page === 'trace' ? 'search' : r.page}"]`);
  if (nav) nav.setAttribute('aria-current', 'page');
  const view = document.getElementById('view');
  view.replaceChildren();
  current = page;
  document.title = 'Ottr · ' + (page.title || r.page);
  page.show(view, r);
}
Ottr.render = render;

// ---- settings dialog ----
function initSettings() {
  const dlg = document.getElementById('settings'), form = document.getElementById('settings-form');
  const badge = document.getElementById('tenant-badge');
  const sync = () => {
    const a = form.auth.value;
    for (const l of form.querySelectorAll('label[data-for]')) l.hidden = l.dataset.for !== a;
  };
  const showBadge = () => { badge.textContent = Ottr.settings().tenant || ''; };
  document.getElementById('settings-open').addEventListener('click', () => {
    const s = Ottr.settings();
    form.auth.value = s.auth || 'none';
    form.token.value = s.token || '';
    form.user.value = s.user || '';
    form.password.value = s.password || '';
    form.tenant.value = s.tenant || '';
    sync();
    dlg.showModal();
  });
  form.auth.addEventListener('change', sync);
  dlg.addEventListener('close', () => {
    if (dlg.returnValue !== 'save') return;
    localStorage.setItem(SETTINGS_KEY, JSON.stringify({
      auth: form.auth.value, token: form.token.value, user: form.user.value,
      password: form.password.value, tenant: form.tenant.value.trim(),
    }));
    showBadge();
    render();
  });
  showBadge();
}

// The trace ID box of the header.
function initLookup() {
  const f = document.getElementById('lookup');
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = f.id.value.trim().replace(/^0x/i, '');
    if (id) Ottr.go('trace', id);
    f.id.value = '';
  });
}

window.addEventListener('hashchange', render);
window.addEventListener('DOMContentLoaded', () => { initSettings(); initLookup(); render(); });

// ui/www/services.js - the Services page: RED per service and per operation
// (rate, error rate, p50/p95/p99) over time from the per-minute span metrics of
// every span (/api/span-metrics), with small charts; also the RED panel the
// service map opens.
'use strict';
(function () {
  const { el } = Ottr;
  // Spans that measure a service's own work: servers and consumers.
  const ENTRY = new Set(['SPAN_KIND_SERVER', 'SPAN_KIND_CONSUMER']);

  function group() { return { calls: 0, errors: 0, counts: null, times: new Map() }; }
  function add(g, r) {
    g.calls += r.calls; g.errors += r.errors;
    if (!g.counts) g.counts = r.latencyCounts.slice(); else r.latencyCounts.forEach((c, i) => { g.counts[i] += c; });
    let t = g.times.get(r.time);
    if (!t) g.times.set(r.time, (t = { calls: 0, errors: 0, counts: r.latencyCounts.map(() => 0) }));
    t.calls += r.calls; t.errors += r.errors;
    r.latencyCounts.forEach((c, i) => { t.counts[i] += c; });
  }

  // Rows -> {services: Map(name -> group with ops: Map(name -> group))}.
  function aggregate(m, allKinds) {
    const services = new Map();
    for (const r of m.rows || []) {
      if (!allKinds && !ENTRY.has(r.kind)) continue;
      let s = services.get(r.service);
      if (!s) services.set(r.service, (s = Object.assign(group(), { ops: new Map() })));
      add(s, r);
      const key = r.name + (allKinds ? ' · ' + r.kind.replace('SPAN_KIND_', '').toLowerCase() : '');
      let o = s.ops.get(key);
      if (!o) s.ops.set(key, (o = group()));
      add(o, r);
    }
    return services;
  }

  function series(g, m, what) {
    const out = [], step = m.stepSeconds;
    const first = Math.floor(m.start / step) * step;
    for (let t = first; t <= m.end; t += step) {
      const p = g.times.get(t);
      if (what === 'rate') out.push({ t: t * 1000, v: p ? p.calls / step : 0 });
      else if (p && p.calls) out.push({ t: t * 1000, v: what === 'errors' ? p.errors / p.calls : Ottr.quantile(p.counts, m.latencyBucketsMs, 0.95) });
    }
    return out;
  }

  function cells(g, m, secs, name) {
    const q = (x) => (g.counts ? Ottr.quantile(g.counts, m.latencyBucketsMs, x) : null);
    const x = { t0: Math.floor(m.start / m.stepSeconds) * m.stepSeconds * 1000, t1: m.end * 1000 };
    return [
      el('td', { class: 'num' }, Ottr.fmtRate(g.calls / secs)),
      el('td', { class: 'num' + (g.errors ? ' err' : '') }, Ottr.fmtPct(g.calls ? g.errors / g.calls : 0)),
      el('td', { class: 'num' }, Ottr.fmtMs(q(0.5))), el('td', { class: 'num' }, Ottr.fmtMs(q(0.95))),
      el('td', { class: 'num' }, Ottr.fmtMs(q(0.99))),
      el('td', {}, Ottr.lineChart(series(g, m, 'rate'), Object.assign({ label: name + ' calls per second' }, x))),
      el('td', {}, Ottr.lineChart(series(g, m, 'errors'), Object.assign({ label: name + ' error rate', color: '#b3261e', fmt: Ottr.fmtPct }, x))),
      el('td', {}, Ottr.lineChart(series(g, m, 'p95'), Object.assign({ label: name + ' p95 latency', color: '#8a5a00', fmt: Ottr.fmtMs }, x))),
    ];
  }

  function header(first) {
    return el('thead', {}, el('tr', {}, [first, 'rate', 'errors', 'p50', 'p95', 'p99', 'rate over time', 'errors over time', 'p95 over time']
      .map((h, i) => el('th', { scope: 'col', class: i && i < 6 ? 'num' : '' }, h))));
  }

  async function load(range, service) {
    const r = Ottr.rangeSeconds(range === 'all' ? '7d' : range);
    return Ottr.api('/api/span-metrics', { start: r.start, end: r.end, service });
  }

  // The RED of one service and its operations into |panel| (service map).
  Ottr.redPanel = async function (panel, service, range) {
    const status = el('p', { class: 'muted', role: 'status' }, 'Loading…');
    panel.append(status);
    let m;
    try { m = await load(range, service); } catch (e) { status.remove(); Ottr.fail(e); return; }
    status.remove();
    const s = aggregate(m, false).get(service);
    if (!s) { panel.append(el('p', {}, 'No server or consumer spans of this service in the range.')); return; }
    const secs = Math.max(1, m.end - m.start);
    const tb = el('tbody', {}, el('tr', {}, el('th', { scope: 'row' }, 'all operations'), cells(s, m, secs, service)),
      [...s.ops.entries()].sort().map(([op, g]) => el('tr', { class: 'op' }, el('td', {}, op), cells(g, m, secs, op))));
    panel.append(el('div', { class: 'scroll-x' }, el('table', { class: 'grid', 'aria-label': 'RED of ' + service }, header('operation'), tb)));
  };

  Ottr.pages.services = {
    title: 'Services',
    async show(view, route) {
      const range = route.params.get('range') || '1h', all = route.params.get('kinds') === 'all';
      const chosen = route.params.get('service');
      const sel = Ottr.rangeSelect('range', range);
      const kinds = el('select', { name: 'kinds' }, el('option', { value: '' }, 'server and consumer spans'),
        el('option', { value: 'all', selected: all }, 'every span kind'));
      const go = () => Ottr.go('services', null, { range: sel.value, kinds: kinds.value, service: chosen });
      sel.addEventListener('change', go);
      kinds.addEventListener('change', go);
      const out = el('section', { 'aria-label': 'Services' }, el('p', { class: 'muted', role: 'status' }, 'Loading span metrics…'));
      view.append(el('div', { class: 'row' }, el('h1', { style: 'flex:1' }, 'Services'),
        el('label', {}, 'Spans', kinds), el('label', {}, 'Time range', sel)),
      el('p', { class: 'hint' }, 'Rate, errors and duration of every span received, sampled or not, per minute (per hour past a day). Select a service for its operations.'),
      out);
      let m;
      try { m = await load(range); } catch (e) { out.replaceChildren(); Ottr.fail(e); return; }
      const services = aggregate(m, all);
      if (!services.size) { out.replaceChildren(el('p', {}, 'No span metrics in this range yet.')); return; }
      const secs = Math.max(1, m.end - m.start);
      const tb = el('tbody');
      for (const name of [...services.keys()].sort()) {
        const s = services.get(name);
        const open = name === chosen;
        const btn = el('button', { type: 'button', class: 'ghost', 'aria-expanded': String(open), style: 'padding:2px 6px' }, (open ? '▾ ' : '▸ ') + name);
        const tr = el('tr', { 'data-service': name }, el('th', { scope: 'row' }, btn), cells(s, m, secs, name));
        const opRows = [...s.ops.entries()].sort().map(([op, g]) => el('tr', { class: 'op', hidden: !open }, el('td', {}, op), cells(g, m, secs, op)));
        btn.addEventListener('click', () => {
          const now = btn.getAttribute('aria-expanded') !== 'true';
          btn.setAttribute('aria-expanded', String(now));
          btn.textContent = (now ? '▾ ' : '▸ ') + name;
          for (const r of opRows) r.hidden = !now;
        });
        tb.append(tr, ...opRows);
      }
      out.replaceChildren(el('div', { class: 'scroll-x' }, el('table', { class: 'grid', 'aria-label': 'RED per service' }, header('service'), tb)),
        m.truncated ? el('p', { class: 'warn' }, 'Too many series: the range was cut; choose a shorter one.') : '');
    },
  };
})();

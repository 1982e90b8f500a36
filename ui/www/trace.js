// ui/www/trace.js - the Trace page: a virtualized waterfall with a collapsible
// span tree, the critical path marked, span details (attributes, resource,
// events, links, status), search within the trace, warnings for orphan spans,
// parent cycles and partial traces, and the trace as OTLP JSON to download.
'use strict';
(function () {
  const { el } = Ottr;
  const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
  const ROW = 26;

  // OTLP JSON resourceSpans -> flat spans with their tree.
  function model(resourceSpans) {
    const spans = [], byId = new Map();
    for (const r of resourceSpans || []) {
      const resource = Ottr.attrs(r.resource && r.resource.attributes);
      const svcKv = resource.find((kv) => kv[0] === 'service.name');
      const service = svcKv ? svcKv[1] : 'unknown_service';
      for (const ss of r.scopeSpans || []) {
        for (const s of ss.spans || []) {
          const sp = {
            id: s.spanId, parent: s.parentSpanId || '', name: s.name || '', service, resource,
            scope: ss.scope || {}, kind: KINDS[s.kind || 0] || String(s.kind),
            start: Ottr.nsToMs(s.startTimeUnixNano), end: Ottr.nsToMs(s.endTimeUnixNano),
            status: s.status || {}, attrs: Ottr.attrs(s.attributes), events: s.events || [],
            links: s.links || [], children: [], depth: 0,
          };
          sp.err = sp.status.code === 2 || sp.status.code === 'STATUS_CODE_ERROR';
          if (byId.has(sp.id)) continue; // a duplicate span ID: the first one counts
          byId.set(sp.id, sp);
          spans.push(sp);
        }
      }
    }
    const roots = [], orphans = [];
    for (const s of spans) {
      const p = s.parent && byId.get(s.parent);
      if (p && p !== s) p.children.push(s);
      else if (s.parent) { orphans.push(s); roots.push(s); }
      else roots.push(s);
    }
    const byStart = (a, b) => a.start - b.start || a.end - b.end;
    for (const s of spans) s.children.sort(byStart);
    // Depth-first order without recursion; spans not reached sit in a cycle.
    const order = [], seen = new Set();
    const walk = (root) => {
      const stack = [[root, 0]];
      while (stack.length) {
        const [s, d] = stack.pop();
        if (seen.has(s)) continue;
        seen.add(s);
        s.depth = d;
        order.push(s);
        for (let i = s.children.length - 1; i >= 0; i--) stack.push([s.children[i], d + 1]);
      }
    };
    roots.sort(byStart).forEach(walk);
    const cyclic = spans.filter((s) => !seen.has(s));
    for (const s of cyclic) if (!seen.has(s)) { roots.push(s); walk(s); }
    let t0 = Infinity, t1 = -Infinity;
    for (const s of spans) { t0 = Math.min(t0, s.start); t1 = Math.max(t1, s.end); }
    return { spans, byId, roots, orphans, cyclic, order, t0, t1 };
  }

  // The critical path: from the root that ends last, walk back from its end
  // through the child that finished last before the cursor, then from that
  // child's start, and so on down the tree.
  function criticalPath(m) {
    const on = new Set();
    if (!m.roots.length) return on;
    let root = m.roots[0];
    for (const r of m.roots) if (r.end > root.end) root = r;
    const work = [[root, root.end]];
    while (work.length) {
      const [s, limit] = work.pop();
      if (on.has(s)) continue;
      on.add(s);
      let cursor = Math.min(s.end, limit);
      const kids = s.children.map((c) => [c, Math.min(c.end, s.end)]).sort((a, b) => b[1] - a[1]);
      for (const [c, ce] of kids) {
        if (ce > cursor || c.start >= cursor) continue;
        work.push([c, cursor]);
        cursor = c.start;
      }
    }
    return on;
  }

  function kvTable(rows) {
    return el('table', {}, el('tbody', {}, rows.map(([k, v]) => el('tr', {}, el('td', {}, k), el('td', {}, v)))));
  }

  function details(m, s, traceId) {
    const rel = (t) => '+' + Ottr.fmtMs(t - m.t0);
    const box = el('div', {}, el('h2', {}, s.name),
      kvTable([['service', s.service], ['span ID', s.id], ['parent', s.parent || '(root)'], ['kind', s.kind],
        ['start', rel(s.start) + ' · ' + Ottr.fmtTime(s.start)], ['duration', Ottr.fmtMs(s.end - s.start)],
        ['status', (s.err ? 'error' : s.status.code === 1 ? 'ok' : 'unset') + (s.status.message ? ': ' + s.status.message : '')],
        ['scope', (s.scope.name || '') + (s.scope.version ? ' ' + s.scope.version : '')]]));
    box.append(el('h2', {}, `Attributes (${s.attrs.length})`), kvTable(s.attrs));
    box.append(el('h2', {}, `Events (${s.events.length})`));
    for (const ev of s.events)
      box.append(el('p', {}, el('b', {}, ev.name), ' ', rel(Ottr.nsToMs(ev.timeUnixNano))),
        kvTable(Ottr.attrs(ev.attributes)));
    box.append(el('h2', {}, `Links (${s.links.length})`));
    for (const l of s.links)
      box.append(el('p', {}, l.traceId === traceId ? 'this trace' :
        el('a', { href: '#/trace/' + l.traceId }, 'trace ' + l.traceId), ' span ', el('span', { class: 'mono' }, l.spanId)),
      kvTable(Ottr.attrs(l.attributes)));
    box.append(el('h2', {}, `Resource (${s.resource.length})`), kvTable(s.resource));
    return box;
  }

  function matches(s, q) {
    if (s.name.toLowerCase().includes(q) || s.service.toLowerCase().includes(q) || s.id.includes(q)) return true;
    for (const [k, v] of s.attrs) if (k.toLowerCase().includes(q) || String(v).toLowerCase().includes(q)) return true;
    for (const e of s.events) if ((e.name || '').toLowerCase().includes(q)) return true;
    return false;
  }

  function show(view, id, data) {
    const resourceSpans = data.trace && data.trace.resourceSpans;
    const m = model(resourceSpans);
    if (!m.spans.length) { view.append(el('p', {}, 'The trace has no spans.')); return; }
    const crit = criticalPath(m);
    const total = Math.max(m.t1 - m.t0, 1e-6);
    // The title: the longest span without a parent (an orphan only when none is).
    const real = m.roots.filter((s) => !s.parent);
    const root = (real.length ? real : m.roots).reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
    const services = new Set(m.spans.map((s) => s.service));
    const errors = m.spans.filter((s) => s.err).length;
    view.append(el('h1', {}, root.service + ': ' + root.name),
      el('div', { class: 'stats' },
        el('div', {}, 'Trace ID', el('b', { class: 'mono small' }, id)),
        el('div', {}, 'Start', el('b', {}, Ottr.fmtTime(m.t0))),
        el('div', {}, 'Duration', el('b', {}, Ottr.fmtMs(total))),
        el('div', {}, 'Spans', el('b', {}, m.spans.length)),
        el('div', {}, 'Services', el('b', {}, services.size)),
        el('div', {}, 'Errors', el('b', { class: errors ? 'err' : '' }, errors)),
        el('div', {}, 'Depth', el('b', {}, 1 + m.order.reduce((d, s) => Math.max(d, s.depth), 0)))));
    if (data.status === 'PARTIAL')
      view.append(el('p', { class: 'warn', role: 'note' }, 'Partial trace: ' + (data.message || 'not every span is here')));
    if (m.orphans.length)
      view.append(el('p', { class: 'warn', role: 'note' }, `${m.orphans.length} span${m.orphans.length > 1 ? 's have' : ' has'} a parent missing from the trace (shown at the top level): ` +
        m.orphans.slice(0, 5).map((s) => `${s.service}: ${s.name}`).join(', ')));
    if (m.cyclic.length)
      view.append(el('p', { class: 'warn', role: 'note' }, `${m.cyclic.length} spans are in a parent cycle (cut and shown at the top level).`));

    const collapsed = new Set();
    let visible = m.order, selected = root, query = '', hits = [], hitAt = -1;
    const recompute = () => {
      if (!collapsed.size) { visible = m.order; return; }
      visible = [];
      let skipDepth = -1;
      for (const s of m.order) {
        if (skipDepth >= 0 && s.depth > skipDepth) continue;
        skipDepth = collapsed.has(s) && s.children.length ? s.depth : -1;
        visible.push(s);
      }
    };

    const search = el('input', { type: 'search', placeholder: 'name, service, attribute…', 'aria-label': 'Search in this trace' });
    const hitInfo = el('span', { class: 'muted', role: 'status' });
    const download = () => {
      const blob = new Blob([JSON.stringify({ resourceSpans }, null, 1)], { type: 'application/json' });
      const a = el('a', { href: URL.createObjectURL(blob), download: `trace-${id}.json` });
      document.body.append(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    };
    view.append(el('div', { class: 'row', style: 'margin:6px 0' },
      el('label', {}, 'Find in trace', search),
      el('button', { type: 'button', class: 'ghost', onclick: () => jump(1) }, 'Next match'), hitInfo,
      el('button', { type: 'button', class: 'ghost', onclick: () => { collapsed.clear(); redraw(); } }, 'Expand all'),
      el('button', { type: 'button', class: 'ghost', onclick: () => { for (const s of m.order) if (s.depth >= 1 && s.children.length) collapsed.add(s); redraw(); } }, 'Collapse all'),
      el('button', { type: 'button', onclick: download }, 'Download OTLP JSON'),
      el('span', {}, el('span', { class: 'legend' }, el('i', { style: 'box-shadow:0 0 0 2px #c2410c' }), 'critical path'),
        el('span', { class: 'legend' }, el('i', { style: 'background:#b3261e' }), 'error'))));

    const ticks = el('div', { class: 'wf-right' });
    for (let i = 0; i <= 4; i++)
      ticks.append(el('span', { class: 'wf-dur' + (i % 2 ? ' tick-q' : ''), style: `left:${i * 25}%;${i === 4 ? 'transform:translateX(-100%)' : ''}` }, Ottr.fmtMs((total * i) / 4)));
    const head = el('div', { class: 'vhead', style: 'padding:0;height:22px' },
      el('div', { class: 'wf-left', style: 'padding-left:8px' }, 'service: span'), ticks);
    const box = el('div', { class: 'wf', role: 'tree', 'aria-label': 'Spans of the trace' });
    const side = el('aside', { class: 'details panel', 'aria-label': 'Span details' });
    view.append(el('div', { class: 'split' }, el('div', {}, head, box), side));

    const select = (s) => {
      selected = s;
      side.replaceChildren(details(m, s, id));
      for (const e of box.querySelectorAll('.vrow.sel')) { e.classList.remove('sel'); e.setAttribute('aria-selected', 'false'); }
      const e = list.rendered.get(visible.indexOf(s));
      if (e) { e.classList.add('sel'); e.setAttribute('aria-selected', 'true'); }
    };
    const toggle = (s) => {
      if (!s.children.length) return;
      if (collapsed.has(s)) collapsed.delete(s); else collapsed.add(s);
      redraw();
      list.focus(visible.indexOf(s));
    };
    const renderRow = (i) => {
      const s = visible[i];
      const open = !collapsed.has(s);
      const row = el('div', { role: 'treeitem', tabindex: 0, 'aria-level': s.depth + 1,
        'aria-expanded': s.children.length ? String(open) : null, 'aria-selected': String(s === selected),
        'aria-label': `${s.service}: ${s.name}, ${Ottr.fmtMs(s.end - s.start)}${s.err ? ', error' : ''}${crit.has(s) ? ', on the critical path' : ''}`,
        class: (s === selected ? 'sel ' : '') + (s.err ? 'errspan ' : '') + (query ? (matches(s, query) ? 'match' : 'dim') : '') });
      const left = el('div', { class: 'wf-left' }, el('span', { style: `width:${Math.min(s.depth, 40) * 12}px;flex:none` }),
        s.children.length ? el('button', { type: 'button', class: 'wf-toggle', tabindex: -1, 'aria-hidden': 'true',
          onclick: (ev) => { ev.stopPropagation(); toggle(s); } }, open ? '▾' : '▸') : el('span', { class: 'wf-toggle' }),
        el('span', { class: 'wf-svc', style: `color:${Ottr.color(s.service)}` }, s.service),
        el('span', { class: 'wf-name' }, (s.err ? '⚠ ' : '') + s.name));
      const l = ((s.start - m.t0) / total) * 100, w = ((s.end - s.start) / total) * 100;
      const right = el('div', { class: 'wf-right' },
        el('div', { class: 'wf-bar' + (crit.has(s) ? ' crit' : ''), style: `left:${l}%;width:${w}%;background:${s.err ? '#b3261e' : Ottr.color(s.service)}` }),
        el('span', { class: 'wf-dur' + (l + w > 85 && l <= 15 ? ' inside' : ''),
          style: l + w <= 85 ? `left:${l + w + 0.5}%` : l > 15 ? `right:${100 - l + 0.5}%` : `left:${l + 0.5}%` }, Ottr.fmtMs(s.end - s.start)));
      row.append(left, right);
      row.addEventListener('click', () => select(s));
      row.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); select(s); }
        else if (ev.key === 'ArrowRight' && collapsed.has(s)) toggle(s);
        else if (ev.key === 'ArrowLeft' && s.children.length && !collapsed.has(s)) toggle(s);
      });
      return row;
    };
    const list = Ottr.vlist(box, { count: visible.length, rowHeight: ROW, render: renderRow });
    function redraw() { recompute(); list.refresh(visible.length); }
    function jump(dir) {
      if (!hits.length) return;
      hitAt = (hitAt + dir + hits.length) % hits.length;
      const s = hits[hitAt];
      // Open the ancestors so that the match shows.
      let p = m.byId.get(s.parent);
      for (let n = 0; p && n < m.spans.length; n++, p = m.byId.get(p.parent)) collapsed.delete(p);
      redraw();
      hitInfo.textContent = `${hitAt + 1} of ${hits.length} spans match`;
      select(s);
      list.focus(visible.indexOf(s));
      search.focus();
    }
    let timer = 0;
    search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        query = search.value.trim().toLowerCase();
        hits = query ? m.order.filter((s) => matches(s, query)) : [];
        hitAt = -1;
        hitInfo.textContent = query ? `${hits.length} span${hits.length === 1 ? '' : 's'} match` : '';
        list.refresh();
      }, 150);
    });
    search.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); jump(ev.shiftKey ? -1 : 1); } });
    select(root);
  }

  Ottr.pages.trace = {
    title: 'Trace',
    async show(view, route) {
      const id = (route.arg || '').trim();
      const form = el('form', { class: 'row', 'aria-label': 'Open a trace by ID', hidden: !!id },
        el('label', {}, 'Trace ID', el('input', { name: 'id', value: id, size: 34, class: 'mono', required: true })),
        el('button', { type: 'submit' }, 'Open'));
      form.addEventListener('submit', (ev) => { ev.preventDefault(); Ottr.go('trace', form.id.value.trim()); });
      view.append(form);
      if (!id) return;
      const status = el('p', { class: 'muted', role: 'status' }, 'Loading trace…');
      view.append(status);
      try {
        const data = await Ottr.api('/api/v2/traces/' + encodeURIComponent(id), {}, { allow404: true });
        status.remove();
        if (!data) { view.append(el('p', { class: 'warn', role: 'note' }, `Trace ${id} not found.`)); return; }
        show(view, id, data);
      } catch (e) { status.remove(); Ottr.fail(e); }
    },
  };
})();

// ui/www/map.js - the Service map page: the service graph of every span
// (sampled or not) from /api/service-graph, laid out in layers from callers to
// callees; nodes and edges labelled with rate, error rate and p95. A click on a
// service opens its RED panel.
'use strict';
(function () {
  const { el, svg } = Ottr;
  const NW = 190, NH = 58, COL = 420, ROWH = 92, PAD = 30;

  // Layers by longest path from the callers (Kahn's order; what a cycle leaves
  // goes one layer past what is placed), then each layer ordered by the mean
  // position of its callers.
  function layout(names, edges) {
    const out = new Map(), indeg = new Map();
    for (const n of names) { out.set(n, []); indeg.set(n, 0); }
    for (const e of edges) if (e.client !== e.server) { out.get(e.client).push(e.server); indeg.set(e.server, indeg.get(e.server) + 1); }
    const layer = new Map(), queue = names.filter((n) => indeg.get(n) === 0);
    for (const n of queue) layer.set(n, 0);
    const left = new Map(indeg);
    for (let qi = 0; qi < queue.length || layer.size < names.length; qi++) {
      if (qi >= queue.length) { // a cycle: place the first unplaced node and go on
        const n = names.find((x) => !layer.has(x) && !queue.includes(x));
        layer.set(n, Math.max(0, ...layer.values()) + 1);
        queue.push(n);
      }
      const n = queue[qi];
      for (const m of out.get(n)) {
        if (queue.includes(m)) continue;
        layer.set(m, Math.max(layer.get(m) || 0, layer.get(n) + 1));
        left.set(m, left.get(m) - 1);
        if (left.get(m) === 0) queue.push(m);
      }
    }
    const cols = [];
    for (const n of names) (cols[layer.get(n)] = cols[layer.get(n)] || []).push(n);
    const pos = new Map();
    cols.forEach((col, ci) => {
      if (ci > 0) {
        const score = (n) => {
          const ys = edges.filter((e) => e.server === n && pos.has(e.client)).map((e) => pos.get(e.client).y);
          return ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : 1e9;
        };
        col.sort((a, b) => score(a) - score(b) || a.localeCompare(b));
      } else col.sort();
      col.forEach((n, i) => pos.set(n, { x: PAD + ci * COL, y: PAD + i * ROWH }));
    });
    return { pos, width: PAD * 2 + (cols.length - 1) * COL + NW, height: PAD * 2 + Math.max(...cols.map((c) => c.length)) * ROWH };
  }

  function label(calls, errors, lat, secs) {
    return `${Ottr.fmtRate(calls / secs)} · ${Ottr.fmtPct(calls ? errors / calls : 0)} err · p95 ${Ottr.fmtMs(lat && lat.p95)}`;
  }

  async function draw(box, panel, range) {
    const r = Ottr.rangeSeconds(range);
    box.replaceChildren(el('p', { class: 'muted', role: 'status' }, 'Loading the service graph…'));
    let g;
    try { g = await Ottr.api('/api/service-graph', { start: r.start, end: r.end }); }
    catch (e) { box.replaceChildren(); Ottr.fail(e); return; }
    const secs = Math.max(1, (g.end || 0) - (g.start || 0));
    const nodes = new Map((g.nodes || []).map((n) => [n.service, n]));
    for (const e of g.edges || []) for (const n of [e.client, e.server]) if (!nodes.has(n)) nodes.set(n, { service: n, virtual: true });
    if (!nodes.size) { box.replaceChildren(el('p', {}, 'No service graph yet in this range.')); return; }
    const names = [...nodes.keys()];
    const { pos, width, height } = layout(names, g.edges || []);
    const root = svg('svg', { class: 'map', viewBox: `0 0 ${Math.max(width, 400)} ${Math.max(height, 200)}`, role: 'group',
      'aria-label': `Service map: ${names.length} services, ${(g.edges || []).length} connections` });
    root.append(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      svg('path', { d: 'M0 0L10 5L0 10z', fill: '#8c959f' }))));
    for (const e of g.edges || []) {
      const a = pos.get(e.client), b = pos.get(e.server);
      const x1 = a.x + NW, y1 = a.y + NH / 2, x2 = b.x, y2 = b.y + NH / 2;
      const back = x2 <= x1;
      const d = back ? `M${a.x + NW / 2} ${a.y + NH}C${a.x + NW / 2} ${a.y + NH + 60} ${b.x + NW / 2} ${b.y + NH + 60} ${b.x + NW / 2} ${b.y + NH}`
        : `M${x1} ${y1}C${x1 + 70} ${y1} ${x2 - 70} ${y2} ${x2} ${y2}`;
      const text = label(e.calls, e.errors, e.latencyMs, secs) + (e.connectionType && e.connectionType !== 'virtual_node' ? ` (${e.connectionType.replace('_system', '')})` : '');
      root.append(svg('path', { class: 'edge' + (e.errors ? ' err' : ''), d, 'marker-end': 'url(#arrow)' },
        svg('title', {}, `${e.client} → ${e.server}: ${text}`)));
      const mx = back ? (a.x + b.x + NW) / 2 : (x1 + x2) / 2, my = back ? Math.max(a.y, b.y) + NH + 50 : (y1 + y2) / 2 - 5;
      root.append(svg('text', { class: 'elabel', x: mx, y: my, 'text-anchor': 'middle' }, text));
    }
    for (const name of names) {
      const n = nodes.get(name), p = pos.get(name);
      const sub = n.virtual ? (n.service === 'user' ? 'client' : 'uninstrumented / database') : label(n.calls, n.errors, n.latencyMs, secs);
      const gnode = svg('g', { class: 'node' + (n.errors ? ' err' : ''), transform: `translate(${p.x},${p.y})`, tabindex: n.virtual ? null : 0,
        role: n.virtual ? 'img' : 'button', 'aria-label': `${name}: ${sub}`, 'data-service': name },
      svg('rect', { width: NW, height: NH, rx: 6, 'stroke-dasharray': n.virtual ? '4 3' : null }),
      svg('rect', { width: 6, height: NH, fill: Ottr.color(name), stroke: 'none' }),
      svg('text', { class: 'title', x: 14, y: 22 }, name.length > 24 ? name.slice(0, 23) + '…' : name),
      svg('text', { x: 14, y: 42 }, sub));
      if (!n.virtual) {
        const open = () => openPanel(panel, name, range);
        gnode.addEventListener('click', open);
        gnode.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); open(); } });
      }
      root.append(gnode);
    }
    box.replaceChildren(root);
  }

  function openPanel(panel, service, range) {
    panel.hidden = false;
    panel.replaceChildren(el('div', { class: 'row' }, el('h2', { style: 'flex:1' }, service),
      el('a', { href: '#/services?' + new URLSearchParams({ service, range }) }, 'Operations'),
      el('a', { href: '#/search?' + new URLSearchParams({ service, range, run: 1 }) }, 'Traces'),
      el('button', { type: 'button', class: 'ghost', onclick: () => { panel.hidden = true; } }, 'Close')));
    Ottr.redPanel(panel, service, range);
  }

  Ottr.pages.map = {
    title: 'Service map',
    show(view, route) {
      const range = route.params.get('range') || '1h';
      const sel = Ottr.rangeSelect('range', range);
      sel.addEventListener('change', () => Ottr.go('map', null, { range: sel.value }));
      const box = el('div', { class: 'scroll-x' });
      const panel = el('section', { class: 'panel', hidden: true, 'aria-label': 'RED of the service', style: 'margin-top:10px' });
      view.append(el('div', { class: 'row' }, el('h1', { style: 'flex:1' }, 'Service map'),
        el('label', {}, 'Time range', sel),
        el('button', { type: 'button', class: 'ghost', onclick: () => draw(box, panel, range) }, 'Refresh')),
      el('p', { class: 'hint' }, 'From every span received, sampled or not. Labels: calls per second · error rate · p95 latency.'),
      panel, box);
      draw(box, panel, range);
      if (route.params.get('service')) openPanel(panel, route.params.get('service'), range);
    },
  };
})();

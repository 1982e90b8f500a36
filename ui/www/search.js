// ui/www/search.js - the Search page: service, operation, tags with
// autocomplete, durations, time range, limit or a TraceQL query; results as a
// duration-over-time scatter and a virtualized list, errors marked.
'use strict';
(function () {
  const { el, api } = Ottr;
  let tagNames = null; // cached per page view

  function field(label, input, cls) {
    return el('label', { class: cls }, label, input);
  }

  // Tag autocomplete for a logfmt input: names, then the values of the name
  // before '=' (quoted when needed).
  function autocomplete(input, list) {
    let lastKey = null, timer = 0;
    input.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const v = input.value;
        const m = /(?:^|\s)([^\s=]+)(=?)("?[^\s"]*)$/.exec(v);
        const head = m ? v.slice(0, m.index + (m[0].startsWith(' ') ? 1 : 0)) : v + (v && !v.endsWith(' ') ? ' ' : '');
        let opts = [];
        try {
          if (m && m[2] === '=') {
            if (lastKey !== m[1]) {
              lastKey = m[1];
              const r = await api('/api/search/tag/' + encodeURIComponent(m[1]) + '/values', { limit: 200 });
              list._values = r.tagValues || [];
            }
            opts = (list._values || []).map((x) => head + m[1] + '=' + (/[\s"=]/.test(x) || x === '' ? JSON.stringify(x) : x));
          } else {
            if (!tagNames) tagNames = (await api('/api/search/tags')).tagNames || [];
            opts = tagNames.map((t) => head + t + '=');
          }
        } catch (e) { return; }
        list.replaceChildren(...opts.slice(0, 200).map((o) => el('option', { value: o })));
      }, 120);
    });
  }

  async function fillServices(select, chosen) {
    try {
      const r = await api('/api/search/tag/service.name/values');
      const vals = (r.tagValues || []).slice().sort();
      select.replaceChildren(el('option', { value: '' }, 'any service'),
        ...vals.map((v) => el('option', { value: v, selected: v === chosen }, v)));
    } catch (e) { Ottr.fail(e); }
  }

  async function fillOperations(list) {
    try {
      const r = await api('/api/v2/search/tag/name/values', { limit: 1000 });
      list.replaceChildren(...(r.tagValues || []).map((v) => el('option', { value: v.value })));
    } catch (e) { /* autocomplete only */ }
  }

  function quote(v) { return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v); }

  async function run(params, out) {
    const range = Ottr.rangeSeconds(params.get('range') || '1h');
    const q = (params.get('q') || '').trim();
    const call = { limit: params.get('limit') || 100, start: range.start, end: range.end };
    if (q) {
      call.q = q;
    } else {
      const tags = [];
      if (params.get('service')) tags.push('service.name=' + quote(params.get('service')));
      if (params.get('operation')) tags.push('name=' + quote(params.get('operation')));
      if (params.get('tags')) tags.push(params.get('tags').trim());
      call.tags = tags.join(' ');
      call.minDuration = params.get('minDuration');
      call.maxDuration = params.get('maxDuration');
    }
    out.replaceChildren(el('p', { class: 'muted', role: 'status' }, 'Searching…'));
    const t0 = performance.now();
    let r;
    try { r = await api('/api/search', call); }
    catch (e) { out.replaceChildren(); Ottr.fail(e); return; }
    const traces = r.traces || [];
    const rows = traces.map((t) => {
      let spans = 0, errors = 0;
      for (const s of Object.values(t.serviceStats || {})) { spans += s.spanCount || 0; errors += s.errorCount || 0; }
      return { id: t.traceID, svc: t.rootServiceName || '', name: t.rootTraceName || '',
        start: Ottr.nsToMs(t.startTimeUnixNano), dur: t.durationMs || 0, spans, errors };
    });
    const summary = el('p', { role: 'status' }, `${rows.length} traces`,
      rows.length >= Number(call.limit) ? ` (limit ${call.limit} reached)` : '',
      r.partial ? el('span', { class: 'err' }, ' · partial: ' + (r.partialReason || 'stopped early')) : '',
      el('span', { class: 'muted' }, ` · ${Math.round(performance.now() - t0)} ms`));
    const open = (id) => () => Ottr.go('trace', id);
    const plot = Ottr.scatter(rows.map((x) => ({ x: x.start, y: x.dur, err: x.errors > 0,
      title: `${x.svc}: ${x.name} ${Ottr.fmtMs(x.dur)}`, onclick: open(x.id) })),
    { label: 'Trace duration over time; red: traces with errors', width: out.clientWidth });
    const head = el('div', { class: 'vhead', 'aria-hidden': 'true' },
      el('span', { class: 'c-id' }, 'trace'), el('span', { class: 'c-svc' }, 'root service'),
      el('span', { class: 'c-name' }, 'root span'), el('span', { class: 'c-time' }, 'start'),
      el('span', { class: 'c-num' }, 'duration'), el('span', { class: 'c-num' }, 'spans'),
      el('span', { class: 'c-num' }, 'errors'));
    const box = el('div', { class: 'results', role: 'list', 'aria-label': 'Traces found' });
    box.style.height = Math.min(560, Math.max(120, rows.length * 26 + 4)) + 'px';
    out.replaceChildren(summary, plot, head, box);
    if (!rows.length) { box.append(el('p', { class: 'muted' }, ' No traces match.')); return; }
    Ottr.vlist(box, { count: rows.length, rowHeight: 26, render: (i) => {
      const x = rows[i];
      return el('a', { href: '#/trace/' + x.id, role: 'listitem', class: x.errors ? 'has-err' : '',
        'aria-label': `${x.svc} ${x.name}, ${Ottr.fmtMs(x.dur)}${x.errors ? ', ' + x.errors + ' errors' : ''}` },
      el('span', { class: 'c-id mono' }, x.id.slice(0, 12)),
      el('span', { class: 'c-svc' }, x.svc), el('span', { class: 'c-name' }, x.name),
      el('span', { class: 'c-time' }, Ottr.fmtTime(x.start)),
      el('span', { class: 'c-num' }, Ottr.fmtMs(x.dur)), el('span', { class: 'c-num' }, x.spans),
      el('span', { class: 'c-num' }, x.errors ? el('span', { class: 'badge err' }, x.errors) : '0'));
    } });
  }

  Ottr.pages.search = {
    title: 'Search',
    show(view, route) {
      const p = route.params;
      const f = el('form', { class: 'panel', 'aria-label': 'Search traces' });
      const svc = el('select', { name: 'service' }, el('option', { value: '' }, 'any service'));
      const opsList = el('datalist', { id: 'ops-list' });
      const tagList = el('datalist', { id: 'tag-list' });
      const tags = el('input', { name: 'tags', list: 'tag-list', placeholder: 'http.response.status_code=500 db.system=postgresql', value: p.get('tags') || '', autocomplete: 'off' });
      autocomplete(tags, tagList);
      f.append(el('div', { class: 'form-grid' },
        field('Service', svc),
        field('Operation', el('input', { name: 'operation', list: 'ops-list', value: p.get('operation') || '', autocomplete: 'off' })),
        field('Tags (logfmt)', tags, 'wide'),
        field('Min duration', el('input', { name: 'minDuration', placeholder: '100ms', value: p.get('minDuration') || '', size: 6 })),
        field('Max duration', el('input', { name: 'maxDuration', placeholder: '5s', value: p.get('maxDuration') || '', size: 6 })),
        field('TraceQL (used instead of the fields above when set)', el('textarea', { name: 'q', rows: 1, placeholder: '{ resource.service.name = "checkout" && status = error }', spellcheck: 'false' }, p.get('q') || ''), 'full'),
        field('Time range', Ottr.rangeSelect('range', p.get('range') || '1h')),
        field('Limit', el('input', { name: 'limit', type: 'number', min: 1, max: 100000, value: p.get('limit') || 100 })),
        el('div', { class: 'row' }, el('button', { type: 'submit' }, 'Search'),
          el('button', { type: 'button', class: 'ghost', onclick: () => Ottr.go('search') }, 'Clear'))),
      opsList, tagList);
      f.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const d = Object.fromEntries(new FormData(f).entries());
        d.run = '1';
        Ottr.go('search', null, d);
      });
      const out = el('section', { 'aria-label': 'Results' });
      view.append(el('h1', {}, 'Search traces'), f, out);
      tagNames = null;
      fillServices(svc, p.get('service'));
      fillOperations(opsList);
      run(p, out);
    },
  };
})();

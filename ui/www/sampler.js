// ui/www/sampler.js - the Sampler page: a live view of the tail sampler from
// /metrics, /health and /api/sampler, polled every two seconds: traces buffered
// and memory against their limits, the policies in force and the decisions of
// each, the kept rate, the keep queue, back-pressure and late spans.
'use strict';
(function () {
  const { el } = Ottr;
  const POLL_MS = 2000, HISTORY = 150;

  // Prometheus text -> [{name, labels, value}].
  function parseProm(text) {
    const out = [];
    for (const line of text.split('\n')) {
      if (!line || line[0] === '#') continue;
      const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
      if (!m) continue;
      const labels = {};
      if (m[3]) for (const l of m[3].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (x, c) => (c === 'n' ? '\n' : c));
      out.push({ name: m[1], labels, value: Number(m[4]) });
    }
    return out;
  }
  const sum = (ms, name, pred) => ms.filter((x) => x.name === name && (!pred || pred(x.labels))).reduce((a, x) => a + x.value, 0);

  let timer = 0;
  Ottr.pages.sampler = {
    title: 'Sampler',
    leave() { clearTimeout(timer); timer = 0; },
    show(view) {
      const history = [];
      const live = el('span', { class: 'muted', role: 'status' }, 'connecting…');
      const body = el('section', { 'aria-label': 'Sampler state', 'aria-live': 'off' });
      view.append(el('div', { class: 'row' }, el('h1', { style: 'flex:1' }, 'Tail sampler'), live), body);
      let prev = null;
      const tick = async () => {
        timer = 0;
        let ms, health, smp;
        try {
          const [text, h, sp] = await Promise.all([Ottr.api('/metrics', {}, { text: true }),
            Ottr.api('/health').catch((e) => (e.status === 503 ? null : Promise.reject(e))), Ottr.api('/api/sampler')]);
          ms = parseProm(text);
          health = h;
          smp = sp;
        } catch (e) { Ottr.fail(e); live.textContent = 'not updating'; timer = setTimeout(tick, POLL_MS * 2); return; }
        Ottr.banner('');
        const now = Date.now();
        const policies = new Map(), types = new Map();
        const describe = (p) => p.type + (p.policies ? ' (' + p.policies.map(describe).join(', ') + ')' : '');
        for (const p of smp.policies || []) { types.set(p.name, describe(p)); policies.set(p.name, { kept: 0, dropped: 0 }); }
        for (const x of ms.filter((x) => x.name === 'ottr_sampler_decisions_total')) {
          const p = policies.get(x.labels.policy) || { kept: 0, dropped: 0 };
          p[x.labels.decision === 'kept' ? 'kept' : 'dropped'] += x.value;
          policies.set(x.labels.policy, p);
        }
        const kept = [...policies.values()].reduce((a, p) => a + p.kept, 0);
        const decided = [...policies.values()].reduce((a, p) => a + p.kept + p.dropped, 0);
        const cur = { t: now, kept, decided, policies,
          buffered: sum(ms, 'ottr_sampler_traces_buffered'), queue: sum(ms, 'ottr_sampler_keep_queue_traces'),
          backpressure: sum(ms, 'ottr_sampler_backpressure_total'),
          spans: sum(ms, 'ottr_receiver_spans_total', (l) => !l.result || l.result === 'accepted' || l.result === 'ok') };
        const dt = prev ? (now - prev.t) / 1000 : 0;
        cur.keptRate = prev && dt > 0 ? Math.max(0, (kept - prev.kept) / dt) : 0;
        cur.decidedRate = prev && dt > 0 ? Math.max(0, (decided - prev.decided) / dt) : 0;
        cur.bpRate = prev && dt > 0 ? Math.max(0, (cur.backpressure - prev.backpressure) / dt) : 0;
        history.push(cur);
        if (history.length > HISTORY) history.shift();
        const hs = health && health.components && health.components.sampler;
        const stat = (label, value, extra) => el('div', {}, label, el('b', {}, value), extra ? el('span', { class: 'muted' }, extra) : '');
        const line = (key, opts) => Ottr.lineChart(history.map((h) => ({ t: h.t, v: h[key] })), Object.assign({ width: 300, height: 60, class: 'spark wide', t0: now - HISTORY * POLL_MS, t1: now }, opts));
        const rows = [...policies.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([name, p]) => {
          const before = prev && prev.policies.get(name);
          const rate = before && dt > 0 ? Math.max(0, (p.kept - before.kept) / dt) : 0;
          return el('tr', { 'data-policy': name }, el('th', { scope: 'row' }, name),
            el('td', {}, types.get(name) || (name === 'none' ? 'no policy kept the trace' : name === 'always_sample' ? 'no policies: every trace kept' : 'no longer configured')),
            el('td', { class: 'num' }, Ottr.fmtNum(p.kept)),
            el('td', { class: 'num' }, Ottr.fmtNum(p.dropped)),
            el('td', { class: 'num' }, decided ? Ottr.fmtPct(p.kept / decided) : '–'), el('td', { class: 'num' }, Ottr.fmtRate(rate)));
        });
        body.replaceChildren(
          el('div', { class: 'stats' },
            stat('Buffered traces', Ottr.fmtNum(cur.buffered), hs ? ` of ${Ottr.fmtNum(hs.maxBufferedTraces)}` : ''),
            stat('Buffered memory', hs ? (hs.bufferedBytes / 1048576).toFixed(1) + ' MiB' : '–', hs ? ` of ${(hs.maxMemoryBytes / 1048576).toFixed(0)} MiB` : ''),
            stat('Decided', Ottr.fmtNum(decided), ` · ${Ottr.fmtRate(cur.decidedRate)}`),
            stat('Kept', Ottr.fmtNum(kept), ` · ${decided ? Ottr.fmtPct(kept / decided) : '–'} · ${Ottr.fmtRate(cur.keptRate)}`),
            stat('Keep queue', Ottr.fmtNum(cur.queue), ' traces'),
            stat('Back-pressure', Ottr.fmtNum(cur.backpressure), ` refusals · ${Ottr.fmtRate(cur.bpRate)}`),
            stat('Late spans', Ottr.fmtNum(sum(ms, 'ottr_sampler_late_spans_total'))),
            stat('Status', hs ? hs.status : health === null ? 'not ready' : '–')),
          el('div', { class: 'row' },
            el('figure', {}, line('buffered', { label: 'Buffered traces' }), el('figcaption', { class: 'muted' }, 'buffered traces')),
            el('figure', {}, line('keptRate', { label: 'Kept traces per second', color: '#1a7f37' }), el('figcaption', { class: 'muted' }, 'kept traces/s')),
            el('figure', {}, line('bpRate', { label: 'Back-pressure refusals per second', color: '#b3261e' }), el('figcaption', { class: 'muted' }, 'back-pressure refusals/s'))),
          el('h2', {}, 'Policies'),
          el('p', { class: 'hint' }, 'The policies of sampling.policies in force (as last reloaded), in their order; a trace is kept when one of them keeps it. Tenants with their own policies count under those names.'),
          el('table', { class: 'grid', 'aria-label': 'Decisions per policy' },
            el('thead', {}, el('tr', {}, ['policy', 'type', 'kept', 'dropped', 'share of decisions', 'kept now'].map((h, i) => el('th', { scope: 'col', class: i > 1 ? 'num' : '' }, h)))),
            el('tbody', {}, rows.length ? rows : el('tr', {}, el('td', { colspan: 6 }, 'No decision yet.')))));
        live.textContent = 'live · updated ' + new Date(now).toLocaleTimeString();
        prev = cur;
        if (Ottr.route().page === 'sampler') timer = setTimeout(tick, POLL_MS);
      };
      tick();
    },
  };
})();

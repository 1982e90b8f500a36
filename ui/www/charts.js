// ui/www/charts.js - small SVG charts drawn by hand: a scatter plot (search
// results) and a line chart with a filled area (RED series, sampler).
'use strict';
(function () {
  const NS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, ...kids) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
    for (const c of kids.flat()) if (c) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }
  Ottr.svg = svg;

  // points: [{x, y, err, title, onclick}]; x in ms since epoch, y in ms.
  Ottr.scatter = function (points, opts) {
    // Drawn at the width it is shown at, so that text and dots keep their shape.
    const W = Math.max(280, Math.round((opts && opts.width) || 1000)), H = 170, L = 56, B = 22, T = 8, R = 10;
    const root = svg('svg', { class: 'scatter', viewBox: `0 0 ${W} ${H}`,
      role: 'img', 'aria-label': opts && opts.label });
    if (!points.length) return root;
    let x0 = Infinity, x1 = -Infinity, y1 = 0;
    for (const p of points) { x0 = Math.min(x0, p.x); x1 = Math.max(x1, p.x); y1 = Math.max(y1, p.y); }
    if (x1 === x0) { x0 -= 1000; x1 += 1000; }
    y1 = y1 || 1;
    const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
    const sy = (y) => H - B - (y / y1) * (H - B - T);
    root.append(svg('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#8c959f' }));
    root.append(svg('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#8c959f' }));
    root.append(svg('text', { x: 4, y: T + 10 }, Ottr.fmtMs(y1)));
    root.append(svg('text', { x: 4, y: H - B }, '0'));
    root.append(svg('text', { x: L, y: H - 6 }, Ottr.fmtTime(x0).slice(11, 19)));
    root.append(svg('text', { x: W - R, y: H - 6, 'text-anchor': 'end' }, Ottr.fmtTime(x1).slice(11, 19)));
    // A cap on drawn points keeps 10k results fast; every point stays in the list.
    const step = Math.max(1, Math.ceil(points.length / 4000));
    for (let i = 0; i < points.length; i += step) {
      const p = points[i];
      const c = svg('circle', { cx: sx(p.x), cy: sy(p.y), r: 4, fill: p.err ? '#b3261e' : '#1f4e79',
        'fill-opacity': 0.7, 'vector-effect': 'non-scaling-stroke' }, svg('title', {}, p.title));
      if (p.onclick) c.addEventListener('click', p.onclick);
      root.append(c);
    }
    return root;
  };

  // series: [{t, v}] (t ms since epoch); opts: {color, label, fmt, width, height}
  Ottr.lineChart = function (series, opts) {
    opts = opts || {};
    const W = opts.width || 160, H = opts.height || 36;
    const root = svg('svg', { class: opts.class || 'spark', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none',
      role: 'img', 'aria-label': (opts.label || 'chart') + (series.length ? ', latest ' +
        (opts.fmt || Ottr.fmtNum)(series[series.length - 1].v) : ', no data') });
    root.append(svg('line', { x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5, stroke: '#d0d7de', 'vector-effect': 'non-scaling-stroke' }));
    if (!series.length) {
      root.append(svg('text', { x: 2, y: H / 2 + 4 }, 'no data'));
      return root;
    }
    // opts.t0/t1: the x range shared by a row of charts (default: the series').
    let t0 = opts.t0 !== undefined ? opts.t0 : series[0].t;
    let t1 = opts.t1 !== undefined ? opts.t1 : series[series.length - 1].t, vmax = 0;
    for (const p of series) vmax = Math.max(vmax, p.v || 0);
    if (t1 === t0) t1 = t0 + 1;
    vmax = vmax || 1;
    const sx = (t) => ((t - t0) / (t1 - t0)) * (W - 2) + 1;
    const sy = (v) => H - 2 - ((v || 0) / vmax) * (H - 4);
    const color = opts.color || '#1f4e79';
    if (series.length === 1) {
      const p = series[0];
      root.append(svg('circle', { cx: sx(p.t), cy: sy(p.v), r: 2.5, fill: color, 'vector-effect': 'non-scaling-stroke' }),
        svg('title', {}, `${opts.label || ''} ${(opts.fmt || Ottr.fmtNum)(p.v)}`));
      return root;
    }
    let d = '';
    series.forEach((p, i) => { d += (i ? 'L' : 'M') + sx(p.t).toFixed(1) + ' ' + sy(p.v).toFixed(1); });
    root.append(svg('path', { d: d + `L${sx(t1).toFixed(1)} ${H - 1}L${sx(t0).toFixed(1)} ${H - 1}Z`,
      fill: color, 'fill-opacity': 0.15, stroke: 'none' }));
    root.append(svg('path', { d, fill: 'none', stroke: color, 'stroke-width': 1.5, 'vector-effect': 'non-scaling-stroke' }));
    root.append(svg('title', {}, `${opts.label || ''} max ${(opts.fmt || Ottr.fmtNum)(vmax)}`));
    return root;
  };
})();

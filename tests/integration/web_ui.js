// tests/integration/web_ui.js - drives the web UI in a headless Chromium for
// test_web_ui.py: sets the credential and tenant under Settings, then checks
// what each page shows (Search with its scatter, autocomplete, TraceQL and 10,000
// results; Trace with the critical path, details, in-trace search, warnings,
// collapse and the OTLP JSON download, also for a 10,000-span trace; Service map
// and its RED panel; Services; Sampler), at 1280x800 and at a phone width, with
// a screenshot of each; and that no request leaves ottrd's origin and every API
// call carries the credential and tenant.
// Usage: node web_ui.js BASE SHOTDIR TOKEN TENANT CHECKOUT ORPHAN BIG NBIG NMANY
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const [base, shots, token, tenant, checkout, orphan, big, nbig, nmany] = process.argv.slice(2);
const origin = new URL(base).origin;
let failures = 0;
const errors = []; // script errors and console errors of the page
function check(cond, what) {
  if (!cond) { failures++; console.error('FAIL: ' + what); } else console.log('ok: ' + what);
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ottr-ui-chromium-'));
  // A fresh profile (--user-data-dir) and no background traffic.
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 }, acceptDownloads: true,
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(15000);
  const foreign = [], bare = [];
  let settingsSaved = false;
  page.on('request', (r) => {
    const u = r.url();
    if (u.startsWith('blob:') || u.startsWith('data:')) return;
    if (new URL(u).origin !== origin) foreign.push(u);
    const p = new URL(u).pathname;
    if (settingsSaved && (p.startsWith('/api/') || p === '/metrics' || p === '/health')) {
      const h = r.headers();
      if (h.authorization !== 'Bearer ' + token || h['x-scope-orgid'] !== tenant) bare.push(u);
    }
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 40[14]/.test(m.text())) errors.push(m.text()); });
  const shot = (name) => page.screenshot({ path: path.join(shots, name + '.png'), fullPage: false });
  const t0 = Date.now();

  // Without a credential the page loads and says what is missing.
  await page.goto(base + '/');
  await page.waitForSelector('#banner:not([hidden])');
  check(/401/.test(await page.textContent('#banner')), 'without a credential the banner shows the 401');

  // Settings: bearer token and tenant, kept in localStorage.
  await page.click('#settings-open');
  await page.selectOption('select[name=auth]', 'bearer');
  await page.fill('input[name=token]', token);
  await page.fill('input[name=tenant]', tenant);
  settingsSaved = true;
  await page.click('#settings-save');
  await page.waitForSelector('.results .vrow');
  check((await page.textContent('#tenant-badge')) === tenant, 'the tenant shows in the header');

  // Search by service: the failing checkout is listed and marked.
  await page.waitForSelector('select[name=service] option[value=frontend]', { state: 'attached' });
  await page.selectOption('select[name=service]', 'frontend');
  await page.click('form[aria-label="Search traces"] button[type=submit]');
  await page.waitForFunction(() => location.hash.includes('service=frontend'));
  await page.waitForSelector('.results .vrow:has-text("POST /checkout")');
  check(await page.locator('.results .vrow').count() === 1, 'one frontend trace listed');
  check(await page.locator('.results .vrow .badge.err').count() === 1, 'its errors are marked');
  check(await page.locator('svg.scatter circle[fill="#b3261e"]').count() === 1, 'the scatter marks it red');
  await shot('search');

  // Tag autocomplete: names, then the values of one.
  const tags = page.locator('input[name=tags]');
  await tags.fill('db.s');
  await page.waitForSelector('#tag-list option[value="db.system="]', { state: 'attached' });
  check(true, 'tag names complete');
  await tags.fill('db.system=');
  await page.waitForSelector('#tag-list option[value="db.system=postgresql"]', { state: 'attached' });
  check(true, 'tag values complete');
  check(await page.locator('#ops-list option[value="POST /charge"]').count() === 1, 'operations complete');

  // TraceQL.
  await page.goto(base + '/#/search?q=' + encodeURIComponent('{ resource.service.name = "payment" && status = error }'));
  await page.waitForSelector('.results .vrow');
  check((await page.textContent('.results')).includes(checkout.slice(0, 12)), 'TraceQL finds the checkout');

  // 10,000 results: all counted, few rows in the DOM, the last one reachable.
  let t = Date.now();
  await page.goto(base + `/#/search?service=probe&limit=${nmany}&range=1h`);
  await page.waitForSelector(`p[role=status]:has-text("${nmany} traces")`, { timeout: 30000 });
  const searchMs = Date.now() - t;
  const rows = await page.locator('.results .vrow').count();
  check(rows > 10 && rows < 200, `10k results: ${rows} rows in the DOM (${searchMs} ms)`);
  await page.focus('.results .vrow >> nth=0');
  await page.keyboard.press('End');
  await page.waitForSelector(`.results .vrow[data-index="${nmany - 1}"]`);
  check(true, 'End reaches the last of 10k results');

  // Trace: waterfall, critical path, details, in-trace search, collapse, download.
  await page.goto(base + '/#/trace/' + checkout);
  await page.waitForSelector('.wf .vrow');
  check((await page.textContent('h1')) === 'frontend: POST /checkout', 'the trace is titled by its root');
  check(await page.locator('.wf .vrow').count() === 7, 'seven spans in the waterfall');
  const crit = await page.locator('.wf .wf-bar.crit').count();
  check(crit === 6, `the critical path marks ${crit} spans, want 6`);
  check(await page.locator('.wf .vrow:has-text("cache lookup") .wf-bar.crit').count() === 0, 'the parallel cache lookup is off the critical path');
  await page.click('.wf .vrow:has-text("payment")');
  const det = await page.textContent('aside.details');
  check(det.includes('card declined') && det.includes('CardDeclined') && det.includes('visa'), 'span details: status, event, attributes');
  await page.click('.wf .vrow:has-text("checkout") >> nth=0');
  await page.click('.wf .vrow[data-index="2"]');
  check((await page.textContent('aside.details')).includes(orphan), 'a link names the linked trace');
  await page.fill('input[aria-label="Search in this trace"]', 'postgresql');
  await page.waitForSelector('.wf .vrow.match');
  check(await page.locator('.wf .vrow.match').count() === 1 && await page.locator('.wf .vrow.dim').count() === 6, 'in-trace search highlights one span');
  await shot('trace');
  await page.click('.wf .vrow[data-index="0"] .wf-toggle');
  check(await page.locator('.wf .vrow').count() === 1, 'collapsing the root hides the rest');
  await page.keyboard.press('ArrowRight');
  check(await page.locator('.wf .vrow').count() === 7, 'ArrowRight opens it again');
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('text=Download OTLP JSON')]);
  const doc = JSON.parse(fs.readFileSync(await dl.path(), 'utf8'));
  check(doc.resourceSpans.length === 3 && dl.suggestedFilename() === `trace-${checkout}.json`, 'the download is the OTLP JSON of the trace');

  // Warnings: a span whose parent is missing (opened from the header's trace ID box).
  await page.fill('#lookup input', orphan);
  await page.press('#lookup input', 'Enter');
  await page.waitForSelector('.warn');
  const warn = await page.locator('.warn').allTextContents();
  check(warn.some((w) => w.includes('parent missing')) && warn.some((w) => w.startsWith('Partial trace')), 'orphan and partial warnings');
  await page.goto(base + '/#/trace/00000000000000000000000000000bad');
  await page.waitForSelector('.warn:has-text("not found")');
  check(true, 'an unknown trace says so');

  // 10,000 spans.
  t = Date.now();
  await page.goto(base + '/#/trace/' + big);
  await page.waitForSelector('.wf .vrow');
  const bigMs = Date.now() - t;
  check((await page.textContent('.stats')).includes(nbig), `the 10k-span trace counts ${nbig} spans (${bigMs} ms)`);
  const wrows = await page.locator('.wf .vrow').count();
  check(wrows < 200, `10k spans: ${wrows} rows in the DOM`);
  await page.focus('.wf .vrow >> nth=0');
  await page.keyboard.press('End');
  await page.waitForSelector(`.wf .vrow[data-index="${Number(nbig) - 1}"]`);
  check(true, 'End reaches the last span');

  // Service map with labelled edges, and a service's RED panel.
  await page.goto(base + '/#/map');
  await page.waitForSelector('svg.map g.node[data-service=checkout]');
  const labels = await page.locator('svg.map text.elabel').allTextContents();
  check(labels.some((l) => /\/(s|min|h) · 100% err · p95/.test(l)), 'edges are labelled with rate, errors and p95');
  check(await page.locator('svg.map g.node[data-service=shop]').count() === 1, 'the database shows as a node');
  await shot('map');
  await page.focus('svg.map g.node[data-service=checkout]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('table[aria-label="RED of checkout"] td:has-text("POST /api/checkout")');
  check(true, 'a service opens its RED panel from the keyboard');

  // Services: RED per service and operation.
  await page.goto(base + '/#/services');
  await page.waitForSelector('tr[data-service=payment]');
  const pay = await page.textContent('tr[data-service=payment]');
  check(pay.includes('100%'), 'payment: 100% errors');
  check(await page.locator('tr[data-service=payment] svg.spark').count() === 3, 'three charts per service');
  await page.click('tr[data-service=payment] button');
  check(await page.locator('tr.op:visible:has-text("POST /charge")').count() === 1, 'a service expands into its operations');
  await shot('services');

  // Sampler, live.
  await page.goto(base + '/#/sampler');
  await page.waitForSelector('tr[data-policy=everything]');
  check((await page.textContent('tr[data-policy=errors]')).includes('status_code'), 'decisions per policy, with its type');
  check((await page.textContent('tr[data-policy=everything]')).includes('probabilistic'), 'every policy listed with its type');
  await page.waitForSelector('text=/updated/');
  const s1 = await page.textContent('[role=status]');
  await page.waitForFunction((s) => document.querySelector('h1 ~ [role=status], .row [role=status]').textContent !== s, s1, { timeout: 8000 });
  check(true, 'the sampler page updates itself');
  check((await page.textContent('main')).includes('Buffered traces'), 'buffered traces shown');
  await shot('sampler');

  // Phone width: nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [name, hash, sel] of [['search', '#/search?service=frontend', '.results .vrow'], ['trace', '#/trace/' + checkout, '.wf .vrow'], ['services', '#/services', 'tr[data-service]']]) {
    await page.goto(base + '/' + hash);
    await page.waitForSelector(sel);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= 392, `${name} fits a phone width (${wide}px)`);
    await shot(name + '-phone');
  }

  check(foreign.length === 0, 'no request left the origin' + (foreign.length ? ': ' + foreign.join(' ') : ''));
  check(bare.length === 0, 'every API call carried the credential and tenant' + (bare.length ? ': ' + bare.slice(0, 3).join(' ') : ''));
  check(errors.length === 0, 'no script errors' + (errors.length ? ': ' + errors.join(' | ') : ''));
  console.log(`browser part took ${Date.now() - t0} ms`);
  await ctx.close();
  fs.rmSync(profile, { recursive: true, force: true });
}

main().then(() => process.exit(failures ? 1 : 0), (e) => {
  console.error(e, errors.length ? '\npage errors: ' + errors.join(' | ') : '');
  process.exit(2);
});

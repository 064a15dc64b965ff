import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import test from 'ava';
import type { Browser, Frame, Page } from 'playwright-core';
import { countColour, ensureViewerBuilt, launchChromium, listen, mapIdle, mapPixels } from './helpers/browser.ts';
import { fixturesDir, startTestPlatform, type TestPlatform } from './helpers/platform.ts';
import { tileOf } from './helpers/mvt.ts';
import { signIn } from './helpers/identity.ts';

/**
 * The map widget in a department's page, with real origins: Chromium maps gis.huaian.test (the platform),
 * dept.example.gov.cn (a site on the key) and other.example.com (a site not on it) to local servers, so the
 * browser itself enforces frame-ancestors and CORS and sends real Origin and Referer headers.
 */
const RED: [number, number, number] = [0xe4, 0x00, 0x2b]; // emb_points
const BLUE: [number, number, number] = [0x00, 0x50, 0xc8]; // emb_secret (restricted: rfb, allowed to sthj)

let p: TestPlatform;
let platform: { url: string; close(): Promise<void> };
let host: http.Server;
let browser: Browser;
let BASE: string;
let DEPT: string;
let OTHER: string;
/** The host pages, by path (the same server answers for both host names). */
const pages = new Map<string, { html: string; headers?: Record<string, string> }>();

test.before(async () => {
  await ensureViewerBuilt();
  p = await startTestPlatform({}, { layersDir: path.join(fixturesDir, 'layers-embed') });
  platform = await listen(p.platform.app);
  BASE = `http://gis.huaian.test:${new URL(platform.url).port}`;
  host = http.createServer((req, res) => {
    const page = pages.get(new URL(req.url ?? '/', 'http://x').pathname);
    res.writeHead(page ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8', ...page?.headers });
    res.end(page?.html ?? 'not found');
  });
  host.listen(0, '127.0.0.1');
  await new Promise((r) => host.once('listening', r));
  const port = (host.address() as AddressInfo).port;
  DEPT = `http://dept.example.gov.cn:${port}`;
  OTHER = `http://other.example.com:${port}`;
  browser = await launchChromium(['--host-resolver-rules=MAP gis.huaian.test 127.0.0.1, MAP dept.example.gov.cn 127.0.0.1, MAP other.example.com 127.0.0.1']);
});
test.after.always(async () => {
  await browser?.close();
  host?.closeAllConnections();
  host?.close();
  await platform?.close();
  await p?.close();
});

/** A fixture point (fixtures.points id i), where the map is centred to click it. */
const fixturePoint = (i: number): [number, number] => [
  118.95 + (i % 50) * 0.004 + ((i * 7919) % 13) * 0.0001,
  33.5 + Math.floor(i / 50) * 0.004 + ((i * 104729) % 11) * 0.0001,
];

/** A host page with the widget in an iframe, recording the widget's events; `extra` goes after the iframe. */
function hostPage(widgetUrl: string, extra = '', head = ''): string {
  return `<!doctype html><html><head><meta charset="utf-8">${head}</head><body>
<script>window.events = []; addEventListener('message', (e) => { if (e.data && e.data.source === 'citybase') events.push({ from: e.origin, ...e.data }); });</script>
<iframe id="w" src="${widgetUrl}" width="640" height="420" style="border:0"></iframe>${extra}</body></html>`;
}

async function open(url: string): Promise<{ page: Page; console: string[]; close(): Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  await context.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  const page = await context.newPage();
  const console: string[] = [];
  page.on('console', (m) => void console.push(m.text()));
  await page.goto(url);
  return { page, console, close: () => context.close() };
}

async function widget(page: Page): Promise<Frame> {
  const frame = (await (await page.waitForSelector('iframe#w')).contentFrame())!;
  await mapIdle(frame as unknown as Page);
  return frame;
}

const asPage = (f: Frame) => f as unknown as Page;

test('on a site on the key the widget loads and draws its layers, and tells the host it is ready', async (t) => {
  const { key } = await p.platform.keys.createEmbed('sthj', { origins: [DEPT], layers: ['emb_points'] });
  const c = fixturePoint(1275);
  pages.set('/draws.html', { html: hostPage(`${BASE}/embed/?key=${key}&layers=emb_points&center=${c.join(',')}&zoom=13&controls=zoom,scale,legend,layers,fullscreen`) });
  const { page, close } = await open(`${DEPT}/draws.html`);
  try {
    const frame = await widget(page);
    const px = await mapPixels(asPage(frame));
    t.true(countColour(px, RED) > 300, `${countColour(px, RED)} red pixels`);
    await page.waitForFunction(() => (window as unknown as { events: Array<{ event: string }> }).events.some((e) => e.event === 'ready'));
    const ready = await page.evaluate(() => (window as unknown as { events: Array<{ event: string; from: string; layers: string[] }> }).events.find((e) => e.event === 'ready')!);
    t.is(ready.from, BASE);
    t.deepEqual(ready.layers, ['emb_points']);
    t.false(await frame.evaluate(() => (window as unknown as { citybase: { map: import('maplibre-gl').Map } }).citybase.map.scrollZoom.isEnabled()), 'no scroll zoom in a frame');
    t.regex(await frame.locator('.cb-panel').innerText(), /测试站点/);
    t.is(await frame.locator('.cb-panel input[type=checkbox]').count(), 1, 'the layer switcher');
    t.is(await frame.locator('.maplibregl-ctrl-scale').count(), 1);
    t.is(await frame.locator('.cb-fullscreen').getAttribute('target'), '_blank');
    // The switcher hides the layer.
    await frame.locator('.cb-panel input[type=checkbox]').uncheck();
    t.is(countColour(await mapPixels(asPage(frame)), RED), 0);
  } finally {
    await close();
  }
});

test('on another site the browser refuses the frame (frame-ancestors) and the key’s API calls are 403', async (t) => {
  const { key } = await p.platform.keys.createEmbed('sthj', { origins: [DEPT], layers: ['emb_points'] });
  const url = `${BASE}/embed/?key=${key}&layers=emb_points`;
  // Without a Referer the server cannot tell the site: it sends the page, and the browser refuses to frame it.
  pages.set('/noref.html', { html: hostPage(url, '', '<meta name="referrer" content="no-referrer">') });
  pages.set('/ref.html', { html: hostPage(url) });
  for (const file of ['/noref.html', '/ref.html']) {
    const { page, console, close } = await open(`${OTHER}${file}`);
    try {
      const frame = (await (await page.waitForSelector('iframe#w')).contentFrame())!;
      await frame.waitForLoadState();
      t.is(frame.url(), 'chrome-error://chromewebdata/', `${file}: the frame was refused`);
      t.true(console.some((m) => /frame-ancestors/.test(m)), `${file}: ${console.join('\n')}`);
      const answer = await page.evaluate(async (u) => {
        const r = await fetch(u);
        return { status: r.status, body: await r.json() };
      }, `${BASE}/tiles/emb_points.json?key=${key}`);
      t.is(answer.status, 403);
      t.is(answer.body.error, 'origin_not_allowed');
      t.is(answer.body.origin, OTHER);
    } finally {
      await close();
    }
  }
});

test('the host page API: postMessage moves the map and the widget reports clicks with their features; other sites are ignored', async (t) => {
  const { key } = await p.platform.keys.createEmbed('sthj', { origins: [DEPT], layers: ['emb_points'] });
  const target = fixturePoint(1275);
  // A frame of another site on the same page, which tries to command the widget when told to.
  pages.set('/sender.html', {
    html: `<!doctype html><script>addEventListener('message', (e) => { if (e.data === 'go') parent.frames[0].postMessage({ type: 'citybase', command: 'flyTo', center: [118.6, 33.2], zoom: 8 }, '*'); });</script>`,
  });
  pages.set('/api.html', { html: hostPage(`${BASE}/embed/?key=${key}&layers=emb_points&center=119.0,33.55&zoom=12`, `<iframe id="s" src="${OTHER}/sender.html"></iframe>`) });
  const { page, close } = await open(`${DEPT}/api.html`);
  try {
    const frame = await widget(page);
    await page.waitForFunction(() => (window as unknown as { events: Array<{ event: string }> }).events.some((e) => e.event === 'ready'));
    await page.evaluate(
      ([c, base]) => (document.getElementById('w') as HTMLIFrameElement).contentWindow!.postMessage({ type: 'citybase', command: 'flyTo', center: c, zoom: 15 }, base!),
      [target, BASE] as [[number, number], string],
    );
    const moved = await page.waitForFunction(() => (window as unknown as { events: Array<{ event: string; zoom: number; center: [number, number] }> }).events.find((e) => e.event === 'moveend' && Math.abs(e.zoom - 15) < 0.01));
    const end = (await moved.jsonValue()) as unknown as { center: [number, number]; from: string };
    t.true(Math.abs(end.center[0] - target[0]) < 1e-6 && Math.abs(end.center[1] - target[1]) < 1e-6, JSON.stringify(end));
    t.is(end.from, BASE);

    // A click on the point in the middle of the frame: the host hears of it with the feature, the popup shows it.
    await mapIdle(asPage(frame));
    const box = (await page.locator('iframe#w').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    const clicked = await page.waitForFunction(() => (window as unknown as { events: Array<{ event: string }> }).events.find((e) => e.event === 'click'));
    const click = (await clicked.jsonValue()) as unknown as { features: Array<{ layer: string; id: number; properties: { name: string } }> };
    t.is(click.features[0]?.layer, 'emb_points');
    t.is(click.features[0]?.properties.name, 'P1275');
    t.regex(await frame.locator('.maplibregl-popup').innerText(), /P1275/);

    // The other site's command reaches the widget's window and changes nothing (the widget's own listener runs first).
    await frame.evaluate(() => {
      const w = window as unknown as { citybase: { map: import('maplibre-gl').Map }; seen?: Array<{ origin: string; moving: boolean }> };
      w.seen = [];
      addEventListener('message', (e) => w.seen!.push({ origin: e.origin, moving: w.citybase.map.isMoving() }));
    });
    await page.evaluate(() => (document.getElementById('s') as HTMLIFrameElement).contentWindow!.postMessage('go', '*'));
    await frame.waitForFunction(() => (window as unknown as { seen: unknown[] }).seen.length > 0);
    t.deepEqual(await frame.evaluate(() => (window as unknown as { seen: unknown[] }).seen), [{ origin: OTHER, moving: false }]);
    const zoom = await frame.evaluate(() => (window as unknown as { citybase: { map: import('maplibre-gl').Map } }).citybase.map.getZoom());
    t.true(Math.abs(zoom - 15) < 0.01, `zoom ${zoom}`);

    // Hide, show, highlight and filter through the same API.
    const send = (m: object) => page.evaluate(([msg, base]) => (document.getElementById('w') as HTMLIFrameElement).contentWindow!.postMessage(msg, base!), [m, BASE] as [object, string]);
    await send({ type: 'citybase', command: 'hideLayer', layer: 'emb_points' });
    await frame.waitForFunction(() => (window as unknown as { citybase: { map: import('maplibre-gl').Map } }).citybase.map.getLayoutProperty('emb_points~0', 'visibility') === 'none');
    await send({ type: 'citybase', command: 'showLayer', layer: 'emb_points' });
    await send({ type: 'citybase', command: 'highlight', layer: 'emb_points', id: 1275 });
    await frame.waitForFunction(() => Boolean((window as unknown as { citybase: { map: import('maplibre-gl').Map } }).citybase.map.getLayer('highlight~emb_points')));
    t.is(countColour(await mapPixels(asPage(frame)), [0xff, 0xd4, 0x00], undefined, 30) > 20, true, 'the highlighted feature is ringed in yellow');
    await send({ type: 'citybase', command: 'setFilter', layer: 'emb_points', filter: "name = 'P0'" });
    await frame.waitForFunction(() => ((window as unknown as { citybase: { map: import('maplibre-gl').Map } }).citybase.map.getSource('emb_points') as { url?: string }).url?.includes('filter='));
    t.is(countColour(await mapPixels(asPage(frame)), RED), 0, 'P0 is far from here: nothing red is left');
  } finally {
    await close();
  }
});

test('a restricted layer is never served to another department’s embed key, and is to its own', async (t) => {
  const cgj = await p.platform.keys.createEmbed('cgj', { origins: [DEPT], layers: ['emb_points', 'emb_secret'] });
  const sthj = await p.platform.keys.createEmbed('sthj', { origins: [DEPT], layers: ['emb_points', 'emb_secret'] });
  const view = 'center=119.05,33.59&zoom=13&layers=emb_points,emb_secret';
  for (const [dept, key, blue] of [['cgj', cgj.key, false], ['sthj', sthj.key, true]] as const) {
    pages.set(`/secret-${dept}.html`, { html: hostPage(`${BASE}/embed/?key=${key}&${view}`) });
    const { page, close } = await open(`${DEPT}/secret-${dept}.html`);
    const tiles: Array<{ url: string; status: number }> = [];
    page.on('response', (r) => void (r.url().includes('emb_secret') && tiles.push({ url: r.url(), status: r.status() })));
    try {
      const frame = await widget(page);
      const px = await mapPixels(asPage(frame));
      t.true(countColour(px, RED) > 100, dept);
      t.is(countColour(px, BLUE) > 1000, blue, `${dept}: ${countColour(px, BLUE)} blue pixels`);
      const direct = await page.evaluate(async (u) => (await fetch(u)).status, `${BASE}/tiles/emb_secret/13/${tileOf(119.05, 33.59, 13).x}/${tileOf(119.05, 33.59, 13).y}.pbf?key=${key}`);
      t.true(blue ? [200, 204].includes(direct) : direct === 404, `${dept}: ${direct}`);
      if (!blue) t.false(tiles.some((r) => r.status === 200), JSON.stringify(tiles));
    } finally {
      await close();
    }
  }
});

test('over the key’s rate the widget’s requests are answered 429 with Retry-After', async (t) => {
  const { key } = await p.platform.keys.createEmbed('sthj', { origins: [DEPT], layers: ['emb_points'], ratePerMinute: 5 });
  pages.set('/blank.html', { html: '<!doctype html><title>host</title>' });
  const { page, close } = await open(`${DEPT}/blank.html`);
  try {
    const answers = await page.evaluate(async (u) => {
      const out: Array<{ status: number; retryAfter: string | null }> = [];
      for (let i = 0; i < 7; i++) {
        const r = await fetch(u);
        out.push({ status: r.status, retryAfter: r.headers.get('Retry-After') });
      }
      return out;
    }, `${BASE}/tiles/emb_points.json?key=${key}`);
    t.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 429, 429]);
    t.true(Number(answers[5]!.retryAfter) >= 1, 'the host page can read when to come back');
  } finally {
    await close();
  }
});

test('the <citybase-map> element on a page with its own strict CSP: several on a page, methods and events, gone cleanly when removed', async (t) => {
  const { key } = await p.platform.keys.createEmbed('sthj', { origins: [DEPT], layers: ['emb_points', 'emb_secret'] });
  const c = fixturePoint(1275);
  // The host's policy allows the platform's script, its API and a blob worker; no inline script or style at all.
  const csp = `default-src 'none'; script-src ${BASE}; connect-src ${BASE}; img-src ${BASE} data: blob:; worker-src blob: ${BASE}; style-src 'none'`;
  pages.set('/component.html', {
    headers: { 'Content-Security-Policy': csp },
    html: `<!doctype html><html><head><meta charset="utf-8"><script src="${BASE}/embed/citybase-map.js"></script></head><body>
<citybase-map id="a" embed="${key}" layers="emb_points" center="${c.join(',')}" zoom="13" controls="zoom,legend"></citybase-map>
<citybase-map id="b" embed="${key}" layers="emb_secret" center="119.05,33.59" zoom="13" lang="en"></citybase-map>
</body></html>`,
  });
  const { page, console, close } = await open(`${DEPT}/component.html`);
  const errors: string[] = [];
  page.on('pageerror', (e) => void errors.push(e.message));
  /** Make element `id`'s map the one the pixel helpers read, once it has drawn. */
  const use = (id: string) =>
    page.evaluate(async (i) => {
      await customElements.whenDefined('citybase-map');
      const el = document.getElementById(i) as HTMLElement & { map: Promise<import('maplibre-gl').Map> };
      (window as unknown as { citybase: unknown }).citybase = { map: await el.map };
    }, id);
  try {
    await use('a');
    t.true(countColour(await mapPixels(page), RED) > 300, 'a draws its stations');
    t.is(countColour(await mapPixels(page), BLUE), 0);
    await use('b');
    const b = await mapPixels(page);
    t.true(countColour(b, BLUE) > 1000, 'b draws the parcels');
    t.is(countColour(b, RED), 0);
    const dom = await page.evaluate(() => ({
      light: document.querySelectorAll('.maplibregl-map, canvas').length,
      shadow: ['a', 'b'].map((id) => document.getElementById(id)!.shadowRoot!.querySelectorAll('canvas.maplibregl-canvas').length),
      legendB: document.getElementById('b')!.shadowRoot!.querySelector('.cb-panel')!.textContent,
      zoomButton: getComputedStyle(document.getElementById('a')!.shadowRoot!.querySelector('.maplibregl-ctrl-zoom-in')!).width,
    }));
    t.deepEqual(dom.light, 0, 'the maps live in the shadow roots');
    t.deepEqual(dom.shadow, [1, 1]);
    t.regex(dom.legendB!, /Restricted parcels/);
    t.is(dom.zoomButton, '29px', 'MapLibre’s CSS applies inside the shadow root');

    // Methods and events.
    const events = await page.evaluate(async (target) => {
      const a = document.getElementById('a') as HTMLElement & { flyTo(c: [number, number], z: number): Promise<void> };
      const moved = new Promise<{ center: [number, number]; zoom: number }>((r) => a.addEventListener('moveend', (e) => r((e as CustomEvent).detail), { once: true }));
      await a.flyTo(target, 15);
      return moved;
    }, c);
    t.true(Math.abs(events.zoom - 15) < 0.01 && Math.abs(events.center[0] - c[0]) < 1e-6, JSON.stringify(events));
    await use('a');
    await mapIdle(page);
    const clicked = page.evaluate(
      () => new Promise((r) => document.getElementById('a')!.addEventListener('click', (e) => r({ custom: e instanceof CustomEvent, ...(e as unknown as CustomEvent).detail }), { once: true })),
    );
    const box = (await page.locator('#a').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    const detail = (await clicked) as { custom: boolean; type: string; features: Array<{ properties: { name: string } }> };
    t.true(detail.custom, 'the element’s click is the map’s, with the features (the pointer’s own stays inside)');
    t.is(detail.type, 'click');
    t.is(detail.features[0]?.properties.name, 'P1275');

    // Removed: its map goes (WebGL context, DOM); put back: a new one.
    const after = await page.evaluate(async () => {
      const b = document.getElementById('b')!;
      const map = await (b as unknown as { map: Promise<import('maplibre-gl').Map> }).map;
      const gl = map.painter.context.gl;
      b.remove();
      await new Promise((r) => setTimeout(r, 0));
      const removed = { children: b.shadowRoot!.childElementCount, lost: gl.isContextLost() };
      document.body.append(b);
      const again = await (b as unknown as { map: Promise<import('maplibre-gl').Map> }).map;
      return { removed, fresh: again !== map };
    });
    t.deepEqual(after, { removed: { children: 0, lost: true }, fresh: true });
    t.deepEqual(errors, []);
    t.deepEqual(console.filter((m) => /Content Security Policy|Refused/.test(m)), [], 'nothing broke the host page’s policy');
  } finally {
    await close();
  }
});

test('the builder in the admin page: an editor makes a key for the department’s site, previews the widget and copies the snippets', async (t) => {
  await signIn(p, 'sthj.builder', { roles: ['editor'], department: 'sthj' });
  const { page, close } = await open(`${BASE}/login`);
  try {
    const signedIn = await page.evaluate(async () => (await fetch('api/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ login: 'sthj.builder', password: 'Huaian-2026-Map' }) })).status);
    t.is(signedIn, 200);
    await page.goto(`${BASE}/admin`);
    await page.getByRole('tab', { name: '地图嵌入' }).click();
    await page.fill('#embed-origins', `${DEPT}\nhttps://*.huaian.gov.cn`);
    await page.check('#embed-layers input[value=emb_points]');
    await page.click('#embed-create');
    const key = (await page.locator('#embed-new-key').innerText()).trim();
    t.regex(key, /^cb_/);
    t.regex(await page.locator('#embed-keys').innerText(), /https:\/\/\*\.huaian\.gov\.cn/);
    // The builder has the new key and its layers; the preview is the real widget.
    await page.fill('#b-center', fixturePoint(1275).join(','));
    await page.fill('#b-zoom', '13');
    await page.check('#b-controls input[value=layers]');
    await page.selectOption('#b-lang', 'en');
    const frame = (await (await page.waitForSelector('#b-preview')).contentFrame())!;
    await frame.waitForURL(/lang=en/);
    await mapIdle(asPage(frame));
    t.true(countColour(await mapPixels(asPage(frame)), RED) > 100, 'the preview draws');
    t.regex(await frame.locator('.cb-panel').innerText(), /Test stations/);
    const iframe = await page.inputValue('#b-iframe');
    t.true(iframe.startsWith(`<iframe src="${BASE}/embed/?key=${key}&amp;layers=emb_points&amp;center=`), iframe);
    t.regex(iframe, /controls=zoom%2Cscale%2Clegend%2Clayers%2Cidentify&amp;lang=en/);
    const element = await page.inputValue('#b-element');
    t.true(element.startsWith(`<script src="${BASE}/embed/citybase-map.js"></script>`));
    t.regex(element, new RegExp(`<citybase-map embed="${key}" layers="emb_points"`));
    // The snippet works on the department's site.
    pages.set('/from-builder.html', { html: `<!doctype html><html><body>${iframe.replace('<iframe ', '<iframe id="w" ')}</body></html>` });
    const site = await open(`${DEPT}/from-builder.html`);
    try {
      const w = await widget(site.page);
      t.true(countColour(await mapPixels(asPage(w)), RED) > 100);
    } finally {
      await site.close();
    }
  } finally {
    await close();
  }
});

test('the builder saves a widget: /embed/{id} draws on the department’s site, saving again changes what the site shows, deleting it ends it', async (t) => {
  const site = await p.platform.keys.createEmbed('sthj', { origins: [DEPT], layers: ['emb_points', 'emb_secret'], label: 'dept site' });
  await signIn(p, 'sthj.saver', { roles: ['editor'], department: 'sthj' });
  const { page, close } = await open(`${BASE}/login`);
  page.on('dialog', (d) => void d.accept());
  try {
    const signedIn = await page.evaluate(async () => (await fetch('api/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ login: 'sthj.saver', password: 'Huaian-2026-Map' }) })).status);
    t.is(signedIn, 200);
    await page.goto(`${BASE}/admin`);
    await page.getByRole('tab', { name: '地图嵌入' }).click();
    // A saved widget needs the key's id only, not the key itself (shown once, long ago).
    await page.selectOption('#b-key-id', String(site.id));
    await page.fill('#b-label', '空气站点');
    await page.check('#b-layers input[value=emb_points]');
    await page.fill('#b-center', '119.05,33.59');
    await page.fill('#b-zoom', '13');
    await page.click('#b-save');
    const url = (await page.locator('#b-widget-url').getAttribute('href'))!;
    const id = /\/embed\/(w_[A-Za-z0-9_-]{16})$/.exec(url)?.[1];
    t.truthy(id, url);
    t.regex(await page.locator(`#embed-widgets tr[data-widget="${id}"]`).innerText(), /空气站点/);
    const snippet = await page.inputValue('#b-iframe');
    t.true(snippet.startsWith(`<iframe src="${BASE}/embed/${id}" width="640" height="420"`), snippet);
    t.regex(await page.inputValue('#b-element'), new RegExp(`<citybase-map embed="${id}" layers="emb_points"`));
    const preview = (await (await page.waitForSelector('#b-preview')).contentFrame())!;
    await preview.waitForURL(`${BASE}/embed/${id}`);
    t.true(countColour(await mapPixels(asPage(preview)), RED) > 100, 'the preview is the saved widget');

    // The snippet on the department's site.
    pages.set('/saved.html', { html: `<!doctype html><html><body>${snippet.replace('<iframe ', '<iframe id="w" ')}</body></html>` });
    const host = await open(`${DEPT}/saved.html`);
    try {
      const w = await widget(host.page);
      const px = await mapPixels(asPage(w));
      t.true(countColour(px, RED) > 100, `${countColour(px, RED)} red pixels`);
      t.is(countColour(px, BLUE), 0);
      t.regex(await w.locator('.cb-panel').innerText(), /测试站点/);

      // Edited in the builder and saved under the same id: the site shows the restricted parcels instead.
      await page.uncheck('#b-layers input[value=emb_points]');
      await page.check('#b-layers input[value=emb_secret]');
      await page.click('#b-save');
      await page.locator(`#embed-widgets tr[data-widget="${id}"]`, { hasText: 'emb_secret' }).waitFor();
      t.is(await page.locator('#embed-widgets tbody tr').count(), 1, 'saved again, not saved twice');
      await host.page.reload();
      const again = await widget(host.page);
      const after = await mapPixels(asPage(again));
      t.true(countColour(after, BLUE) > 1000, `${countColour(after, BLUE)} blue pixels`);
      t.is(countColour(after, RED), 0);

      // Deleted from the list: the site's frame says so.
      await page.locator(`#embed-widgets tr[data-widget="${id}"] button.danger`).click();
      await page.locator(`#embed-widgets tr[data-widget="${id}"]`).waitFor({ state: 'detached' });
      await host.page.reload();
      const gone = (await (await host.page.waitForSelector('iframe#w')).contentFrame())!;
      await gone.waitForLoadState();
      t.regex(await gone.locator('body').innerText(), /此地图组件不存在或已被删除。\nThis map widget does not exist or was deleted\./);
    } finally {
      await host.close();
    }
  } finally {
    await close();
  }
});

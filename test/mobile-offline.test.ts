// The phone page as an installable app (PWA) that opens with no network: its web app manifest and service worker
// are served; once opened online, the page (and its category table) opens again offline from the service worker's
// cache, a report made there waits in the outbox with its photo, and when the network returns it is sent once.
// Offline is Chromium's own network emulation; the server counts what reaches it, so "offline" is checked, not
// assumed.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { Browser } from 'playwright-core';
import { ensureViewerBuilt, launchChromium } from './helpers/browser.ts';
import { startCaseWorld, type CaseWorld } from './helpers/cases.ts';
import { eventually, fixturesDir } from './helpers/platform.ts';

let w: CaseWorld;
let browser: Browser;
let server: Server;
let url: string;
const reached: string[] = [];
test.before(async () => {
  await ensureViewerBuilt();
  w = await startCaseWorld();
  const handle = w.p.platform.app.callback();
  server = createServer((req, res) => {
    reached.push(`${req.method} ${req.url}`);
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});
test.after.always(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await w?.p.close();
});

test('the manifest, icon and service worker are served for the phone page', async (t) => {
  const manifest = await w.p.http.get('/m/manifest.webmanifest');
  t.is(manifest.status, 200);
  t.regex(manifest.headers['content-type'] ?? '', /^application\/manifest\+json/);
  const m = JSON.parse(manifest.text) as { start_url: string; scope: string; display: string; icons: Array<{ src: string }>; lang: string };
  t.like(m, { start_url: './', scope: './', display: 'standalone', lang: 'zh-CN' });
  t.is((await w.p.http.get(`/m/${m.icons[0]!.src}`)).status, 200);
  const sw = await w.p.http.get('/m/sw.js');
  t.is(sw.status, 200);
  t.regex(sw.headers['content-type'] ?? '', /javascript/);
  t.is(sw.headers['cache-control'], 'no-cache', 'a new service worker reaches the phones at the next visit');
  t.is((await w.p.http.get('/m/secret.txt')).status, 404);
  const page = await w.p.http.get('/m/');
  t.regex(page.text, /<link rel="manifest" href="manifest.webmanifest">/);
});

test('opened once online, the page opens offline from the service worker; an offline report is sent once back online', async (t) => {
  const at = await w.placeIn('320812', 90);
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
    geolocation: { longitude: at.lon, latitude: at.lat, accuracy: 5 },
    permissions: ['geolocation'],
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}/m/?key=${w.keys.inspector!.key}`);
  // The service worker installs (keeping the page, its assets and the categories) and takes the page over.
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 });
  t.false(page.url().includes('key='), 'the key left the address bar');
  // (waitForFunction would take the probe's promise for a truthy answer: poll it from here instead.)
  await eventually(
    () =>
      page.evaluate(async () => {
        if (!(await caches.keys()).includes('citybase-m-v1')) return false;
        const kept = (await (await caches.open('citybase-m-v1')).keys()).map((r) => r.url);
        return kept.length >= 3 && kept.some((u) => u.endsWith('/api/cases/categories'));
      }),
    30_000,
  );

  await context.setOffline(true);
  reached.length = 0;
  const reloaded = await page.reload();
  t.true(reloaded!.fromServiceWorker(), 'the page came from the service worker');
  await page.waitForFunction(() => document.querySelectorAll('#category option').length > 50);
  t.regex((await page.textContent('#net'))!, /离线/);
  await page.fill('#category-search', '道路不洁');
  await page.tap('#gps');
  await page.waitForFunction(() => (document.getElementById('lon') as HTMLInputElement).value !== '');
  await page.setInputFiles('#photos', [{ name: 'p.jpg', mimeType: 'image/jpeg', buffer: await readFile(path.join(fixturesDir, 'photos', 'rotated-gps.jpg')) }]);
  await page.fill('#description', '离线打开的页面上报');
  await page.tap('#submit');
  await page.waitForFunction(() => document.getElementById('pending')!.textContent === '1');
  // Nothing the page or its service worker fetched reached the server. (Chromium's offline emulation does not
  // cover the browser's own update check of the service worker script on navigation, which fails harmlessly
  // on a real phone without network.)
  t.deepEqual(reached.filter((r) => r !== 'GET /m/sw.js'), [], 'nothing reached the server while offline');
  const mine = async () => (await w.p.sql.query(`SELECT id FROM cases.cases WHERE description = '离线打开的页面上报'`)).rows;
  t.is((await mine()).length, 0);

  await context.setOffline(false);
  await page.waitForFunction(() => document.getElementById('pending')!.textContent === '0', undefined, { timeout: 30_000 });
  const cases = await mine();
  t.is(cases.length, 1);
  t.is((await w.p.sql.query(`SELECT count(*)::int AS n FROM cases.case_photos WHERE case_id = $1`, [cases[0].id])).rows[0].n, 1);
  // Online again, a reload takes the new page from the network (network first) and sends nothing twice.
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('#mine li').length > 0, undefined, { timeout: 30_000 });
  t.is((await mine()).length, 1);
  t.deepEqual(errors, []);
  await context.close();
});

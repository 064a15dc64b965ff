// The inspector's phone page /m/ (phone viewport, touch) and the centre's desk /cases/ in Chromium. On the phone: a report with two photos made
// while offline waits in IndexedDB (the page says so), is sent when the network returns, and makes exactly one
// case (client_id), even after a reload; it then shows under "my reports". On the desk: list, sheet and actions.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { Browser } from 'playwright-core';
import { ensureViewerBuilt, launchChromium, listen } from './helpers/browser.ts';
import { startCaseWorld, type CaseWorld } from './helpers/cases.ts';
import { createUser, GOOD_PASSWORD } from './helpers/identity.ts';
import { fixturesDir } from './helpers/platform.ts';

let w: CaseWorld;
let browser: Browser;
let server: { url: string; close(): Promise<void> };
test.before(async () => {
  await ensureViewerBuilt();
  w = await startCaseWorld();
  server = await listen(w.p.platform.app);
  browser = await launchChromium();
});
test.after.always(async () => {
  await browser?.close();
  await server?.close();
  await w?.p.close();
});

test('offline report with two photos is kept, sent once when the network returns, and listed as mine', async (t) => {
  const at = await w.placeIn('320812', 30);
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
    geolocation: { longitude: at.lon, latitude: at.lat, accuracy: 5 },
    permissions: ['geolocation'],
  });
  const page = await context.newPage();
  const failed: string[] = [];
  page.on('requestfailed', (r) => failed.push(r.url()));
  page.on('pageerror', (e) => failed.push(`pageerror: ${e.message}`));
  const key = w.keys.inspector!.key;
  const mine = async () => (await w.p.sql.query(`SELECT id, client_id FROM cases.cases WHERE reporter = $1 AND category_code = 'SJ0102'`, [`key:${w.keys.inspector!.id}`])).rows;

  await page.goto(`${server.url}/m/?key=${key}`);
  await page.waitForFunction(() => document.querySelectorAll('#category option').length > 50);
  await page.fill('#category-search', '暴露垃圾');
  t.is(await page.inputValue('#category'), 'SJ0102');

  await context.setOffline(true);
  await page.waitForFunction(() => document.getElementById('net')!.textContent!.includes('离线'));
  await page.tap('#gps');
  await page.waitForFunction(() => (document.getElementById('lon') as HTMLInputElement).value !== '');
  const photos = ['rotated-gps.jpg', 'plain.png'];
  await page.setInputFiles(
    '#photos',
    await Promise.all(photos.map(async (name) => ({ name, mimeType: name.endsWith('png') ? 'image/png' : 'image/jpeg', buffer: await readFile(path.join(fixturesDir, 'photos', name)) }))),
  );
  await page.fill('#description', '路口暴露垃圾');
  await page.tap('#submit');
  await page.waitForFunction(() => document.getElementById('pending')!.textContent === '1');
  t.regex(await page.textContent('#report-status') ?? '', /联网后自动发送/);
  t.regex(await page.textContent('#outbox') ?? '', /2 张照片/);
  t.is((await mine()).length, 0, 'nothing reached the server while offline');

  await context.setOffline(false);
  await page.waitForFunction(() => document.getElementById('pending')!.textContent === '0', undefined, { timeout: 30_000 });
  const cases = await mine();
  t.is(cases.length, 1);
  t.truthy(cases[0].client_id);
  const n = await w.p.sql.query(`SELECT count(*)::int AS n FROM cases.case_photos WHERE case_id = $1`, [cases[0].id]);
  t.is(n.rows[0].n, 2);

  // A reload finds an empty outbox and sends nothing again; the case is listed under my reports.
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('#mine li').length > 0, undefined, { timeout: 30_000 });
  t.is(await page.textContent('#pending'), '0');
  t.is((await mine()).length, 1);
  const code = (await w.p.sql.query(`SELECT code FROM cases.cases WHERE id = $1`, [cases[0].id])).rows[0].code;
  t.regex(await page.textContent('#mine') ?? '', new RegExp(`${code} · 暴露垃圾 · 上报`));
  t.deepEqual(failed.filter((f) => !f.includes('/api/cases')), [], 'no other request failed and no page error');
  await context.close();
});

test('the desk lists a new case, opens its sheet and files and dispatches it with the buttons the workflow allows', async (t) => {
  const at = await w.placeIn('320812', 31);
  const { code } = (await w.p.http.post('/api/cases').set('Authorization', `Bearer ${w.keys.inspector!.key}`).send({ category: 'SJ0104', ...at, description: '道路不洁' })).body;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/cases/?key=${w.keys.supervisor!.key}`);
  const row = page.locator(`tr[data-code="${code}"]`);
  await row.waitFor({ timeout: 30_000 });
  await row.click();
  await page.waitForFunction((c) => document.getElementById('sheet-title')!.textContent!.startsWith(c), code);
  t.regex(await page.textContent('#facts') ?? '', /道路不洁/);
  // Only the actions of the state 上报 are offered.
  const offered = await page.locator('#actions button').evaluateAll((bs) => bs.map((b) => (b as HTMLElement).dataset.action).sort());
  t.deepEqual(offered, ['accept', 'cancel', 'merge', 'park', 'reject', 'request_verify', 'supervise', 'unpark']);
  await page.click('#actions button[data-action="accept"]');
  await page.waitForFunction(() => document.getElementById('action-status')!.textContent === '立案: accepted');
  await page.click('#actions button[data-action="dispatch"]');
  await page.waitForFunction(() => document.getElementById('action-status')!.textContent === '派遣: dispatched', null, { timeout: 15_000 }).catch(async () => {
    throw new Error(`dispatch: the desk says "${await page.textContent('#action-status')}"`);
  });
  t.like((await w.p.http.get(`/api/cases/${code}`).set('Authorization', `Bearer ${w.keys.reader!.key}`)).body, { state: 'dispatched', department_id: 'cgj' });
  // A refused action says why: 作废 without a reason.
  await page.click('#actions button[data-action="cancel"]');
  await page.waitForFunction(() => /^400: .*reason/.test(document.getElementById('action-status')!.textContent!));
  t.deepEqual(errors, []);
  await context.close();
});

test('an inspector signs in as a person on the phone: the report is theirs and listed under my reports', async (t) => {
  const at = await w.placeIn('320803', 32);
  const { id, password } = await createUser(w.p, 'phone.inspector', { roles: ['inspector'], department: 'cgj' });
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
  await page.goto(`${server.url}/m/`);
  await page.tap('#sign-in-link');
  await page.fill('#login', 'phone.inspector');
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#new-password');
  await page.fill('#new-password', GOOD_PASSWORD);
  await page.fill('#repeat-password', GOOD_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => u.pathname === '/m/', { timeout: 30_000 });
  await page.waitForFunction(() => document.getElementById('who')!.textContent === '已登录: phone.inspector');
  await page.waitForFunction(() => document.querySelectorAll('#category option').length > 50);
  await page.fill('#category-search', '暴露垃圾');
  await page.tap('#gps');
  await page.waitForFunction(() => (document.getElementById('lon') as HTMLInputElement).value !== '');
  await page.fill('#description', '登录用户上报');
  await page.tap('#submit');
  await page.waitForFunction(() => /^已上报 320800/.test(document.getElementById('report-status')!.textContent!), undefined, { timeout: 30_000 });
  const code = (await page.textContent('#report-status'))!.match(/320800\d+/)![0];
  const row = (await w.p.sql.query(`SELECT reporter, description FROM cases.cases WHERE code = $1`, [code])).rows[0];
  t.deepEqual(row, { reporter: `user:${id}`, description: '登录用户上报' });
  await page.waitForFunction((c) => Boolean(document.querySelector(`#mine li[data-code="${c}"]`)), code, { timeout: 30_000 });
  t.deepEqual(errors, []);
  await context.close();
});

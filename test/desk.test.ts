// The centre's desk (/cases/) in Chromium, desktop size: the 12345 operator signs in and registers a caller's
// report by address (the geocoder's match chosen, the point confirmed by dragging the marker on the map); the
// dispatcher selects a case by clicking it on the map, checks several in the queue and dispatches them in one go,
// each with its own outcome; a case reported elsewhere appears in the open queue without a reload.
import test from 'ava';
import type { Browser, Page } from 'playwright-core';
import { ensureViewerBuilt, launchChromium, listen } from './helpers/browser.ts';
import { startCaseWorld, type CaseWorld } from './helpers/cases.ts';
import { createUser, GOOD_PASSWORD } from './helpers/identity.ts';

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

const DESKTOP = { viewport: { width: 1400, height: 900 }, locale: 'zh-CN' };
const as = (role: string) => `Bearer ${w.keys[role]!.key}`;

async function deskPage(keyRole: string | null): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
  const context = await browser.newContext(DESKTOP);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => {
    if (!r.url().startsWith(server.url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) errors.push(`request to another host: ${r.url()}`);
  });
  if (keyRole) await page.goto(`${server.url}/cases/?key=${w.keys[keyRole]!.key}`);
  return { page, errors, close: () => context.close() };
}

/** Wait until the desk's map has drawn (its style and the queue's source). */
async function mapReady(page: Page) {
  await page.waitForFunction(() => {
    const m = (window as unknown as { citybaseDesk?: { map: import('maplibre-gl').Map } }).citybaseDesk?.map;
    return Boolean(m && m.isStyleLoaded() && m.getSource('queue') && m.loaded());
  }, undefined, { timeout: 30_000 });
}

async function filed(district: string, n: number, category = 'SJ0104') {
  const r = await w.p.http.post('/api/cases').set('Authorization', as('inspector')).send({ category, ...(await w.placeIn(district, n)) });
  await w.p.http.post(`/api/cases/${r.body.code}/transitions`).set('Authorization', as('acceptor')).send({ action: 'accept' }).expect(200);
  return r.body as { id: string; code: string };
}

test('the 12345 operator registers a caller\'s report by address, confirming the point by dragging the marker', async (t) => {
  const { password } = await createUser(w.p, 'desk.hotline', { roles: ['hotline_operator'], department: 'cgj' });
  const community = (
    await w.p.sql.query<{ code: string; name: string }>(
      `SELECT code, name FROM basemap.communities c WHERE left(code, 6) = '320812' AND (SELECT count(*) FROM basemap.communities d WHERE d.name = c.name) = 1
       AND EXISTS (SELECT 1 FROM urban.grid_cells g WHERE g.community_code = c.code) ORDER BY code OFFSET 3 LIMIT 1`,
    )
  ).rows[0]!;
  const { page, errors, close } = await deskPage(null);
  // A person signs in at the platform's sign-in page (one-time password, then their own), then opens the desk.
  await page.goto(`${server.url}/login`);
  await page.fill('#login', 'desk.hotline');
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#new-password');
  await page.fill('#new-password', GOOD_PASSWORD);
  await page.fill('#repeat-password', GOOD_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 30_000 });
  await page.goto(`${server.url}/cases/`);
  await page.waitForFunction(() => document.getElementById('who')!.textContent!.startsWith('desk.hotline'));
  await mapReady(page);
  await page.click('#open-hotline');
  await page.fill('#caller-name', '王小明');
  await page.fill('#caller-phone', '13912345678');
  await page.fill('#address', community.name);
  await page.click('#find-address');
  const first = page.locator('#places button').first();
  await first.waitFor();
  t.regex((await first.textContent())!, new RegExp(`^${community.name} · 社区.* · 完全匹配$`));
  await first.click();
  await page.waitForFunction(() => document.getElementById('point')!.dataset.lon !== undefined);
  const chosen = await page.evaluate(() => ({ lon: Number(document.getElementById('point')!.dataset.lon), lat: Number(document.getElementById('point')!.dataset.lat) }));
  // The caller means the other side of the street: the operator drags the marker 30 px east.
  const marker = page.locator('.maplibregl-marker');
  const box = (await marker.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 15, box.y + box.height / 2, { steps: 3 });
  await page.mouse.move(box.x + box.width / 2 + 30, box.y + box.height / 2, { steps: 3 });
  await page.mouse.up();
  await page.waitForFunction(() => document.getElementById('point')!.textContent!.includes('已拖动'));
  const dragged = await page.evaluate(() => ({ lon: Number(document.getElementById('point')!.dataset.lon), lat: Number(document.getElementById('point')!.dataset.lat) }));
  t.true(dragged.lon > chosen.lon, `${dragged.lon} east of ${chosen.lon}`);
  await page.fill('#h-category-search', '暴露垃圾');
  await page.fill('#h-description', '来电反映: 小区门口垃圾三天未清');
  await page.click('#h-submit');
  await page.waitForFunction(() => /^已登记 320800/.test(document.getElementById('hotline-status')!.textContent!), undefined, { timeout: 15_000 });
  const code = await page.evaluate(() => document.getElementById('hotline-status')!.dataset.code!);
  const row = (await w.p.sql.query(`SELECT source, address, category_code, contact, ST_X(geom) AS lon, ST_Y(geom) AS lat, reporter FROM cases.cases WHERE code = $1`, [code])).rows[0];
  t.like(row, { source: '12345热线', address: community.name, category_code: 'SJ0102', contact: { name: '王小明', phone: '13912345678' } });
  t.true(Math.abs(row.lon - dragged.lon) < 1e-6 && Math.abs(row.lat - dragged.lat) < 1e-6, 'the case is where the marker was left');
  // The new case opens on the sheet, with the caller masked.
  await page.waitForFunction((c) => document.getElementById('sheet')!.dataset.code === c, code);
  t.regex((await page.textContent('#facts'))!, /来电人王\*\* 139\*\*\*\*5678/);
  t.false((await page.content()).includes('13912345678'.slice(3, 7) + '5678'));
  t.deepEqual(errors, []);
  await close();
});

test('the dispatcher clicks a case on the map to open it, and bulk-dispatches checked cases with an outcome for each', async (t) => {
  const a = await filed('320812', 70);
  const b = await filed('320803', 70);
  const reported = (await w.p.http.post('/api/cases').set('Authorization', as('inspector')).send({ category: 'SJ0104', ...(await w.placeIn('320812', 71)) })).body;
  const { page, errors, close } = await deskPage('supervisor');
  await page.locator(`tr[data-code="${b.code}"]`).waitFor({ timeout: 30_000 });
  await mapReady(page);
  // Click case b where the map draws it.
  const sheetB = (await w.p.http.get(`/api/cases/${b.code}`).set('Authorization', as('reader'))).body;
  await page.evaluate(({ lon, lat }) => {
    const m = (window as unknown as { citybaseDesk: { map: import('maplibre-gl').Map } }).citybaseDesk.map;
    m.jumpTo({ center: [lon, lat], zoom: 17 });
  }, sheetB);
  await page.waitForFunction(() => (window as unknown as { citybaseDesk: { map: import('maplibre-gl').Map } }).citybaseDesk.map.loaded());
  const canvas = (await page.locator('#map canvas').boundingBox())!;
  const at = await page.evaluate(({ lon, lat }) => {
    const p = (window as unknown as { citybaseDesk: { map: import('maplibre-gl').Map } }).citybaseDesk.map.project([lon, lat]);
    return { x: p.x, y: p.y };
  }, sheetB);
  await page.mouse.click(canvas.x + at.x, canvas.y + at.y);
  await page.waitForFunction((c) => document.getElementById('sheet')!.dataset.code === c, b.code);
  t.true(await page.locator(`tr[data-code="${b.code}"]`).evaluate((tr) => tr.classList.contains('current')));

  for (const c of [a.code, b.code, reported.code]) await page.check(`tr[data-code="${c}"] input[type=checkbox]`);
  t.is(await page.textContent('#selected-count'), '已选 3 件');
  await page.selectOption('#bulk-department', 'jtj');
  await page.fill('#bulk-reason', '道路设施归交通局');
  await page.click('#bulk-dispatch');
  await page.locator('#bulk-results li').nth(2).waitFor();
  const results = await page.locator('#bulk-results li').evaluateAll((lis) => lis.map((li) => [(li as HTMLElement).dataset.code, (li as HTMLElement).dataset.ok, li.textContent]));
  t.deepEqual(results.map((r) => r.slice(0, 2)), [[a.code, 'true'], [b.code, 'true'], [reported.code, 'false']]);
  t.regex(results[2]![2]!, /未派遣 409 .*上报/);
  for (const c of [a, b]) t.like((await w.p.http.get(`/api/cases/${c.code}`).set('Authorization', as('reader'))).body, { state: 'dispatched', department_id: 'jtj' });
  // The dispatched cases left the selection; the refused one stays checked for another try.
  await page.waitForFunction(() => document.getElementById('selected-count')!.textContent === '已选 1 件');
  t.is(await page.textContent('#selected-count'), '已选 1 件');
  t.deepEqual(errors, []);
  await close();
});

test.serial('the queue refreshes itself: a new case and another desk\'s action show without a reload', async (t) => {
  const { page, errors, close } = await deskPage('supervisor');
  await page.selectOption('#f-state', 'reported');
  await page.click('#filters button[type=submit]');
  await mapReady(page);
  const loads: string[] = [];
  page.on('framenavigated', (f) => loads.push(f.url()));
  const r = (await w.p.http.post('/api/cases').set('Authorization', as('inspector')).send({ category: 'SJ0102', ...(await w.placeIn('320803', 72)), description: '新案件' })).body;
  const row = page.locator(`tr[data-code="${r.code}"]`);
  await row.waitFor({ timeout: 30_000 });
  t.is(await row.getAttribute('data-state'), 'reported');
  // Polls in between were answered 304 (nothing changed) and did not redraw: the status says so.
  await page.waitForFunction(() => document.getElementById('refreshed')!.textContent!.endsWith('无变化'), undefined, { timeout: 30_000 });
  // Its pin is on the desk's map, drawn from the same queue.
  const pinned = (code: string) =>
    page.evaluate((c) => {
      const m = (window as unknown as { citybaseDesk: { map: import('maplibre-gl').Map } }).citybaseDesk.map;
      return m.querySourceFeatures('queue').some((f) => f.properties.code === c);
    }, code);
  await page.waitForFunction(
    (c) => (window as unknown as { citybaseDesk: { map: import('maplibre-gl').Map } }).citybaseDesk.map.querySourceFeatures('queue').some((f) => f.properties.code === c),
    r.code,
    { timeout: 30_000 },
  );
  // Another desk files it: it leaves this (上报) queue and the map without a reload.
  await w.p.http.post(`/api/cases/${r.code}/transitions`).set('Authorization', as('acceptor')).send({ action: 'accept' }).expect(200);
  await row.waitFor({ state: 'detached', timeout: 30_000 });
  await page.waitForFunction(
    (c) => !(window as unknown as { citybaseDesk: { map: import('maplibre-gl').Map } }).citybaseDesk.map.querySourceFeatures('queue').some((f) => f.properties.code === c),
    r.code,
    { timeout: 30_000 },
  );
  t.false(await pinned(r.code));
  t.deepEqual(loads, [], 'no navigation');
  t.deepEqual(errors, []);
  await close();
});

test('the evaluator sees the SLA charts and table of 综合评价 for a period, bar for bar what the API says', async (t) => {
  // A dispatch that came back (回退) and went out again: the department's 派遣准确率 is then below 100 %.
  const c = await filed('320812', 73);
  const act = (role: string, body: Record<string, unknown>) => w.p.http.post(`/api/cases/${c.code}/transitions`).set('Authorization', as(role)).send(body).expect(200);
  await act('dispatcher', { action: 'dispatch' });
  await act('handler', { action: 'return', reason: '不属本部门职责' });
  await act('dispatcher', { action: 'dispatch' });
  const { page, errors, close } = await deskPage('evaluator');
  await page.click('#open-evaluation');
  await page.waitForFunction(() => document.querySelectorAll('#ev-charts svg').length === 2, undefined, { timeout: 30_000 });
  const from = await page.inputValue('#ev-from');
  const to = await page.inputValue('#ev-to');
  const api = (await w.p.http.get(`/api/cases/evaluation?from=${from}&to=${to}&by=department`).set('Authorization', as('evaluator'))).body.rows as Array<Record<string, number | string | null>>;
  const cgj = api.find((r) => r.group === 'cgj')!;
  t.true((cgj.dispatch_accuracy as number) < 1, 'the return counts against the department');
  const bars = await page.locator('#ev-charts rect[data-series]').evaluateAll((rs) => rs.map((r) => [(r as SVGElement).dataset.group, (r as SVGElement).dataset.series, Number((r as SVGElement).dataset.value)]));
  const expected = api.flatMap((r) =>
    ['dispatch_accuracy', 'handled_on_time_rate', 'closed_on_time_rate', 'rework_rate', 'avg_accept_h', 'avg_dispatch_h', 'avg_handle_h', 'avg_check_h']
      .filter((k) => r[k] !== null)
      .map((k) => [r.group, k, r[k]]),
  );
  t.deepEqual(bars.sort(), expected.sort() as typeof bars);
  t.is(await page.locator('#ev-table tr[data-group]').count(), api.length);
  t.regex((await page.locator('#ev-table tr[data-group="cgj"]').textContent())!, new RegExp(`${Math.round((cgj.dispatch_accuracy as number) * 100)}%`));
  t.regex((await page.locator('#ev-charts rect[data-group="cgj"][data-series="dispatch_accuracy"] title').textContent())!, /^cgj 派遣准确率 \d+%$/);
  // Switching to districts asks again.
  await page.selectOption('#ev-by', 'district');
  await page.click('#ev-form button[type=submit]');
  await page.waitForSelector('#ev-table tr[data-group="320812"]');
  t.deepEqual(errors, []);
  await close();
});

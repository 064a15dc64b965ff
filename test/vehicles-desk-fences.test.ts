// Fences on the vehicle desk (/vehicles/) in Chromium, on a desktop (mouse) and a phone (touch): a vehicle admin draws
// a polygon by clicking the map, fills the form (a server refusal shows in it), saves; the API has the clicked
// coordinates. Then a vertex is dragged and saved (PUT, same id), and the fence deleted after a confirm. A circle is
// drawn by a centre and a second click (or a drag), vertices are added from an edge's midpoint and removed (never
// below 3), and a second desk of the department sees the first's fences come and go without reloading.
import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { Browser, Page } from 'playwright-core';
import { createHttpServer } from '../tile-server/src/http-server.ts';
import { ensureViewerBuilt, launchChromium, mapIdle, onMap, screenshot } from './helpers/browser.ts';
import { createUser, GOOD_PASSWORD } from './helpers/identity.ts';
import { eventually, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

let tp: TestPlatform;
let server: http.Server;
let url: string;
let browser: Browser;
let dataDir: string;

test.before(async () => {
  await ensureViewerBuilt();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-vfence-'));
  tp = await startTestPlatform({ DATA_DIR: dataDir });
  server = createHttpServer(tp.platform.app);
  tp.platform.vehicles.channel!.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

test.after.always(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await tp?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function signIn(login: string, viewport: { width: number; height: number }, roles = ['vehicle_admin']) {
  const { password } = await createUser(tp, login, { roles, department: 'jtj' });
  const mobile = viewport.width < 600;
  const context = await browser.newContext({ viewport, locale: 'zh-CN', hasTouch: mobile, isMobile: mobile });
  await context.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => void errors.push(e.message));
  await page.goto(`${url}/vehicles/`);
  await page.waitForSelector('#gate a');
  await page.click('#gate a');
  await page.fill('#login', login);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#new-password');
  await page.fill('#new-password', GOOD_PASSWORD);
  await page.fill('#repeat-password', GOOD_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/vehicles\/$/);
  return { context, page, errors };
}

type LonLat = [number, number];
interface ApiFence {
  id: number;
  geometry: { type: string; coordinates: LonLat[][] };
  properties: Record<string, unknown>;
}
const fencesInApi = async (): Promise<ApiFence[]> => (await tp.http.get('/api/vehicles/fences').set('Authorization', `Bearer ${await adminKey()}`)).body.features;
let key: string | null = null;
async function adminKey(): Promise<string> {
  key ??= (await tp.platform.keys.create('jtj', 'fence test', ['vehicle:watch'])).key;
  return key;
}

const close = (a: LonLat, b: LonLat) => Math.abs(a[0] - b[0]) <= 1e-6 && Math.abs(a[1] - b[1]) <= 1e-6;

/** The map canvas on screen (scrolled into view on the phone, where the page scrolls). */
async function canvasBox(page: Page) {
  await page.locator('#map').scrollIntoViewIfNeeded();
  return (await page.locator('#map canvas').boundingBox())!;
}

/** Click (mouse) or tap (touch) at whole page pixels; returns the canvas point the map saw. */
async function press(page: Page, mobile: boolean, fx: number, fy: number): Promise<{ x: number; y: number }> {
  const box = await canvasBox(page);
  const x = Math.round(box.x + box.width * fx);
  const y = Math.round(box.y + box.height * fy);
  if (mobile) await page.touchscreen.tap(x, y);
  else await page.mouse.click(x, y);
  return { x: x - box.x, y: y - box.y };
}

async function drag(page: Page, mobile: boolean, from: { x: number; y: number }, to: { x: number; y: number }): Promise<void> {
  if (!mobile) {
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    for (let i = 1; i <= 5; i++) await page.mouse.move(from.x + ((to.x - from.x) * i) / 5, from.y + ((to.y - from.y) * i) / 5);
    await page.mouse.up();
    return;
  }
  const cdp = await page.context().newCDPSession(page);
  const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', p: { x: number; y: number } | null) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: p ? [{ x: p.x, y: p.y, id: 1 }] : [] });
  await touch('touchStart', from);
  for (let i = 1; i <= 5; i++) await touch('touchMove', { x: from.x + ((to.x - from.x) * i) / 5, y: from.y + ((to.y - from.y) * i) / 5 });
  await touch('touchEnd', null);
  await cdp.detach();
}

for (const [size, viewport, login] of [
  ['desktop', { width: 1280, height: 800 }, 'vfence.admin1'],
  ['phone', { width: 390, height: 844 }, 'vfence.admin2'],
] as const) {
  test.serial(`${size}: a polygon fence drawn on the map, saved, a vertex dragged and saved, deleted`, async (t) => {
    const mobile = size === 'phone';
    const { context, page, errors } = await signIn(login, viewport);
    await mapIdle(page);
    await page.click('#tab-fences');
    await page.waitForSelector('#fence-list li.empty');
    await onMap(page, (map) => map.jumpTo({ center: [119.02, 33.6], zoom: 15 }));
    await mapIdle(page);

    // Esc aborts a drawing.
    await page.click('#fence-draw-area');
    await press(page, mobile, 0.3, 0.4);
    await press(page, mobile, 0.7, 0.4);
    t.is(await page.evaluate(() => (window as any).citybase.desk.fences.draft.points.length), 2);
    await page.keyboard.press('Escape');
    t.is(await page.evaluate(() => (window as any).citybase.desk.fences.mode), 'idle');
    t.true(await page.locator('#fence-tools').isHidden());

    // Four vertices; finished by the first vertex again (desktop) or the Finish button (phone).
    await page.click('#fence-draw-area');
    const clicked = [];
    for (const [fx, fy] of [[0.3, 0.4], [0.7, 0.4], [0.7, 0.75], [0.3, 0.75]] as const) clicked.push(await press(page, mobile, fx, fy));
    if (mobile) await page.click('#fence-finish');
    else await press(page, mobile, 0.3, 0.4);
    await page.waitForSelector('#fence-form:not([hidden])');
    const expected = await onMap(page, (map, pts) => pts.map((p) => map.unproject([p.x, p.y]).toArray() as LonLat), clicked);

    // A 限速区 without its limit: the server's refusal is shown in the form.
    await page.fill('#fe-name', `${size} 老城区限速`);
    await page.selectOption('#fe-kind', 'speed_limit');
    await page.click('#fe-save');
    await page.waitForSelector('#fence-error:has-text("speedLimitKmh")');
    await page.fill('#fe-speed', '40');
    await page.check('#fe-types input[value="muck_truck"]');
    await page.uncheck('#fe-days input[value="6"]');
    await page.uncheck('#fe-days input[value="7"]');
    await page.fill('#fe-from', '07:00');
    await page.fill('#fe-to', '22:00');
    await page.fill('#fe-dwell', '20');
    await page.click('#fe-save');
    const item = page.locator(`#fence-list li:has(b:text-is("${size} 老城区限速"))`);
    await item.waitFor();
    t.regex((await item.textContent())!, /限速区 40 公里\/小时 · 周一二三四五 07:00–22:00/);

    const [saved] = await fencesInApi();
    t.is(saved!.geometry.type, 'Polygon');
    const ring = saved!.geometry.coordinates[0]!;
    t.is(ring.length, 5);
    t.deepEqual(ring[0], ring[4]);
    for (let i = 0; i < 4; i++) t.true(close(ring[i]!, expected[i]!), `vertex ${i}: ${ring[i]} vs ${expected[i]}`);
    t.like(saved!.properties, { kind: 'speed_limit', speedLimitKmh: 40, vehicleTypes: ['muck_truck'], dwellS: 20, schedule: [{ days: [1, 2, 3, 4, 5], from: '07:00', to: '22:00' }] });
    // Drawn on the map, filled by kind.
    await mapIdle(page);
    t.is(await onMap(page, (map) => map.queryRenderedFeatures({ layers: ['fences-fill'] }).length > 0), true);
    await screenshot(page, `vehicles-fences-${size}-drawn`);

    // Edit: the second vertex dragged 40 px right and 30 px down, saved under the same id.
    await item.click();
    await page.click('#fence-edit');
    await page.waitForSelector('#fence-form:not([hidden])');
    t.is(await page.inputValue('#fe-name'), `${size} 老城区限速`);
    const box = await canvasBox(page);
    const handle = await onMap(page, (map, ll) => map.project(ll), ring[1]!);
    const from = { x: box.x + handle.x, y: box.y + handle.y };
    const to = { x: Math.round(from.x + 40), y: Math.round(from.y + 30) };
    await drag(page, mobile, from, to);
    const dropped = await onMap(page, (map, p) => map.unproject([p.x, p.y]).toArray() as LonLat, { x: to.x - box.x, y: to.y - box.y });
    await page.click('#fe-save');
    await page.waitForSelector('#fence-form', { state: 'hidden' });
    const moved = await eventually(async () => {
      const [f] = await fencesInApi();
      return f && !close(f.geometry.coordinates[0]![1]!, ring[1]!) && f;
    });
    t.is(moved!.id, saved!.id);
    const ring2 = moved!.geometry.coordinates[0]!;
    t.true(close(ring2[1]!, dropped), `moved vertex ${ring2[1]} vs ${dropped}`);
    for (const i of [0, 2, 3]) t.true(close(ring2[i]!, ring[i]!), `vertex ${i} unchanged`);
    t.like(moved!.properties, { name: `${size} 老城区限速`, speedLimitKmh: 40 });
    await screenshot(page, `vehicles-fences-${size}-moved`);

    // Deleted after a confirm.
    page.once('dialog', (d) => void d.accept());
    await page.click('#fence-delete');
    await page.waitForSelector('#fence-list li.empty');
    t.deepEqual(await fencesInApi(), []);
    const audited = (await tp.sql.query(`SELECT action FROM citybase.audit_log WHERE target = $1 ORDER BY id`, [`fence:${saved!.id}`])).rows.map((r) => r.action);
    t.deepEqual(audited, ['vehicle.fence_create', 'vehicle.fence_update', 'vehicle.fence_delete']);

    if (!mobile) {
      // A route: a line of three points ended by a double-click, with its width.
      await page.click('#fence-draw-route');
      const pts = [await press(page, mobile, 0.2, 0.5), await press(page, mobile, 0.5, 0.3)];
      const box2 = await canvasBox(page);
      const last = { x: Math.round(box2.x + box2.width * 0.8), y: Math.round(box2.y + box2.height * 0.6) };
      await page.mouse.dblclick(last.x, last.y);
      pts.push({ x: last.x - box2.x, y: last.y - box2.y });
      await page.waitForSelector('#fence-form:not([hidden])');
      t.is(await page.inputValue('#fe-kind'), 'route');
      t.true(await page.locator('#fe-width').isVisible());
      await page.fill('#fe-name', '5路公交线路');
      await page.fill('#fe-width', '30');
      await page.click('#fe-save');
      await page.locator('#fence-list li:has(b:text-is("5路公交线路"))').waitFor();
      const [route] = await fencesInApi();
      const line = route!.geometry.coordinates as unknown as LonLat[];
      const want = await onMap(page, (map, ps) => ps.map((p) => map.unproject([p.x, p.y]).toArray() as LonLat), pts);
      t.is(route!.geometry.type, 'LineString');
      t.is(line.length, 3);
      for (let i = 0; i < 3; i++) t.true(close(line[i]!, want[i]!), `route point ${i}`);
      t.like(route!.properties, { kind: 'route', widthM: 30, schedule: null, vehicleTypes: null });
      await screenshot(page, 'vehicles-fences-route');
      await page.locator('#fence-list li:has(b:text-is("5路公交线路"))').click();
      page.once('dialog', (d) => void d.accept());
      await page.click('#fence-delete');
      await page.waitForSelector('#fence-list li.empty');
    }
    t.deepEqual(errors, []);
    await context.close();
  });
}

/** Metres between two points as the desk and the alarm engine measure them (equirectangular at the first's latitude). */
const metresBetween = (a: LonLat, b: LonLat) => Math.hypot((b[0] - a[0]) * Math.cos((a[1] * Math.PI) / 180), b[1] - a[1]) * 111_320;
const deskFences = (page: Page) => page.evaluate(() => (window as any).citybase.desk.fences as { mode: string; activeVertex: number | null; draft: { shape: string; points: LonLat[]; radiusM: number | null } | null });

test.serial('desktop: a circle drawn by its centre and a second click (or a drag), saved with its radius; a second desk sees it come and go without reloading', async (t) => {
  const other = await signIn('vfence.watcher', { width: 1280, height: 800 }, ['vehicle_operator']);
  await other.page.click('#tab-fences');
  await other.page.waitForSelector('#fence-list li.empty');
  t.true(await other.page.locator('#fence-draw').isHidden(), 'an operator draws nothing');

  const { context, page, errors } = await signIn('vfence.circles', { width: 1280, height: 800 });
  await mapIdle(page);
  await page.click('#tab-fences');
  await page.waitForSelector('#fence-list li.empty');
  await onMap(page, (map) => map.jumpTo({ center: [119.05, 33.62], zoom: 15 }));
  await mapIdle(page);

  // A drag from the centre: the radius follows the pointer, shown in metres, and the release ends the drawing.
  await page.click('#fence-draw-circle');
  const box = await canvasBox(page);
  const c1 = { x: Math.round(box.x + box.width * 0.3), y: Math.round(box.y + box.height * 0.3) };
  const r1 = { x: c1.x + 100, y: c1.y };
  await page.mouse.move(c1.x, c1.y);
  await page.mouse.down();
  for (let i = 1; i <= 5; i++) await page.mouse.move(c1.x + 20 * i, c1.y);
  t.regex((await page.textContent('#fence-measure'))!, /^半径 \d+ 米$/);
  await page.mouse.up();
  await page.waitForSelector('#fence-form:not([hidden])');
  const [dc, dr] = await onMap(page, (map, ps) => ps.map((p) => map.unproject([p.x, p.y]).toArray() as LonLat), [{ x: c1.x - box.x, y: c1.y - box.y }, { x: r1.x - box.x, y: r1.y - box.y }]);
  const dragged = (await deskFences(page)).draft!;
  t.is(dragged.shape, 'circle');
  t.true(close(dragged.points[0]!, dc!), 'the centre is where the press was');
  t.true(Math.abs(dragged.radiusM! - metresBetween(dc!, dr!)) <= 3, `dragged radius ${dragged.radiusM} vs ${metresBetween(dc!, dr!)}`);
  t.is(Number(await page.inputValue('#fe-radius')), dragged.radiusM!);
  await page.click('#fe-cancel');

  // A click for the centre, another for the radius.
  await page.click('#fence-draw-circle');
  const centre = await press(page, false, 0.55, 0.5);
  t.is((await deskFences(page)).draft!.points.length, 1);
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5);
  const edge = await press(page, false, 0.7, 0.5);
  await page.waitForSelector('#fence-form:not([hidden])');
  t.true(await page.locator('#fe-radius').isVisible());
  const [cll, ell] = await onMap(page, (map, ps) => ps.map((p) => map.unproject([p.x, p.y]).toArray() as LonLat), [centre, edge]);
  const want = metresBetween(cll!, ell!);
  t.regex((await page.textContent('#fence-measure'))!, new RegExp(`^半径 ${Math.round(want)} 米$`));
  await page.fill('#fe-name', '淮安港禁行圈');
  await page.click('#fe-save');
  await page.locator('#fence-list li:has(b:text-is("淮安港禁行圈"))').waitFor();
  const [circle] = await fencesInApi();
  t.is(circle!.geometry.type, 'Point');
  t.true(close(circle!.geometry.coordinates as unknown as LonLat, cll!), `centre ${circle!.geometry.coordinates} vs ${cll}`);
  t.true(Math.abs((circle!.properties.radiusM as number) - want) <= 3, `radius ${circle!.properties.radiusM} vs ${want}`);
  t.like(circle!.properties, { kind: 'no_entry' });
  await screenshot(page, 'vehicles-fences-circle');

  // The other desk, never reloaded, lists and draws it.
  const item = other.page.locator('#fence-list li:has(b:text-is("淮安港禁行圈"))');
  await item.waitFor();
  t.regex((await item.textContent())!, /圆形 \d+ m/);
  await onMap(other.page, (map, ll) => map.jumpTo({ center: ll, zoom: 14 }), cll!);
  await eventually(async () => onMap(other.page, (map) => map.queryRenderedFeatures({ layers: ['fences-fill'] }).some((f) => f.properties.name === '淮安港禁行圈')));

  // Edited: the point on the circle dragged outwards is the new radius (PUT); the other desk shows the change.
  await page.click('#fence-edit');
  await page.waitForSelector('#fence-form:not([hidden])');
  const r0 = circle!.properties.radiusM as number;
  const rim = await onMap(page, (map, [ll, r]) => map.project([ll[0] + r / 111_320 / Math.cos((ll[1] * Math.PI) / 180), ll[1]]), [cll!, r0] as [LonLat, number]);
  const box2 = await canvasBox(page);
  const grabAt = { x: box2.x + rim.x, y: box2.y + rim.y };
  const dropAt = { x: Math.round(grabAt.x + 50), y: Math.round(grabAt.y) };
  await drag(page, false, grabAt, dropAt);
  const dropLl = await onMap(page, (map, p) => map.unproject([p.x, p.y]).toArray() as LonLat, { x: dropAt.x - box2.x, y: dropAt.y - box2.y });
  const wantR = metresBetween(cll!, dropLl);
  t.is(Number(await page.inputValue('#fe-radius')), Math.round(wantR), 'the form follows the dragged radius');
  await page.click('#fe-save');
  await page.waitForSelector('#fence-form', { state: 'hidden' });
  const [bigger] = await fencesInApi();
  t.is(bigger!.id, circle!.id);
  t.true(Math.abs((bigger!.properties.radiusM as number) - wantR) <= 3, `radius ${bigger!.properties.radiusM} vs ${wantR}`);
  t.true(close(bigger!.geometry.coordinates as unknown as LonLat, cll!), 'the centre stayed');
  await other.page.waitForSelector(`#fence-list li:has-text("圆形 ${bigger!.properties.radiusM} m")`);

  // Deleted on the first desk: gone from the second.
  await page.locator('#fence-list li:has(b:text-is("淮安港禁行圈"))').click();
  page.once('dialog', (d) => void d.accept());
  await page.click('#fence-delete');
  await page.waitForSelector('#fence-list li.empty');
  await other.page.waitForSelector('#fence-list li.empty');
  t.deepEqual(errors, []);
  t.deepEqual(other.errors, []);
  await context.close();
  await other.context.close();
});

for (const [size, viewport, login] of [
  ['desktop', { width: 1280, height: 800 }, 'vfence.vertices1'],
  ['phone', { width: 390, height: 844 }, 'vfence.vertices2'],
] as const) {
  test.serial(`${size}: an area's vertices added at an edge's midpoint and removed while editing, never below 3`, async (t) => {
    const mobile = size === 'phone';
    const windows = [{ days: [1, 2, 3, 4, 5], from: '07:00', to: '08:30' }, { days: [1, 2, 3, 4, 5], from: '16:30', to: '18:00' }];
    const lon = 119.0;
    const lat = 33.58;
    const d = 0.004;
    const square: LonLat[] = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d]];
    const made = await tp.http
      .post('/api/vehicles/fences')
      .set('Authorization', `Bearer ${(await tp.platform.keys.create('jtj', 'fence maker', ['vehicle:watch', 'vehicle:manage'])).key}`)
      // School hours: two windows, set through the API. The form edits the first and must keep the second.
      .send({ name: `${size} 工地`, kind: 'expected_stop', geometry: { type: 'Polygon', coordinates: [[...square, square[0]]] }, schedule: windows });
    t.is(made.status, 201);
    const { context, page, errors } = await signIn(login, viewport);
    await mapIdle(page);
    await page.click('#tab-fences');
    await page.locator(`#fence-list li:has(b:text-is("${size} 工地"))`).click();
    await page.click('#fence-edit');
    await page.waitForSelector('#fence-form:not([hidden])');
    t.is(await page.textContent('#fe-more-windows'), '另有 1 个时段（本表单只编辑第一个），保存时保持不变');
    await mapIdle(page);
    // Where a point is on the page, once the map has drawn the draft's handles where they now are.
    const at = async (ll: LonLat) => {
      await mapIdle(page);
      const b = await canvasBox(page);
      const p = await onMap(page, (map, x) => map.project(x), ll);
      return { x: Math.round(b.x + p.x), y: Math.round(b.y + p.y) };
    };
    const tap = async (ll: LonLat) => {
      const p = await at(ll);
      if (mobile) await page.touchscreen.tap(p.x, p.y);
      else await page.mouse.click(p.x, p.y);
    };

    // The midpoint of the first edge: a click (tap) adds a vertex there.
    await tap([lon + d / 2, lat]);
    let st = await deskFences(page);
    t.is(st.draft!.points.length, 5);
    t.true(close(st.draft!.points[1]!, [lon + d / 2, lat]));
    // The midpoint of the last edge (vertex 4 back to 0) dragged outwards: a new vertex where it is dropped.
    const from = await at([lon, lat + d / 2]);
    const to = { x: from.x - 40, y: from.y };
    await drag(page, mobile, from, to);
    const dropped = await onMap(page, (map, p) => map.unproject([p.x, p.y]).toArray() as LonLat, { x: to.x - (await canvasBox(page)).x, y: to.y - (await canvasBox(page)).y });
    st = await deskFences(page);
    t.is(st.draft!.points.length, 6);
    t.true(close(st.draft!.points[5]!, dropped), `dragged midpoint ${st.draft!.points[5]} vs ${dropped}`);

    // Removed: a double-click (desktop) or a tap then "删除顶点" (phone) on the vertex at lon + d, lat.
    const corner = await at([lon + d, lat]);
    if (mobile) {
      await page.touchscreen.tap(corner.x, corner.y);
      await page.waitForSelector('#fence-vertex-remove:not([hidden])');
      t.is(await page.textContent('#fence-vertex-remove'), '删除顶点');
      await page.click('#fence-vertex-remove');
    } else await page.mouse.dblclick(corner.x, corner.y);
    st = await deskFences(page);
    t.is(st.draft!.points.length, 5);
    t.false(st.draft!.points.some((p) => close(p, [lon + d, lat])));
    await page.click('#fe-save');
    await page.waitForSelector('#fence-form', { state: 'hidden' });
    const expected: LonLat[] = [[lon, lat], [lon + d / 2, lat], [lon + d, lat + d], [lon, lat + d], dropped];
    const saved = await eventually(async () => {
      const f = (await fencesInApi()).find((x) => x.id === made.body.id);
      return f && f.geometry.coordinates[0]!.length === 6 && f;
    });
    const ring = saved.geometry.coordinates[0]!;
    t.deepEqual(saved.properties.schedule, windows, 'both time windows are kept');
    for (let i = 0; i < 5; i++) t.true(close(ring[i]!, expected[i]!), `vertex ${i}: ${ring[i]} vs ${expected[i]}`);
    t.deepEqual(ring[5], ring[0]);

    // Never below 3: removing down to three, then once more, leaves three and says why.
    await page.locator(`#fence-list li:has(b:text-is("${size} 工地"))`).click();
    await page.click('#fence-edit');
    await page.waitForSelector('#fence-form:not([hidden])');
    for (const [i, n] of [[4, 4], [3, 3], [2, 3]] as const) {
      const v = await at((await deskFences(page)).draft!.points[i]!);
      if (mobile) {
        await page.touchscreen.tap(v.x, v.y);
        await page.click('#fence-vertex-remove');
      } else {
        // Selected by a click, removed with the Delete key.
        await page.mouse.click(v.x, v.y);
        t.is((await deskFences(page)).activeVertex, i);
        await page.keyboard.press('Delete');
      }
      t.is((await deskFences(page)).draft!.points.length, n);
    }
    t.regex((await page.textContent('#fence-hint'))!, /至少要保留 3/);
    await page.click('#fe-save');
    await page.waitForSelector('#fence-form', { state: 'hidden' });
    const three = await eventually(async () => {
      const f = (await fencesInApi()).find((x) => x.id === made.body.id);
      return f && f.geometry.coordinates[0]!.length === 4 && f;
    });
    for (let i = 0; i < 3; i++) t.true(close(three.geometry.coordinates[0]![i]!, expected[i]!), `vertex ${i} of three`);
    await screenshot(page, `vehicles-fences-${size}-vertices`);

    if (!mobile) {
      // By keyboard alone: ] ] selects the second vertex, + adds one after it (the edge's midpoint), Shift+↓ moves
      // that 10 px down, Delete would remove it; saved.
      await page.locator(`#fence-list li:has(b:text-is("${size} 工地"))`).click();
      await page.click('#fence-edit');
      await page.waitForSelector('#fence-form:not([hidden])');
      await page.focus('#map canvas');
      await page.keyboard.press(']');
      await page.keyboard.press(']');
      t.is((await deskFences(page)).activeVertex, 1);
      await page.keyboard.press('+');
      st = await deskFences(page);
      t.is(st.draft!.points.length, 4);
      t.is(st.activeVertex, 2);
      const mid = st.draft!.points[2]!;
      const centreBefore = await onMap(page, (map) => map.getCenter().toArray());
      await page.keyboard.press('Shift+ArrowDown');
      t.deepEqual(await onMap(page, (map) => map.getCenter().toArray()), centreBefore, 'the arrows move the vertex, not the map');
      const want = await onMap(page, (map, ll) => {
        const p = map.project(ll);
        return map.unproject([p.x, p.y + 10]).toArray() as LonLat;
      }, mid);
      await page.click('#fe-save');
      await page.waitForSelector('#fence-form', { state: 'hidden' });
      const four = await eventually(async () => {
        const f = (await fencesInApi()).find((x) => x.id === made.body.id);
        return f && f.geometry.coordinates[0]!.length === 5 && f;
      });
      t.true(close(four.geometry.coordinates[0]![2]!, want), `keyboard vertex ${four.geometry.coordinates[0]![2]} vs ${want}`);
    }
    t.deepEqual(errors, []);
    await tp.http.delete(`/api/vehicles/fences/${made.body.id}`).set('Authorization', `Bearer ${(await tp.platform.keys.create('jtj', 'fence cleaner', ['vehicle:watch', 'vehicle:manage'])).key}`);
    await context.close();
  });
}

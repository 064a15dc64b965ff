// The vehicle desk (/vehicles/) in Chromium, on a desktop and a phone: a simulated JT/T 808 terminal on a real TCP
// connection reports, the desk shows the vehicle moving; an alarm the terminal raises appears on the desk and is
// acknowledged there (audited); playback draws the track and plays it.
import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { Browser, Page } from 'playwright-core';
import { createHttpServer } from '../tile-server/src/http-server.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { addVehicle } from '../tile-server/src/vehicles/fleet.ts';
import { startGateway, type Gateway } from '../tile-server/src/vehicles/gateway/gateway.ts';
import { ensureViewerBuilt, launchChromium, mapIdle, onMap, screenPoint, screenshot } from './helpers/browser.ts';
import { createUser, GOOD_PASSWORD } from './helpers/identity.ts';
import { SimTerminal } from './helpers/jt808-terminal.ts';
import { eventually, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

let tp: TestPlatform;
let gw: Gateway;
let server: http.Server;
let url: string;
let browser: Browser;
let dataDir: string;

test.before(async () => {
  await ensureViewerBuilt();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-vdesk-'));
  tp = await startTestPlatform({ DATA_DIR: dataDir });
  gw = await startGateway(tp.platform.vehicles, { port: 0, host: '127.0.0.1', maxConnections: 20, heartbeatSeconds: 60, messagesPerSecond: 1000, log: createLogger('silent') });
  server = createHttpServer(tp.platform.app);
  tp.platform.vehicles.channel!.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pool = tp.platform.pool;
  await addVehicle(pool, { plate: '苏H80001', color: 2, phone: '13980000001', type: 'muck_truck', department: 'jtj', company: '淮安渣土运输', district: '320812', group: '一车队' });
  await addVehicle(pool, { plate: '苏H80002', color: 2, phone: '13980000002', type: 'school_bus', department: 'jtj', company: '清江浦校车', district: '320812', group: '校车队' });
  await addVehicle(pool, { plate: '苏H80003', color: 1, phone: '13980000003', type: 'dangerous_goods', department: 'jtj', group: '危化品' });
  await addVehicle(pool, { plate: '苏H89999', color: 2, phone: '13989999999', type: 'taxi', department: 'cgj' });
  await tp.platform.vehicles.refreshFleet();
  browser = await launchChromium();
});

test.after.always(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await gw?.close();
  await tp?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const desktop = { width: 1280, height: 800 };
const phone = { width: 390, height: 844 };

/** A person signs in on the login page (one-time password, then the forced change) and lands on the desk. */
async function signInToDesk(login: string, roles: string[], viewport: { width: number; height: number }, opts: { scopes?: string[] } = {}) {
  const { password } = await createUser(tp, login, { roles, department: 'jtj', ...opts });
  const context = await browser.newContext({ viewport, locale: 'zh-CN', hasTouch: viewport.width < 600, isMobile: viewport.width < 600 });
  await context.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  const page = await context.newPage();
  const errors: string[] = [];
  const foreign: string[] = [];
  page.on('pageerror', (e) => void errors.push(e.message));
  page.on('request', (r) => {
    if (!r.url().startsWith(url) && !/^(data|blob):/.test(r.url())) foreign.push(r.url());
  });
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
  return { context, page, errors, foreign };
}

/** Where the desk draws a vehicle (the rendered marker's position), or null when it draws none. */
async function drawn(page: Page, id: string): Promise<{ lon: number; lat: number; state: string } | null> {
  return onMap(
    page,
    (map, vid) => {
      const f = map.queryRenderedFeatures({ layers: ['vdesk-vehicles'] }).find((x) => x.properties.id === vid);
      if (!f) return null;
      const [lon, lat] = (f.geometry as unknown as { coordinates: [number, number] }).coordinates;
      return { lon, lat, state: f.properties.state as string };
    },
    id,
  );
}

const near = (a: { lon: number; lat: number } | null, b: { lon: number; lat: number }) => a !== null && Math.abs(a.lon - b.lon) < 2e-5 && Math.abs(a.lat - b.lat) < 2e-5;

test.serial('without a session the desk asks to sign in; without the vehicle right it says so and shows nothing', async (t) => {
  const context = await browser.newContext({ viewport: desktop, locale: 'zh-CN' });
  const page = await context.newPage();
  await page.goto(`${url}/vehicles/`);
  await page.waitForSelector('#gate a');
  t.regex((await page.textContent('#gate'))!, /请先登录/);
  t.true(await page.locator('#desk').isHidden());
  await context.close();

  const viewer = await createUser(tp, 'vdesk.viewer', { roles: ['viewer'], department: 'jtj' });
  const c2 = await browser.newContext({ viewport: desktop, locale: 'zh-CN' });
  const first = await c2.request.post(`${url}/api/session`, { data: { login: 'vdesk.viewer', password: viewer.password } });
  const csrf = (await first.json()).session.csrfToken as string;
  t.is((await c2.request.post(`${url}/api/session/password`, { headers: { 'X-CSRF-Token': csrf }, data: { password: viewer.password, newPassword: GOOD_PASSWORD } })).status(), 200);
  const p2 = await c2.newPage();
  await p2.goto(`${url}/vehicles/`);
  await p2.waitForSelector('#gate:not([hidden])');
  t.regex((await p2.textContent('#gate'))!, /没有车辆监控权限/);
  t.true(await p2.locator('#desk').isHidden());
  await c2.close();
});

for (const [size, viewport, plate, phoneNo, login] of [
  ['desktop', desktop, '苏H80001', '13980000001', 'vdesk.op1'],
  ['phone', phone, '苏H80002', '13980000002', 'vdesk.op2'],
] as const) {
  test.serial(`${size}: the vehicle moves on the desk, its alarm is acknowledged there, playback draws and plays its track`, async (t) => {
    const { context, page, errors, foreign } = await signInToDesk(login, ['vehicle_operator'], viewport);
    await mapIdle(page);
    // The department's fleet, not another department's.
    await page.waitForSelector(`#fleet li[data-id="${plate}"]`);
    t.is(await page.locator('#fleet li[data-id="苏H89999"]').count(), 0);
    t.is(await page.locator('#fleet li').count(), 3);
    t.true(await page.locator('#register').isHidden(), 'an operator registers nothing');

    // Filters: by type and by group.
    await page.selectOption('#f-type', 'dangerous_goods');
    await eventually(async () => (await page.locator('#fleet li').count()) === 1);
    t.is(await page.locator('#fleet li').first().getAttribute('data-id'), '苏H80003');
    await page.selectOption('#f-type', '');
    await page.selectOption('#f-group', size === 'desktop' ? '一车队' : '校车队');
    await eventually(async () => (await page.locator('#fleet li').count()) === 1);
    t.is(await page.locator('#fleet li').first().getAttribute('data-id'), plate);
    await page.selectOption('#f-group', '');
    await page.fill('#q', plate.slice(-3));
    await eventually(async () => (await page.locator('#fleet li').count()) === 1);
    await page.fill('#q', '');

    // A real terminal over TCP: register, authenticate, report moving north.
    const term = await SimTerminal.connect(gw.port, phoneNo);
    await term.login(plate, 2);
    const base = Math.floor(Date.now() / 1000) * 1000 - 120_000;
    const fixes = Array.from({ length: 6 }, (_, i) => ({ lon: 119.02, lat: 33.6 + i * 0.001, speedKmh: 36, course: 0, time: base + i * 10_000 }));
    t.is(await term.location(fixes[0]!), 0);
    await page.waitForSelector(`#fleet li[data-id="${plate}"][data-state="online"]`);
    await page.click(`#fleet li[data-id="${plate}"]`);
    await eventually(async () => near(await drawn(page, plate), fixes[0]!), 15_000);
    for (const f of fixes.slice(1, 3)) t.is(await term.location(f), 0);
    const moved = await eventually(async () => {
      const d = await drawn(page, plate);
      return near(d, fixes[2]!) && d;
    }, 15_000);
    t.is(moved!.state, 'online');
    t.regex((await page.textContent('#facts'))!, /36 公里\/小时/);
    await screenshot(page, `vehicles-desk-${size}-moving`);

    // The terminal's emergency bit: an alarm on the desk, the marker turns to the alarm colour.
    t.is(await term.location({ ...fixes[3]!, alarm: 1 }), 0);
    await page.click('#tab-alarms');
    const item = page.locator(`#alarm-list li:has(b:text-is("${plate}"))`);
    await item.waitFor();
    t.regex((await item.textContent())!, /紧急报警/);
    t.is(await item.getAttribute('data-state'), 'raised');
    await eventually(async () => (await drawn(page, plate))?.state === 'alarm', 15_000);
    await item.locator('input.note').fill('已电话联系司机');
    await item.locator('button[data-action="acknowledge"]').click();
    await eventually(async () => (await item.getAttribute('data-state')) === 'acknowledged');
    const alarmId = Number(await item.getAttribute('data-alarm'));
    const row = (await tp.sql.query(`SELECT state, acknowledged_by, note FROM vehicles.alarms WHERE id = $1`, [alarmId])).rows[0];
    t.deepEqual(row, { state: 'acknowledged', acknowledged_by: login, note: '已电话联系司机' });
    const audited = (await tp.sql.query(`SELECT actor, action, target, details FROM citybase.audit_log WHERE action = 'alarm.acknowledge' AND target = $1`, [`alarm:${alarmId}`])).rows;
    t.is(audited.length, 1);
    t.like(audited[0], { actor: login, details: { from: 'raised', to: 'acknowledged', note: '已电话联系司机', vehicle: plate } });
    await screenshot(page, `vehicles-desk-${size}-alarm`);
    // Closed from the desk: it leaves the panel.
    await item.locator('button[data-action="close"]').click();
    await eventually(async () => (await page.locator(`#alarm-list li[data-alarm="${alarmId}"]`).count()) === 0);
    for (const f of fixes.slice(4)) t.is(await term.location(f), 0);
    await eventually(async () => near(await drawn(page, plate), fixes[5]!), 15_000);
    if (size === 'phone') {
      // Zoomed out to the city, the two trucks near each other are one cluster of 2.
      await onMap(page, (map) => map.jumpTo({ zoom: 9 }));
      await mapIdle(page);
      const clusters = await onMap(page, (map) => map.queryRenderedFeatures({ layers: ['vdesk-clusters'] }).map((f) => f.properties.point_count as number));
      t.deepEqual(clusters, [2]);
      await onMap(page, (map) => map.jumpTo({ zoom: 14 }));
    }
    await term.logout();
    await page.waitForSelector(`#fleet li[data-id="${plate}"][data-state="offline"]`, { state: 'attached' });
    await tp.platform.vehicles.writer.flush();

    // Playback of the last two hours (the defaults): the track drawn, then played at 64×.
    await page.click('#tab-fleet');
    await page.click(`#fleet li[data-id="${plate}"]`);
    await page.click('#open-playback');
    await page.click('#load');
    await page.waitForSelector('#track-stats:has-text("定位点 6")');
    t.regex((await page.textContent('#track-stats'))!, /里程 0\.5\d 公里/);
    // One trip (no stop: it drove a fix every 10 s), listed under the track.
    t.deepEqual(await page.locator('#segments li').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.kind)), ['trip']);
    t.regex((await page.textContent('#segments li'))!, /^行驶 .* 0\.56 公里$/);
    await mapIdle(page);
    const line = await onMap(page, (map) => map.queryRenderedFeatures({ layers: ['playback-line'] }).length);
    t.true(line > 0, 'the track is drawn');
    await page.selectOption('#rate', '64');
    await page.click('#play');
    await eventually(async () => (await page.inputValue('#slider')) === '1000', 15_000);
    const end = await page.evaluate(() => {
      const p = (window as unknown as { citybase: { desk: { player: { playing: boolean; state(): { lon: number; lat: number } } } } }).citybase.desk.player;
      return { playing: p.playing, ...p.state() };
    });
    t.false(end.playing);
    t.true(near(end, fixes[5]!), 'the player ends at the last fix');
    const marker = await onMap(page, (map) => map.queryRenderedFeatures({ layers: ['playback-car'] }).map((f) => (f.geometry as { coordinates: number[] }).coordinates));
    t.is(marker.length, 1);
    await screenshot(page, `vehicles-desk-${size}-playback`);

    // A click on the track gives the nearest fix and takes the player there.
    await page.locator('#map').scrollIntoViewIfNeeded();
    const p1 = await screenPoint(page, fixes[1]!.lon, fixes[1]!.lat);
    if (size === 'phone') await page.touchscreen.tap(p1.x, p1.y);
    else await page.mouse.click(p1.x, p1.y);
    await page.waitForSelector('.fix-popup');
    t.regex((await page.textContent('.fix-popup'))!, /36 公里\/小时/);
    t.is(await page.evaluate(() => (window as unknown as { citybase: { desk: { player: { time: number } } } }).citybase.desk.player.time), fixes[1]!.time);
    // The track as a file, with the person's session.
    const gpxUrl = await page.getAttribute('#export-gpx', 'href');
    const gpx = await context.request.get(gpxUrl!);
    t.is(gpx.status(), 200);
    t.is([...(await gpx.text()).matchAll(/<trkpt /g)].length, 6);

    // The day's report: this vehicle's mileage and fixes, the 考核 figures.
    await page.click('#tab-reports');
    const cityDay = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);
    await page.fill('#rfrom', cityDay(base - 86_400_000));
    await page.fill('#rto', cityDay(Date.now()));
    await page.click('#run-report');
    const reportRow = page.locator(`#report-table tr[data-id="${plate}"]`);
    await reportRow.waitFor();
    const cells = await reportRow.locator('td').allTextContents();
    t.deepEqual(cells.slice(0, 3), [plate, '0.56', '6']);
    t.regex((await page.textContent('#report-summary'))!, /入网率/);

    t.deepEqual(errors, []);
    t.deepEqual(foreign, [], 'the page loads nothing from another host');
    await context.close();
  });
}

test.serial('a vehicle admin registers a vehicle and imports a CSV from the desk; they join the fleet list', async (t) => {
  const { context, page, errors } = await signInToDesk('vdesk.admin', ['vehicle_admin'], desktop);
  await mapIdle(page);
  await page.click('#register summary');
  await page.fill('#r-plate', '苏H80010');
  await page.fill('#r-phone', '13980000010');
  await page.selectOption('#r-type', 'dangerous_goods');
  await page.fill('#r-district', '320812');
  await page.fill('#r-group', '危化品');
  await page.click('#r-submit');
  await page.waitForSelector('#register-status:has-text("已登记: 苏H80010")');
  await page.waitForSelector('#fleet li[data-id="苏H80010"]');
  // A bad CSV names its line and loads nothing; a good one loads.
  await page.setInputFiles('#r-csv', { name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from('车牌号,车牌颜色,终端手机号\n苏H80011,2,13980000011\n苏H80012,2,abc\n') });
  await page.waitForSelector('#register-status:has-text("line 3")');
  t.is((await tp.sql.query(`SELECT count(*)::int AS n FROM vehicles.vehicles WHERE id = '苏H80011'`)).rows[0].n, 0);
  await page.setInputFiles('#r-csv', { name: 'fleet.csv', mimeType: 'text/csv', buffer: Buffer.from('车牌号,车牌颜色,终端手机号,车辆类型,分组\n苏H80011,2,13980000011,bus,5路\n苏H80012,2,13980000012,bus,5路\n') });
  await page.waitForSelector('#register-status:has-text("已导入: 2")');
  await page.waitForSelector('#fleet li[data-id="苏H80012"]');
  await page.selectOption('#f-group', '5路');
  await eventually(async () => (await page.locator('#fleet li').count()) === 2);
  const audited = (await tp.sql.query(`SELECT action, actor FROM citybase.audit_log WHERE action IN ('vehicle.register', 'vehicle.import') ORDER BY id`)).rows;
  t.deepEqual(audited, [
    { action: 'vehicle.register', actor: 'vdesk.admin' },
    { action: 'vehicle.import', actor: 'vdesk.admin' },
  ]);
  await screenshot(page, 'vehicles-desk-register');
  // In English on a click (remembered by the browser).
  await page.click('#lang');
  t.is(await page.textContent('#title'), 'Key vehicle monitoring');
  t.is(await page.textContent('#tab-fleet'), 'Vehicles');
  t.is(await page.textContent('#register-title'), 'Register a vehicle');
  t.regex((await page.textContent('#fleet li[data-id="苏H80011"]'))!, /Bus · 5路/);
  t.is(await page.evaluate(() => document.documentElement.lang), 'en');
  t.deepEqual(errors, []);
  await context.close();
});
